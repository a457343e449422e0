package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

const (
	challengeCard    = "4970105181818183"
	frictionlessCard = "4970107111111119"
)

// sandboxPayEnv is a sandbox server with a centre, a SEPA-ready buyer and its token, on a manual
// base clock on 10 November 2026.
func sandboxPayEnv(t *testing.T, b storagetest.Backend) (payEnv, httpapi.Mandate, *clock.Manual) {
	t.Helper()
	base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))
	s := apptest.Start(t, b, apptest.WithBaseClock(base), fastWebhooks())
	center := createCenter(t, s, "81234567600017")
	buyer, tok, m := sandboxSEPABuyer(t, s, "812345676", ibanFR)
	return payEnv{s: s, buyer: buyer, center: center, token: tok}, m, base
}

func moveSandboxClock(t *testing.T, s *apptest.Server, now string, settle bool) {
	t.Helper()
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: s.Token(t, auth.RoleAdmin, ""),
		Body: map[string]any{"now": now, "settle": settle}}).Expect(t, 200)
}

// Moving the sandbox clock runs the work it makes due before it answers: a card intent past its
// 30 minutes reads canceled right after the move, and with settle the debits that the close the
// move started submits are settled too.
func TestSandboxClockRunsDueWork(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e, m, _ := sandboxPayEnv(t, b)
		card := e.registerCard(t, e.token, challengeCard)
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		if pi.Status != "requires_action" {
			t.Fatalf("intent = %+v", pi)
		}
		sepaIntent := payOverHTTP(t, e.s, e.center.ID, e.buyer, e.token, m, 10000)

		moveSandboxClock(t, e.s, "2026-11-10T10:31:00+01:00", false) // 31 minutes later
		if got := e.intent(t, pi.ID); got.Status != "canceled" || got.LastError == nil || got.LastError.Code != "expired" {
			t.Errorf("intent right after the move = %+v", got)
		}

		moveSandboxClock(t, e.s, "2026-12-01T00:40:00+01:00", true) // starts November's close
		var list httpapi.CollectionList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: e.token}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].Status != "succeeded" || list.Data[0].PaymentIntentIDs[0] != sepaIntent {
			t.Errorf("collections right after the move = %+v", list.Data)
		}
	})
}

// The renderer gives, for each kind of resource, the JSON its GET answers: an event's data.object
// is the resource as the API shows it.
func TestRenderMatchesGET(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e, m, _ := sandboxPayEnv(t, b)
		ctx := t.Context()
		s := e.s
		buyerWho := auth.Principal{Subject: "t", Role: auth.RoleBuyer, Org: e.buyer.ID}
		admin := s.Token(t, auth.RoleAdmin, "")
		centerTok := s.Token(t, auth.RoleCenter, e.center.ID)

		card := e.registerCard(t, e.token, frictionlessCard)
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		payOverHTTP(t, s, e.center.ID, e.buyer, e.token, m, 10000)
		var ina httpapi.InvoicingAccount
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts", Token: e.token, Body: map[string]any{"center_id": e.center.ID}}).Expect(t, 201).JSON(t, &ina)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts/" + ina.ID + "/approve", Token: centerTok, Body: map[string]any{}}).Expect(t, 200).JSON(t, &ina)
		io := e.order(t, 2000)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token,
			Body: map[string]any{"order_id": io.ID, "method": "vhu_invoice"}}).Expect(t, 201)
		moveSandboxClock(t, s, "2026-12-01T00:40:00+01:00", true)
		var cols httpapi.CollectionList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: e.token}).Expect(t, 200).JSON(t, &cols)
		var stms httpapi.StatementList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements", Token: e.token}).Expect(t, 200).JSON(t, &stms)
		if len(cols.Data) != 1 || len(stms.Data) != 1 {
			t.Fatalf("collections %+v, statements %+v", cols.Data, stms.Data)
		}
		ep := createEndpoint(t, s, centerTok, "https://erp.example.fr/in", "*")
		evt := emit(t, s, txn.Event{Type: "order.confirmed", BuyerID: e.buyer.ID, CenterID: e.center.ID, Object: map[string]any{"id": o.ID}})

		must := func(v any, err error) any {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		// What a unit of work reads for order.* events (storage's CurrentOrder) is the GET too.
		var inUnit orders.Order
		if err := s.App.DB.Units().InTx(ctx, func(tx txn.Tx) error {
			var err error
			inUnit, err = tx.(interface {
				CurrentOrder(ctx context.Context, id string) (orders.Order, error)
			}).CurrentOrder(ctx, o.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			kind, path, token string
			value             any
		}{
			{"order", "/v1/orders/" + o.ID, e.token, must(s.App.Orders.Order(ctx, buyerWho, o.ID))},
			{"order read in a unit", "/v1/orders/" + o.ID, e.token, inUnit},
			{"payment_intent", "/v1/payment-intents/" + pi.ID, e.token, must(s.App.Payments.Intent(ctx, buyerWho, pi.ID))},
			{"card", "/v1/cards/" + card, e.token, must(s.App.Payments.Card(ctx, buyerWho, card))},
			{"mandate", "/v1/mandates/" + m.ID, e.token, must(s.App.SEPA.Mandate(ctx, buyerWho, m.ID))},
			{"sepa_profile", "/v1/sepa", e.token, must(s.App.SEPA.Profile(ctx, buyerWho, e.buyer.ID))},
			{"sepa_collection", "/v1/sepa/collections/" + cols.Data[0].ID, e.token, must(s.App.Collections.Collection(ctx, buyerWho, cols.Data[0].ID))},
			{"invoicing_account", "/v1/invoicing-accounts/" + ina.ID, e.token, must(s.App.Invoicing.Account(ctx, buyerWho, ina.ID))},
			{"statement", "/v1/statements/" + stms.Data[0].ID, e.token, must(s.App.Invoicing.Statement(ctx, buyerWho, stms.Data[0].ID))},
			{"webhook_endpoint", "/v1/webhook-endpoints/" + ep.ID, centerTok, must(s.App.Webhooks.Endpoint(ctx, auth.Principal{Subject: "t", Role: auth.RoleAdmin}, ep.ID))},
			{"event", "/v1/events/" + evt, admin, must(s.App.Events.Event(ctx, auth.Principal{Subject: "t", Role: auth.RoleAdmin}, evt))},
		} {
			rendered, err := httpapi.Render(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Do(t, apptest.Request{Method: "GET", Path: tc.path, Token: tc.token}).Expect(t, 200)
			if !jsonEqual(rendered, got.Body) {
				t.Errorf("%s: rendered\n%s\nGET answered\n%s", tc.kind, rendered, got.Body)
			}
		}
	})
}
