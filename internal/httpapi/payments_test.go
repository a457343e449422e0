package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

const returnURL = "https://shop.example/checkout/return?step=3"

// payEnv is a server in MangoPay mode against the fake, with a buyer, a centre and the buyer's token.
type payEnv struct {
	s      *apptest.Server
	fake   *mangopaytest.Server
	buyer  httpapi.Buyer
	center httpapi.Center
	token  string
}

func startPayments(t *testing.T, b storagetest.Backend, options ...apptest.Option) payEnv {
	t.Helper()
	fake := mangopaytest.New(mangopaytest.Config{})
	t.Cleanup(fake.Close)
	s := apptest.Start(t, b, append([]apptest.Option{apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey)}, options...)...)
	buyer := createBuyer(t, s, "812345676")
	center := createCenter(t, s, "81234567600017")
	return payEnv{s: s, fake: fake, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
}

// registerCard registers a card the way a front end does: start a registration, post the card form
// to the tokenisation URL from the "browser", hand the answer back.
func (e payEnv) registerCard(t *testing.T, token, number string) string {
	t.Helper()
	var cr httpapi.CardRegistration
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: token, Body: map[string]any{}}).Expect(t, 201).JSON(t, &cr)
	if !strings.HasPrefix(cr.ID, "cr_") || cr.Status != "created" || cr.CardRegistrationURL == "" || cr.AccessKey == "" || cr.PreregistrationData == "" {
		t.Fatalf("card registration = %+v", cr)
	}
	data := e.tokenize(t, cr, number)
	var res httpapi.CardRegistrationResult
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: token,
		Body: map[string]any{"registration_data": data}}).Expect(t, 200).JSON(t, &res)
	if res.ID != cr.ID || res.Status != "validated" || !strings.HasPrefix(res.CardID, "card_") {
		t.Fatalf("completed registration = %+v", res)
	}
	return res.CardID
}

func (e payEnv) tokenize(t *testing.T, cr httpapi.CardRegistration, number string) string {
	t.Helper()
	resp, err := http.PostForm(cr.CardRegistrationURL, url.Values{"data": {cr.PreregistrationData}, "accessKeyRef": {cr.AccessKey},
		"cardNumber": {number}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(body), "data=") {
		t.Fatalf("tokenisation answered %q", body)
	}
	return string(body)
}

func (e payEnv) order(t *testing.T, unitPrice int64) httpapi.Order {
	t.Helper()
	return createOrder(t, e.s, e.token, orderBody(e.center.ID, line("P", 1, unitPrice, nil)))
}

func (e payEnv) pay(t *testing.T, token, orderID, cardID string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: token,
		Body: map[string]any{"order_id": orderID, "method": "card", "card_id": cardID, "return_url": returnURL}})
}

func (e payEnv) intent(t *testing.T, id string) httpapi.PaymentIntent {
	t.Helper()
	var pi httpapi.PaymentIntent
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + id, Token: e.token}).Expect(t, 200).JSON(t, &pi)
	return pi
}

func (e payEnv) intents(t *testing.T, orderID string) []httpapi.PaymentIntent {
	t.Helper()
	var l httpapi.PaymentIntentList
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents?order_id=" + orderID, Token: e.token}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

func (e payEnv) hook(t *testing.T, event, resourceID string) {
	t.Helper()
	q := url.Values{"EventType": {event}, "RessourceId": {resourceID}, "Date": {"1767225600"}}
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/psp/mangopay/hooks?" + q.Encode()}).Expect(t, 200)
	e.s.App.Notifications.Wait()
}

func decodeIntent(t *testing.T, r *apptest.Response) httpapi.PaymentIntent {
	t.Helper()
	var pi httpapi.PaymentIntent
	r.JSON(t, &pi)
	return pi
}

// payInOf is the provider pay-in behind a requires_action intent (the fake's 3-D Secure page is /3ds/<pay-in id>).
func payInOf(t *testing.T, pi httpapi.PaymentIntent) string {
	t.Helper()
	if pi.NextAction == nil {
		t.Fatalf("intent %s has no next action: %+v", pi.ID, pi)
	}
	return path.Base(pi.NextAction.RedirectToURL.URL)
}

func TestCardPayments(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		challenge := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		frictionless := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)

		var card httpapi.Card
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + challenge, Token: e.token}).Expect(t, 200).JSON(t, &card)
		if card.Alias != "497010XXXXXX8183" || card.Expiration != "1230" || card.Brand == "" || card.Status != "active" {
			t.Errorf("card = %+v", card)
		}
		var cards httpapi.CardList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards", Token: e.token}).Expect(t, 200).JSON(t, &cards)
		if len(cards.Data) != 2 || cards.Data[0].ID != frictionless {
			t.Errorf("cards = %+v", cards)
		}

		t.Run("3-D Secure challenge then success", func(t *testing.T) {
			o := e.order(t, 12000)
			pi := decodeIntent(t, e.pay(t, e.token, o.ID, challenge).Expect(t, 201))
			if pi.Status != "requires_action" || pi.Amount != 14400 || pi.Currency != "EUR" || pi.Method != "card" || pi.OrderID == nil || *pi.OrderID != o.ID ||
				pi.BuyerID != e.buyer.ID || pi.CardID == nil || *pi.CardID != challenge || pi.LastError != nil || pi.MandateID != nil ||
				pi.NextAction == nil || pi.NextAction.Type != "redirect_to_url" || pi.NextAction.RedirectToURL.ReturnURL != returnURL ||
				!strings.HasPrefix(pi.NextAction.RedirectToURL.URL, e.fake.URL) {
				t.Fatalf("intent = %+v", pi)
			}
			if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" || got.Payment == nil ||
				*got.Payment != (httpapi.OrderPayment{IntentID: pi.ID, Method: "card", Status: "requires_action"}) {
				t.Errorf("order while waiting = %+v", got)
			}
			if got := e.intent(t, pi.ID); got.Status != "requires_action" {
				t.Errorf("refreshed while waiting = %+v", got)
			}
			if err := e.fake.CompleteSecureMode(payInOf(t, pi)); err != nil {
				t.Fatal(err)
			}
			got := e.intent(t, pi.ID)
			if got.Status != "succeeded" || got.NextAction != nil || got.LastError != nil {
				t.Errorf("after 3-D Secure = %+v", got)
			}
			if o := getOrder(t, e.s, e.token, o.ID); o.Status != "confirmed" || o.Payment.Status != "succeeded" {
				t.Errorf("order after payment = %+v", o)
			}
			e.pay(t, e.token, o.ID, frictionless).ExpectProblem(t, 409, "order_not_payable")
			e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/" + pi.ID + "/cancel", Token: e.token}).ExpectProblem(t, 409, "intent_not_cancelable")
			e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o.ID, Token: e.token}).ExpectProblem(t, 409, "order_not_deletable")
		})

		t.Run("frictionless success", func(t *testing.T) {
			o := e.order(t, 5000)
			pi := decodeIntent(t, e.pay(t, e.token, o.ID, frictionless).Expect(t, 201))
			if pi.Status != "succeeded" || pi.NextAction != nil || pi.LastError != nil {
				t.Errorf("intent = %+v", pi)
			}
			if o := getOrder(t, e.s, e.token, o.ID); o.Status != "confirmed" || o.Payment.IntentID != pi.ID {
				t.Errorf("order = %+v", o)
			}
		})

		t.Run("declined", func(t *testing.T) {
			o := e.order(t, 27754) // 27754 + VAT 5551 = 33305
			if o.Total != mangopaytest.DeclinedAmount {
				t.Fatalf("total = %d", o.Total)
			}
			pi := decodeIntent(t, e.pay(t, e.token, o.ID, frictionless).Expect(t, 201))
			if pi.Status != "failed" || pi.LastError == nil || pi.LastError.Code != "card_declined" || pi.LastError.Message == "" {
				t.Errorf("intent = %+v", pi)
			}
			if o := getOrder(t, e.s, e.token, o.ID); o.Status != "payment_pending" || o.Payment.Status != "failed" {
				t.Errorf("order = %+v", o)
			}
		})

		t.Run("admin and service pay for a buyer", func(t *testing.T) {
			o := e.order(t, 100)
			service := e.s.Token(t, auth.RoleService, "")
			p := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: service,
				Body: map[string]any{"order_id": o.ID, "method": "card", "card_id": frictionless, "return_url": returnURL}}).ExpectProblem(t, 422, "validation_failed")
			expectFields(t, p, "buyer_id")
			pi := decodeIntent(t, e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: service,
				Body: map[string]any{"buyer_id": e.buyer.ID, "order_id": o.ID, "method": "card", "card_id": frictionless, "return_url": returnURL,
					"ip_address": "203.0.113.7", "browser_info": map[string]any{"language": "de", "color_depth": 32, "java_enabled": true}}}).Expect(t, 201))
			if pi.Status != "succeeded" || pi.BuyerID != e.buyer.ID {
				t.Errorf("intent = %+v", pi)
			}
			admin := e.s.Token(t, auth.RoleAdmin, "")
			e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: admin}).Expect(t, 200)
			other := createBuyer(t, e.s, "823456785")
			e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: e.s.Token(t, auth.RoleBuyer, other.ID)}).ExpectProblem(t, 404, "not_found")
		})
	})
}

func TestCardFailuresBlockTheCard(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)

		// A failed or cancelled authentication fails the intent but keeps the card.
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		if err := e.fake.FailSecureMode(payInOf(t, pi), "101301"); err != nil {
			t.Fatal(err)
		}
		if got := e.intent(t, pi.ID); got.Status != "failed" || got.LastError == nil || got.LastError.Code != "authentication_failed" {
			t.Errorf("after a failed authentication = %+v", got)
		}

		// The third wrong code blocks the card: later intents are refused.
		pi = decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		if err := e.fake.FailSecureMode(payInOf(t, pi), "101111"); err != nil {
			t.Fatal(err)
		}
		if got := e.intent(t, pi.ID); got.Status != "failed" || got.LastError == nil || got.LastError.Code != "card_blocked" {
			t.Errorf("after too many attempts = %+v", got)
		}
		var c httpapi.Card
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: e.token}).Expect(t, 200).JSON(t, &c)
		if c.Status != "blocked" {
			t.Errorf("card = %+v", c)
		}
		payins := e.fake.Created("payins")
		e.pay(t, e.token, o.ID, card).ExpectProblem(t, 409, "card_blocked")
		if got := e.fake.Created("payins"); got != payins {
			t.Errorf("a blocked card was charged: %d pay-ins, want %d", got, payins)
		}
		if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" {
			t.Errorf("order = %+v", got)
		}
	})
}

func TestNewIntentCancelsTheOpenOne(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		o := e.order(t, 2000)
		first := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		second := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		list := e.intents(t, o.ID)
		if len(list) != 2 || list[0].ID != second.ID || list[0].Status != "requires_action" || list[1].ID != first.ID || list[1].Status != "canceled" {
			t.Fatalf("intents = %+v", list)
		}
		if got := getOrder(t, e.s, e.token, o.ID); got.Payment.IntentID != second.ID {
			t.Errorf("order payment = %+v", got.Payment)
		}

		// Cancel: requires_action → canceled once; the order stays payable.
		var canceled httpapi.PaymentIntent
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/" + second.ID + "/cancel", Token: e.token}).Expect(t, 200).JSON(t, &canceled)
		if canceled.Status != "canceled" || canceled.NextAction != nil || canceled.LastError != nil {
			t.Errorf("canceled = %+v", canceled)
		}
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/" + second.ID + "/cancel", Token: e.token}).ExpectProblem(t, 409, "intent_not_cancelable")
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/pi_nope/cancel", Token: e.token}).ExpectProblem(t, 404, "not_found")
		if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" {
			t.Errorf("order = %+v", got)
		}

		// The buyer finishes the first, replaced, 3-D Secure anyway: the money is given back and
		// nothing else changes.
		if err := e.fake.CompleteSecureMode(payInOf(t, first)); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, first))
		if got := e.fake.Created("refunds"); got != 1 {
			t.Errorf("refunds = %d, want 1", got)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, first))
		if got := e.fake.Created("refunds"); got != 1 {
			t.Errorf("refunds after a duplicate hook = %d, want 1", got)
		}
		if got := e.intent(t, first.ID); got.Status != "canceled" {
			t.Errorf("first = %+v", got)
		}
		if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" {
			t.Errorf("order = %+v", got)
		}

		// Deleting the order cancels its open intent in the same transaction.
		third := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o.ID, Token: e.token}).Expect(t, 204)
		if got := e.intent(t, third.ID); got.Status != "canceled" {
			t.Errorf("intent of a deleted order = %+v", got)
		}
		e.pay(t, e.token, o.ID, card).ExpectProblem(t, 409, "order_not_payable")
	})
}

func TestIntentExpiry(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		clk := clock.NewManual(time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC))
		e := startPayments(t, b, apptest.WithBaseClock(clk))
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))

		clk.Advance(29 * time.Minute)
		if n, err := e.s.App.Payments.ExpireStale(t.Context()); err != nil || n != 0 {
			t.Fatalf("ExpireStale after 29 min = %d, %v", n, err)
		}
		clk.Advance(2 * time.Minute)
		if n, err := e.s.App.Payments.ExpireStale(t.Context()); err != nil || n != 1 {
			t.Fatalf("ExpireStale after 31 min = %d, %v", n, err)
		}
		got := e.intent(t, pi.ID)
		if got.Status != "canceled" || got.LastError == nil || got.LastError.Code != "expired" || got.NextAction != nil {
			t.Errorf("expired intent = %+v", got)
		}
		if o := getOrder(t, e.s, e.token, o.ID); o.Status != "payment_pending" {
			t.Errorf("order = %+v", o)
		}
		// The buyer finishes 3-D Secure after the expiry: the money is given back.
		if err := e.fake.CompleteSecureMode(payInOf(t, pi)); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, pi))
		if got := e.fake.Created("refunds"); got != 1 {
			t.Errorf("refunds = %d, want 1", got)
		}
		if got := e.intent(t, pi.ID); got.Status != "canceled" || got.LastError.Code != "expired" {
			t.Errorf("expired intent after a late success = %+v", got)
		}
		// Paying again works.
		if pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201)); pi.Status != "requires_action" {
			t.Errorf("new intent = %+v", pi)
		}
	})
}

func TestMangoPayHooks(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)

		// A success notification confirms the order without anyone reading the intent.
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		payIn := payInOf(t, pi)
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payIn) // says succeeded, but the pay-in still waits: nothing changes
		if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" || got.Payment.Status != "requires_action" {
			t.Errorf("order after a premature hook = %+v", got)
		}
		if err := e.fake.CompleteSecureMode(payIn); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payIn)
		want := getOrder(t, e.s, e.token, o.ID)
		if want.Status != "confirmed" || want.Payment.Status != "succeeded" {
			t.Errorf("order after the hook = %+v", want)
		}
		// Duplicates, late and out-of-order notifications, unknown resources: nothing changes.
		for _, h := range [][2]string{
			{"PAYIN_NORMAL_SUCCEEDED", payIn}, {"PAYIN_NORMAL_CREATED", payIn}, {"PAYIN_NORMAL_FAILED", payIn},
			{"PAYIN_NORMAL_SUCCEEDED", "payin_m_unknown"}, {"MANDATE_ACTIVATED", "mdt_m_unknown"},
			{"PAYIN_REFUND_SUCCEEDED", "refund_m_unknown"}, {"KYC_SUCCEEDED", "kyc_1"}, {"", ""},
		} {
			e.hook(t, h[0], h[1])
		}
		if got := getOrder(t, e.s, e.token, o.ID); !cmp.Equal(want, got) {
			t.Errorf("order changed after stray hooks:\n%s", cmp.Diff(want, got))
		}
		if got := e.intent(t, pi.ID); got.Status != "succeeded" {
			t.Errorf("intent = %+v", got)
		}
		if got := e.fake.Created("refunds"); got != 0 {
			t.Errorf("refunds = %d", got)
		}

		// A failure notification fails the intent; a later lying "succeeded" hook changes nothing.
		o2 := e.order(t, 2000)
		pi2 := decodeIntent(t, e.pay(t, e.token, o2.ID, card).Expect(t, 201))
		if err := e.fake.FailSecureMode(payInOf(t, pi2), "101301"); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "PAYIN_NORMAL_FAILED", payInOf(t, pi2))
		if got := getOrder(t, e.s, e.token, o2.ID); got.Status != "payment_pending" || got.Payment.Status != "failed" {
			t.Errorf("order after a failure hook = %+v", got)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, pi2))
		if got := e.intent(t, pi2.ID); got.Status != "failed" || got.LastError.Code != "authentication_failed" {
			t.Errorf("intent = %+v", got)
		}
	})
}

func TestCardProviderOutage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		o := e.order(t, 1000)
		for _, f := range []mangopaytest.Fault{
			{Route: "POST /payins/card/direct", Status: 500},
			{Route: "POST /payins/card/direct", Hang: true},
		} {
			e.fake.InjectFault(f)
			e.pay(t, e.token, o.ID, card).ExpectProblem(t, 502, "psp_unavailable")
			e.fake.ClearFaults()
			// The intent was recorded before the charge was asked; the provider holds no pay-in
			// for its key, so it is canceled and nothing stays open.
			for _, pi := range e.intents(t, o.ID) {
				if pi.Status != "canceled" {
					t.Errorf("intent after an outage = %+v, want canceled", pi)
				}
			}
			if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" || (got.Payment != nil && got.Payment.Status != "canceled") {
				t.Errorf("order changed during an outage: %+v", got)
			}
		}
		// A 502 is not kept against its Idempotency-Key: the retry with the same key runs again.
		key := map[string]string{"Idempotency-Key": "pay-" + o.ID}
		body := map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": returnURL}
		e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Status: 500})
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Body: body, Header: key}).ExpectProblem(t, 502, "psp_unavailable")
		e.fake.ClearFaults()
		r := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Body: body, Header: key}).Expect(t, 201)
		if r.Header.Get("Idempotent-Replayed") != "" {
			t.Error("the retry after a 502 was answered from the idempotency store")
		}
		if pi := decodeIntent(t, r); pi.Status != "succeeded" {
			t.Errorf("after the outage = %+v", pi)
		}
	})
}

func TestConcurrentPaymentIntents(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		challenge := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		frictionless := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		race := func(orderID, card string) map[int]int {
			var mu sync.Mutex
			statuses := map[int]int{}
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					r := e.pay(t, e.token, orderID, card)
					mu.Lock()
					statuses[r.Status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			return statuses
		}

		o := e.order(t, 1000)
		if st := race(o.ID, challenge); st[201] == 0 || st[201]+st[409] != 10 {
			t.Errorf("statuses = %v", st)
		}
		open := 0
		for _, pi := range e.intents(t, o.ID) {
			if pi.Status == "requires_action" || pi.Status == "processing" {
				open++
			}
		}
		if open != 1 {
			t.Errorf("%d open intents, want 1", open)
		}

		o2 := e.order(t, 2000)
		before := e.fake.Created("payins")
		st := race(o2.ID, frictionless)
		succeeded := 0
		for _, pi := range e.intents(t, o2.ID) {
			if pi.Status == "succeeded" {
				succeeded++
			}
		}
		if succeeded != 1 || st[201] != 1 || st[409] != 9 {
			t.Errorf("%d succeeded intents, statuses %v; want exactly one payment", succeeded, st)
		}
		if got := getOrder(t, e.s, e.token, o2.ID); got.Status != "confirmed" || got.Payment.Status != "succeeded" {
			t.Errorf("order = %+v", got)
		}
		// Every pay-in taken beyond the one that confirmed the order was refunded.
		if charged, refunded := e.fake.Created("payins")-before, e.fake.Created("refunds"); refunded != charged-1 {
			t.Errorf("%d pay-ins, %d refunds: want every extra pay-in refunded", charged, refunded)
		}
	})
}

func TestPaymentIntentIdempotentReplay(t *testing.T) {
	e := startPayments(t, storagetest.SQLite)
	card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
	o := e.order(t, 1000)
	req := apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Header: map[string]string{"Idempotency-Key": "pay-order-1"},
		Body: map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": returnURL}}
	first := e.s.Do(t, req).Expect(t, 201)
	again := e.s.Do(t, req).Expect(t, 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Errorf("replay = %s %v", again.Body, again.Header)
	}
	if got := e.fake.Created("payins"); got != 1 {
		t.Errorf("pay-ins = %d, want 1", got)
	}
	if list := e.intents(t, o.ID); len(list) != 1 {
		t.Errorf("intents = %+v", list)
	}
}

func TestCards(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)

		// A token the provider refuses.
		var cr httpapi.CardRegistration
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: e.token}).Expect(t, 201).JSON(t, &cr)
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: e.token,
			Body: map[string]any{"registration_data": "data=forged"}}).ExpectProblem(t, 422, "card_registration_failed")
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: e.token,
			Body: map[string]any{"registration_data": "data=again"}}).ExpectProblem(t, 422, "card_registration_failed") // spent
		expectFields(t, e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: e.token,
			Body: map[string]any{"registration_data": ""}}).ExpectProblem(t, 422, "validation_failed"), "registration_data")
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/cr_nope", Token: e.token,
			Body: map[string]any{"registration_data": "data=x"}}).ExpectProblem(t, 404, "not_found")

		// Another buyer sees none of it.
		other := createBuyer(t, e.s, "823456785")
		ot := e.s.Token(t, auth.RoleBuyer, other.ID)
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: ot}).ExpectProblem(t, 404, "not_found")
		e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/cards/" + card, Token: ot}).ExpectProblem(t, 404, "not_found")
		var l httpapi.CardList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards", Token: ot}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 0 {
			t.Errorf("other buyer's cards = %+v", l.Data)
		}
		oo := createOrder(t, e.s, ot, orderBody(e.center.ID, line("Z", 1, 100, nil)))
		expectFields(t, e.pay(t, ot, oo.ID, card).ExpectProblem(t, 422, "validation_failed"), "card_id")

		// Delete: inactive at the provider and here; paying with it is refused.
		e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/cards/" + card, Token: e.token}).Expect(t, 204)
		e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/cards/" + card, Token: e.token}).Expect(t, 204)
		var c httpapi.Card
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: e.token}).Expect(t, 200).JSON(t, &c)
		if c.Status != "inactive" {
			t.Errorf("card = %+v", c)
		}
		e.pay(t, e.token, e.order(t, 100).ID, card).ExpectProblem(t, 409, "card_inactive")
	})
}

func TestPaymentIntentValidation(t *testing.T) {
	e := startPayments(t, storagetest.SQLite)
	card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
	o := e.order(t, 1000)
	body := func(changes map[string]any) map[string]any {
		b := map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": returnURL}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	tests := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"no method", body(map[string]any{"method": nil}), []string{"method"}},
		{"unknown method", body(map[string]any{"method": "cash"}), []string{"method"}},
		{"no order", body(map[string]any{"order_id": nil}), []string{"order_id"}},
		{"unknown order", body(map[string]any{"order_id": "ord_unknown"}), []string{"order_id"}},
		{"no card", body(map[string]any{"card_id": nil}), []string{"card_id"}},
		{"unknown card", body(map[string]any{"card_id": "card_unknown"}), []string{"card_id"}},
		{"no return URL", body(map[string]any{"return_url": nil}), []string{"return_url"}},
		{"http return URL", body(map[string]any{"return_url": "http://shop.example/back"}), []string{"return_url"}},
		{"javascript return URL", body(map[string]any{"return_url": "javascript:alert(1)"}), []string{"return_url"}},
		{"long return URL", body(map[string]any{"return_url": "https://shop.example/" + strings.Repeat("a", 220)}), []string{"return_url"}},
		{"bad browser info", body(map[string]any{"browser_info": map[string]any{"color_depth": 7, "language": "french", "screen_width": 0}}),
			[]string{"browser_info.color_depth", "browser_info.language", "browser_info.screen_width"}},
		{"bad IP", body(map[string]any{"ip_address": "300.1.1.1"}), []string{"ip_address"}},
		{"unknown field", body(map[string]any{"amount": 1}), []string{"amount"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Body: tt.body}).ExpectProblem(t, 422, "validation_failed")
			expectFields(t, p, tt.fields...)
		})
	}
	if got := e.fake.Created("payins"); got != 0 {
		t.Errorf("pay-ins = %d after invalid requests", got)
	}
	// http on localhost is fine for development.
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token,
		Body: body(map[string]any{"return_url": "http://localhost:5173/return"})}).Expect(t, 201)
}

// The whole card flow in sandbox mode: the simulated provider's tokenisation endpoint and 3-D
// Secure page, as a browser would post to them (the Chromium test does the same with a real browser).
func TestSandboxCardFlow(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		submit := func(t *testing.T, pageURL, code string) *http.Response {
			t.Helper()
			resp, err := noFollow.PostForm(pageURL, url.Values{"code": {code}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}

		card := e.registerCard(t, e.token, "4970105181818183")
		o := e.order(t, 12000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		if pi.Status != "requires_action" || pi.NextAction == nil || !strings.HasPrefix(pi.NextAction.RedirectToURL.URL, s.URL+"/sandbox/psp/3ds/") {
			t.Fatalf("intent = %+v", pi)
		}
		page := pi.NextAction.RedirectToURL.URL
		if r := submit(t, page, "000000"); r.StatusCode != 200 {
			t.Fatalf("a wrong code answered %d, want the page again", r.StatusCode)
		}
		r := submit(t, page, "123456")
		if r.StatusCode != 303 || r.Header.Get("Location") != "https://shop.example/checkout/return?payment_intent="+pi.ID+"&step=3" {
			t.Fatalf("the right code answered %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got := e.intent(t, pi.ID); got.Status != "succeeded" {
			t.Fatalf("intent after 3-D Secure = %+v", got)
		}
		if got := getOrder(t, s, e.token, o.ID); got.Status != "confirmed" {
			t.Fatalf("order = %s, want confirmed", got.Status)
		}

		// Three wrong codes block the card.
		o2 := e.order(t, 5000)
		pi2 := decodeIntent(t, e.pay(t, e.token, o2.ID, card).Expect(t, 201))
		for i := 0; i < 3; i++ {
			r = submit(t, pi2.NextAction.RedirectToURL.URL, "111111")
		}
		if r.StatusCode != 303 {
			t.Fatalf("the third wrong code answered %d, want a redirect", r.StatusCode)
		}
		if got := e.intent(t, pi2.ID); got.Status != "failed" || got.LastError == nil || got.LastError.Code != "card_blocked" {
			t.Fatalf("intent after 3 wrong codes = %+v", got)
		}
		var c httpapi.Card
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: e.token}).Expect(t, 200).JSON(t, &c)
		if c.Status != "blocked" {
			t.Fatalf("card = %+v, want blocked", c)
		}
		e.pay(t, e.token, o2.ID, card).ExpectProblem(t, 409, "card_blocked")
	})
}
