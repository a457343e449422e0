package examplespa_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// End-of-month invoicing in the app, the garage's pages and the centre's: the garage asks the
// centre, the centre approves, the garage pays an order on invoice, the centre attaches its BL,
// sees the open statement, and after the month close marks it paid; the garage sees it paid.
func TestInvoicing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := start(t, b)
		buyerToken := e.s.Token(t, auth.RoleBuyer, e.buyer.ID)
		centerToken := e.s.Token(t, auth.RoleCenter, e.center.ID)

		e.login(buyerToken, "#whoami")
		e.open("/facturation", "#ask-invoicing:not([disabled])")
		e.run("ask the centre", chromedp.Click(chromedp.CSS("#ask-invoicing")),
			chromedp.WaitVisible(chromedp.CSS(`#invoicing-accounts tr[data-status="pending"]`)))
		e.expectText("#invoicing-accounts", "Centre VHU du Rhône")
		e.screenshot("01-asked")

		e.login(centerToken, "#approvals tr")
		e.fill("#approvals .note", "Client connu")
		e.run("approve", chromedp.Click(chromedp.CSS("#approvals .approve")),
			chromedp.WaitVisible(chromedp.CSS(`#approvals tr[data-status="approved"]`)))
		e.expectText("#approvals", "Client connu")
		e.screenshot("02-approved")

		e.login(buyerToken, "#whoami")
		id := e.order(map[string]int{"BOITE-208": 1})
		e.run("pay on invoice", chromedp.Click(chromedp.CSS("#method-invoice")), chromedp.WaitVisible(chromedp.CSS("#pay-invoice:not([disabled])")),
			chromedp.Click(chromedp.CSS("#pay-invoice")), chromedp.WaitVisible(chromedp.CSS(`#payment-result[data-status="scheduled"]`)))
		e.expectText("#payment-message", "facture de fin de mois")
		e.screenshot("03-paid-on-invoice")

		e.login(centerToken, "#whoami")
		e.open("/centre/commandes", `#center-orders tr[data-order="`+id+`"][data-status="confirmed"] .note-number`)
		e.fill(`tr[data-order="`+id+`"] .note-number`, "BL-2026-0001")
		e.run("attach the BL", chromedp.Click(chromedp.CSS(`tr[data-order="`+id+`"] .add-note`)),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-order="`+id+`"] .notes .badge`)))
		e.expectText(`tr[data-order="`+id+`"] .notes`, "BL BL-2026-0001")
		e.screenshot("04-delivery-note")
		e.open("/centre/releves", `.statement[data-status="open"]`)
		e.expectText(".statement .total", "780,00 €")
		e.expectText(".statement", "BL BL-2026-0001")
		e.screenshot("05-statement-open")

		var o httpapi.Order
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + id, Token: buyerToken}).Expect(t, 200).JSON(t, &o)
		e.closeMonth(o.CreatedAt.In(paris(t)).Format("2006-01"))
		e.open("/centre/releves", `.statement[data-status="issued"] .mark-paid`)
		e.run("mark it paid", chromedp.Click(chromedp.CSS(".statement .mark-paid")),
			chromedp.WaitVisible(chromedp.CSS(`.statement[data-status="paid"]`)))
		e.screenshot("06-statement-paid")

		e.login(buyerToken, "#whoami")
		e.open("/facturation", `.statement[data-status="paid"]`)
		e.expectText(".statement .status", "Payé")
		e.screenshot("07-buyer-sees-paid")
	})
}
