package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// eventsSeen lists the events a caller sees, oldest first.
func eventsSeen(t *testing.T, s *apptest.Server, token string) []httpapi.Event {
	t.Helper()
	var l httpapi.EventList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?limit=100", Token: token}).Expect(t, 200).JSON(t, &l)
	out := make([]httpapi.Event, len(l.Data))
	for i, e := range l.Data {
		out[len(l.Data)-1-i] = e
	}
	return out
}

func eventTypes(es []httpapi.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Type
	}
	return out
}

// getJSON is a resource's GET answer.
func getJSON(t *testing.T, s *apptest.Server, token, path string) json.RawMessage {
	t.Helper()
	var raw json.RawMessage
	s.Do(t, apptest.Request{Method: "GET", Path: path, Token: token}).Expect(t, 200).JSON(t, &raw)
	return raw
}

// expectEvents checks that the buyer and the centre see exactly want since the first skip events,
// each data.object equal to objects[i] (the resource's GET right after the change, nil: not
// compared), and returns how many events they see now. card.blocked concerns the buyer alone
// (a card is the buyer's): the centre is not told.
func expectEvents(t *testing.T, e payEnv, skip int, want []string, objects []json.RawMessage) int {
	t.Helper()
	for _, token := range []string{e.token, e.s.Token(t, auth.RoleCenter, e.center.ID)} {
		got := eventsSeen(t, e.s, token)
		if len(got) < skip {
			t.Fatalf("events = %v, want at least %d", eventTypes(got), skip)
		}
		got = got[skip:]
		want, objects := want, objects
		if token != e.token && slices.Contains(want, "card.blocked") {
			k := slices.Index(want, "card.blocked")
			want, objects = slices.Delete(slices.Clone(want), k, k+1), slices.Delete(slices.Clone(objects), k, k+1)
		}
		if len(got) != len(want) {
			t.Fatalf("new events = %v, want %v", eventTypes(got), want)
		}
		for i, ev := range got {
			if ev.Type != want[i] {
				t.Errorf("event %d = %s, want %s", i, ev.Type, want[i])
			}
			if ev.BuyerID == nil || *ev.BuyerID != e.buyer.ID {
				t.Errorf("event %s buyer_id = %v", ev.Type, ev.BuyerID)
			}
			if objects[i] != nil && !jsonEqual(ev.Data.Object, objects[i]) {
				t.Errorf("event %s data.object = %s\nwant the GET = %s", ev.Type, ev.Data.Object, objects[i])
			}
		}
	}
	return skip + len(want)
}

// Card payments, their orders and cards write their events in the units that change them, once
// per transition, each data.object equal to the resource's GET at that moment.
func TestPaymentEventsEmitted(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		challenge := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		frictionless := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		n := 0

		// 3-D Secure: requires_action, then succeeded and the order confirmed.
		o := e.order(t, 12000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, challenge).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.requires_action"},
			[]json.RawMessage{getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi.ID)})
		if err := e.fake.CompleteSecureMode(payInOf(t, pi)); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, pi))
		n = expectEvents(t, e, n, []string{"payment_intent.succeeded", "order.confirmed"}, []json.RawMessage{
			getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi.ID), getJSON(t, e.s, e.token, "/v1/orders/"+o.ID)})
		// The same notification again, and GETs that refresh: no transition, no event.
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, pi))
		e.intent(t, pi.ID)
		n = expectEvents(t, e, n, nil, nil)

		// Frictionless: succeeded and confirmed in the creating unit.
		o2 := e.order(t, 5000)
		pi2 := decodeIntent(t, e.pay(t, e.token, o2.ID, frictionless).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.succeeded", "order.confirmed"}, []json.RawMessage{
			getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi2.ID), getJSON(t, e.s, e.token, "/v1/orders/"+o2.ID)})

		// Declined: failed, the order stays payment_pending.
		o3 := e.order(t, 27754)
		pi3 := decodeIntent(t, e.pay(t, e.token, o3.ID, frictionless).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.failed"},
			[]json.RawMessage{getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi3.ID)})

		// Cancelled by the client.
		o4 := e.order(t, 1000)
		pi4 := decodeIntent(t, e.pay(t, e.token, o4.ID, challenge).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.requires_action"}, []json.RawMessage{nil})
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/" + pi4.ID + "/cancel", Token: e.token}).Expect(t, 200)
		n = expectEvents(t, e, n, []string{"payment_intent.canceled"},
			[]json.RawMessage{getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi4.ID)})
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents/" + pi4.ID + "/cancel", Token: e.token}).ExpectProblem(t, 409, "intent_not_cancelable")
		n = expectEvents(t, e, n, nil, nil)

		// The order deleted with an intent waiting: the intent canceled, the order cancelled.
		pi5 := decodeIntent(t, e.pay(t, e.token, o4.ID, challenge).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.requires_action"}, []json.RawMessage{nil})
		e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o4.ID, Token: e.token}).Expect(t, 204)
		n = expectEvents(t, e, n, []string{"payment_intent.canceled", "order.cancelled"}, []json.RawMessage{
			getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi5.ID), getJSON(t, e.s, e.token, "/v1/orders/"+o4.ID)})

		// Three wrong codes block the card: failed, then card.blocked with the card's GET.
		o6 := e.order(t, 1000)
		pi6 := decodeIntent(t, e.pay(t, e.token, o6.ID, challenge).Expect(t, 201))
		n = expectEvents(t, e, n, []string{"payment_intent.requires_action"}, []json.RawMessage{nil})
		if err := e.fake.FailSecureMode(payInOf(t, pi6), "101111"); err != nil {
			t.Fatal(err)
		}
		e.intent(t, pi6.ID)
		expectEvents(t, e, n, []string{"card.blocked", "payment_intent.failed"}, []json.RawMessage{
			getJSON(t, e.s, e.token, "/v1/cards/"+challenge), getJSON(t, e.s, e.token, "/v1/payment-intents/"+pi6.ID)})
	})
}

// typedEvents lists the events of types a caller sees, oldest first.
func typedEvents(t *testing.T, s *apptest.Server, token string, types ...string) []httpapi.Event {
	t.Helper()
	q := "?limit=100"
	for _, typ := range types {
		q += "&type=" + typ
	}
	var l httpapi.EventList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events" + q, Token: token}).Expect(t, 200).JSON(t, &l)
	slices.Reverse(l.Data)
	return l.Data
}

// An invoicing flow writes its events with its changes: the account requested, approved,
// revoked (and another rejected); the statement issued by the month close, then paid with its
// intents succeeded; each data.object equal to the resource's GET right after the change, seen
// by the buyer and the centre.
func TestInvoicingEventsEmitted(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		s := e.s
		check := func(token string, types []string, want []string, objects []json.RawMessage) {
			t.Helper()
			got := typedEvents(t, s, token, types...)
			if !slices.Equal(eventTypes(got), want) {
				t.Fatalf("events %v = %v, want %v", types, eventTypes(got), want)
			}
			for i, ev := range got {
				if objects[i] != nil && !jsonEqual(ev.Data.Object, objects[i]) {
					t.Errorf("%s data.object = %s\nwant the GET = %s", ev.Type, ev.Data.Object, objects[i])
				}
			}
		}
		accountTypes := []string{"invoicing_account.requested", "invoicing_account.approved", "invoicing_account.rejected", "invoicing_account.revoked"}

		a := e.askOK(t, e.bt, e.center.ID)
		requested := getJSON(t, s, e.bt, "/v1/invoicing-accounts/"+a.ID)
		e.decideOK(t, e.ct, a.ID, "approve")
		approved := getJSON(t, s, e.bt, "/v1/invoicing-accounts/"+a.ID)
		for _, tok := range []string{e.bt, e.ct} {
			check(tok, accountTypes, []string{"invoicing_account.requested", "invoicing_account.approved"}, []json.RawMessage{requested, approved})
		}

		o := createOrder(t, s, e.bt, orderBody(e.center.ID, line("A1", 2, 10000, 2000)))
		var pi httpapi.PaymentIntent
		e.payInvoice(t, e.bt, o.ID).Expect(t, 201).JSON(t, &pi)
		check(e.bt, []string{"payment_intent.scheduled", "order.confirmed"}, []string{"payment_intent.scheduled", "order.confirmed"},
			[]json.RawMessage{getJSON(t, s, e.bt, "/v1/payment-intents/"+pi.ID), getJSON(t, s, e.bt, "/v1/orders/"+o.ID)})
		st := e.statements(t, e.bt, "")[0]

		e.setClock(t, "2099-12-01T00:30:00+01:00")
		for range 2 { // a re-run issues nothing more
			if _, err := s.App.Invoicing.IssueMonth(t.Context(), "2099-11"); err != nil {
				t.Fatal(err)
			}
		}
		issued := getJSON(t, s, e.bt, "/v1/statements/"+st.ID)
		for _, tok := range []string{e.bt, e.ct} {
			check(tok, []string{"statement.issued", "statement.paid"}, []string{"statement.issued"}, []json.RawMessage{issued})
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ct}).Expect(t, 200)
		paid := getJSON(t, s, e.bt, "/v1/statements/"+st.ID)
		for _, tok := range []string{e.bt, e.ct} {
			check(tok, []string{"statement.issued", "statement.paid"}, []string{"statement.issued", "statement.paid"}, []json.RawMessage{issued, paid})
			check(tok, []string{"payment_intent.succeeded"}, []string{"payment_intent.succeeded"},
				[]json.RawMessage{getJSON(t, s, e.bt, "/v1/payment-intents/"+pi.ID)})
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ct}).ExpectProblem(t, 409, "invalid_transition")
		check(e.ct, []string{"statement.paid"}, []string{"statement.paid"}, []json.RawMessage{nil})

		e.decideOK(t, e.ct, a.ID, "revoke")
		revoked := getJSON(t, s, e.bt, "/v1/invoicing-accounts/"+a.ID)
		check(e.bt, []string{"invoicing_account.revoked"}, []string{"invoicing_account.revoked"}, []json.RawMessage{revoked})
		a2 := e.askOK(t, e.bt, e.center2.ID)
		e.decideOK(t, e.c2t, a2.ID, "reject")
		check(e.c2t, accountTypes, []string{"invoicing_account.requested", "invoicing_account.rejected"},
			[]json.RawMessage{nil, getJSON(t, s, e.bt, "/v1/invoicing-accounts/"+a2.ID)})
	})
}
