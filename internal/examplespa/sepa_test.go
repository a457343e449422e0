package examplespa_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// A garage sets up SEPA in the app — adds its bank account, signs the mandate on the provider's
// page, sees the green box — pays an order by SEPA and sees it in the month's debits and the
// encours; an order over what is left is refused with the solde; after the month end, the debit
// shows as collected.
func TestSEPA(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := start(t, b)
		token := e.s.Token(t, auth.RoleBuyer, e.buyer.ID)
		e.login(token, "#whoami")

		e.open("/prelevements", `#sepa-balance[data-enabled="false"]`)
		e.run("see why SEPA is off", chromedp.WaitVisible(chromedp.CSS(`#sepa-reasons li[data-reason="no_bank_account"]`)))
		e.screenshot("01-sepa-off")

		e.fill("#owner-name", "Garage Martin SARL")
		e.fill("#owner-line1", "12 rue des Casses")
		e.fill("#owner-postal", "69007")
		e.fill("#owner-city", "Lyon")
		e.fill("#iban", "FR76 3000 6000 0112 3456 7890 189")
		e.run("add the account", chromedp.Click(chromedp.CSS("#add-account-submit")), chromedp.WaitVisible(chromedp.CSS("#sign")))
		if loc := e.location(); !strings.HasPrefix(loc, e.s.URL+"/sandbox/psp/mandates/") {
			t.Fatalf("adding the account led to %s, want the mandate's signature page", loc)
		}
		e.screenshot("02-mandate-page")
		e.run("sign the mandate", chromedp.Click(chromedp.CSS("#sign")),
			chromedp.WaitVisible(chromedp.CSS(`#mandate-result[data-status="submitted"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#sepa-balance[data-enabled="true"]`)))
		if loc := e.location(); !strings.HasPrefix(loc, e.spa+"/prelevements/mandat?mandate_id=mdt_") {
			t.Errorf("the signature page sent the browser to %s", loc)
		}
		e.expectText("#mandate-result", "Mandat signé")
		e.expectText("#sepa-available", "250,00 €")
		e.screenshot("03-mandate-signed")

		// A SEPA payment: accepted at once, counted in the encours.
		e.order(map[string]int{"PHARE-AV-G-208": 1})
		e.run("choose SEPA", chromedp.Click(chromedp.CSS("#method-sepa")), chromedp.WaitVisible(chromedp.CSS("#sepa-available")))
		e.expectText("#sepa-available", "250,00 €")
		e.screenshot("04-pay-by-sepa")
		e.run("pay by SEPA", chromedp.Click(chromedp.CSS("#pay-sepa")),
			chromedp.WaitVisible(chromedp.CSS(`#payment-result[data-status="scheduled"]`)))
		e.expectText("#payment-message", "prélevés à la fin du mois")
		e.open("/prelevements", "#month-debits")
		e.expectText("#sepa-outstanding", "144,00 €")
		e.expectText("#sepa-available", "106,00 €")
		e.expectText("#month-debits", "144,00 €")
		e.expectText(`#bank-accounts li .mandate`, "Signé")
		e.screenshot("05-month-debits")

		// Over the solde: refused, with what is left.
		e.order(map[string]int{"BOITE-208": 1})
		// The SEPA box loads after the tab opens and pushes the button down: wait for it before
		// clicking, or the click lands where the button was.
		e.run("pay 780 € by SEPA", chromedp.Click(chromedp.CSS("#method-sepa")), chromedp.WaitVisible(chromedp.CSS("#sepa-available")),
			chromedp.Click(chromedp.CSS("#pay-sepa")), chromedp.WaitVisible(chromedp.CSS("#pay-error")))
		e.expectText("#pay-error", "solde de prélèvement disponible (106,00 €)")
		e.screenshot("06-over-the-ceiling")

		// The month end: one debit, collected.
		var intents httpapi.PaymentIntentList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents", Token: token}).Expect(t, 200).JSON(t, &intents)
		if len(intents.Data) != 1 || intents.Data[0].CollectionMonth == nil {
			t.Fatalf("intents = %+v", intents.Data)
		}
		e.closeMonth(*intents.Data[0].CollectionMonth)
		e.open("/prelevements", `#collections tr[data-status="succeeded"]`)
		e.expectText("#collections", "144,00 €")
		e.expectText("#collections", "Prélevé")
		e.screenshot("07-collected")
	})
}
