package examplespa_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// A garage pays its cart by card in the app: a mistyped card number is caught by the
// tokenisation endpoint and explained; the card is registered straight at the provider; 3-D
// Secure on the bank's page; back on the app's return page. Then it pays a second order with the
// saved card and types three wrong codes: the card is blocked, the app says so and no longer
// offers it.
func TestCardPayment(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := start(t, b)
		token := e.s.Token(t, auth.RoleBuyer, e.buyer.ID)
		e.login(token, "#whoami")
		e.screenshot("01-orders-empty")

		first := e.order(map[string]int{"PHARE-AV-G-208": 1})
		e.expectText("#order-total", "144,00 €")
		wrong := challengeCard[:15] + "4" // breaks the Luhn check
		e.typeCard(wrong)
		e.run("wait for the card form's error", chromedp.WaitVisible(chromedp.CSS("#card-error")))
		e.expectText("#card-error", "Numéro de carte invalide")
		e.screenshot("02-card-number-refused")

		e.typeCard(challengeCard)
		e.run("reach the bank's page", chromedp.WaitVisible(chromedp.CSS("#code")))
		if loc := e.location(); !strings.HasPrefix(loc, e.s.URL+"/sandbox/psp/3ds/") {
			t.Fatalf("the card payment went to %s, want the bank's 3-D Secure page", loc)
		}
		e.screenshot("03-3ds")
		e.code("123456")
		e.run("come back to the app", chromedp.WaitVisible(chromedp.CSS(`#payment-result[data-status="succeeded"]`)))
		if loc := e.location(); !strings.HasPrefix(loc, e.spa+"/paiement/retour?payment_intent=pi_") {
			t.Errorf("the bank sent the browser to %s", loc)
		}
		e.expectText("#payment-result", "Paiement accepté")
		e.screenshot("04-card-succeeded")
		var o httpapi.Order
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + first, Token: token}).Expect(t, 200).JSON(t, &o)
		if o.Status != "confirmed" {
			t.Errorf("order after the card payment = %s, want confirmed", o.Status)
		}
		e.run("see the order confirmed", chromedp.Click(chromedp.CSS("#back-orders")),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-order="`+first+`"][data-status="confirmed"]`)))

		// The saved card, three wrong codes.
		second := e.order(map[string]int{"RETRO-D-CLIO4": 1})
		e.run("pay with the saved card", chromedp.WaitVisible(chromedp.CSS(`input[name="card"]:checked:not([value="new"])`)),
			chromedp.Click(chromedp.CSS("#pay-card")))
		for try := 1; try <= 3; try++ {
			e.code("000000")
			if try < 3 {
				// Wait for this try's answer (the tries left counting down), not for the error
				// shown by the previous try, or the next code is typed into a page on its way out.
				e.run("see the tries left", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#error[data-tries-left="%d"]`, 3-try))))
			}
		}
		e.run("come back to the app", chromedp.WaitVisible(chromedp.CSS(`#payment-result[data-status="failed"][data-error="card_blocked"]`)))
		e.expectText("#payment-message", "votre carte a été bloquée")
		e.screenshot("05-card-blocked")
		var cards httpapi.CardList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards", Token: token}).Expect(t, 200).JSON(t, &cards)
		if len(cards.Data) != 1 || cards.Data[0].Status != "blocked" {
			t.Errorf("cards after three wrong codes = %+v", cards.Data)
		}

		// Paying again: the blocked card is shown as such and cannot be chosen.
		e.run("pay again", chromedp.Click(chromedp.CSS("#retry-payment")),
			chromedp.WaitVisible(chromedp.CSS(`input[name="card"][value="`+cards.Data[0].ID+`"][disabled]`)))
		e.expectText("#card-payment", "Bloquée")
		e.screenshot("06-blocked-card-not-offered")
		if loc := e.location(); loc != e.spa+"/paiement/"+second {
			t.Errorf("paying again opened %s", loc)
		}
	})
}
