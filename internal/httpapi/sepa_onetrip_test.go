package httpapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/webhooks/webhookstest"
)

// TestSEPAOneTripRollsBackWhole: on PostgreSQL a SEPA payment with an Idempotency-Key is one
// read, then one statement of conditional writes. When a condition read no longer holds by the
// time the write runs — the order changed, the ceiling was lowered, the key was taken — the
// parts of the statement that took effect before the failing one are rolled back with it (the
// reservation is not counted twice, no event or job is left), and the payment takes the general
// path, which answers as the rules say.
func TestSEPAOneTripRollsBackWhole(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		if bk != storagetest.Postgres {
			t.Skip("the one-trip payment is PostgreSQL's (SQLite keeps the general path)")
		}
		h := &requestHook{}
		s := apptest.Start(t, bk, apptest.WithBaseClock(clock.NewManual(debitStart)),
			apptest.WithOptions(func(o *app.Options) { o.StatementHook = h.hook }))
		e := &debitEnv{s: s, center: createCenter(t, s, "81234567600017"), admin: s.Token(t, auth.RoleAdmin, "")}
		b, _ := e.eligibleBuyer(t, "812345676")
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := s.App.DB.SQL().Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		pay := func(orderID, key, rid string) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
				Body:   map[string]any{"order_id": orderID, "method": "sepa_debit"},
				Header: map[string]string{"Idempotency-Key": key, "X-Request-Id": rid}})
		}
		oneTrip := func(points []string) bool {
			for _, p := range points {
				if strings.Contains(p, "vhupay_require") {
					return true
				}
			}
			return false
		}
		// The events bound to fan out: named by an event outbox row, or by a fan-out job (the
		// dispatcher moves them from one to the other in one transaction: the sum only grows
		// with new events).
		jobs := func() int {
			return count(t, s, `SELECT (SELECT COALESCE(sum(jsonb_array_length(event_ids::jsonb)), 0) FROM event_outbox)
				+ (SELECT COALESCE(sum(CASE WHEN args ? 'event_ids' THEN jsonb_array_length(args->'event_ids') ELSE 0 END
					+ CASE WHEN args ? 'event_id' THEN 1 ELSE 0 END), 0) FROM river_job WHERE kind = 'webhook_fanout')`)
		}

		// The month's first payment opens its gate (general path); the next takes one trip.
		pay(e.order(t, b, 500).ID, "k-first", "r-first").Expect(t, 201)
		o := e.order(t, b, 700)
		stop := h.watch("r-clean", nil)
		pay(o.ID, "k-clean", "r-clean").Expect(t, 201)
		if points := stop(); !oneTrip(points) || len(points) != 3 {
			t.Fatalf("a payment in an open month did not take one trip:\n%s", numbered(points))
		}
		if got := rowsOf(t, s, o.ID, "k-clean"); got != (paymentRows{1, 1, 2, 1}) {
			t.Fatalf("after a one-trip payment: %+v", got)
		}
		outstanding := e.profile(t, b).Outstanding
		if outstanding != 1200 {
			t.Fatalf("outstanding %d, want 1200", outstanding)
		}

		// The order changes after the read: the reservation made before the confirmation's
		// assertion failed is rolled back; the general path then pays it once.
		o = e.order(t, b, 900)
		stop = h.watch("r-changed", changeOnce("vhupay_require", func() { exec(`UPDATE orders SET updated_at = updated_at WHERE id = $1`, o.ID) }))
		pay(o.ID, "k-changed", "r-changed").Expect(t, 201)
		if points := stop(); !oneTrip(points) || len(points) < 4 {
			t.Fatalf("points:\n%s", numbered(points))
		}
		outstanding += 900
		if p := e.profile(t, b); p.Outstanding != outstanding {
			t.Fatalf("after a changed order: outstanding %d, want %d (a reservation counted twice or lost)", p.Outstanding, outstanding)
		}
		if got := rowsOf(t, s, o.ID, "k-changed"); got != (paymentRows{1, 1, 2, 1}) {
			t.Fatalf("after a changed order: %+v", got)
		}

		// The month's close begins after the read: the payment does not count in that month;
		// the general path counts it in the next.
		o = e.order(t, b, 800)
		stop = h.watch("r-closed", changeOnce("vhupay_require", func() { exec(`UPDATE month_gates SET closed_at = now() WHERE month = '2026-11'`) }))
		pi := decodeIntent(t, pay(o.ID, "k-closed", "r-closed").Expect(t, 201))
		stop()
		if pi.CollectionMonth == nil || *pi.CollectionMonth != "2026-12" {
			t.Fatalf("a payment after the close began counts in %v, want 2026-12", pi.CollectionMonth)
		}
		if n := count(t, s, `SELECT count(*) FROM payment_intents WHERE collection_month = '2026-11' AND order_id = '`+o.ID+`'`); n != 0 {
			t.Fatalf("%d intents of the order in the closed month", n)
		}
		exec(`UPDATE month_gates SET closed_at = NULL WHERE month = '2026-11'`)

		// The ceiling is lowered after the read: nothing is written, the general path refuses.
		o = e.order(t, b, 1000)
		jobsBefore := jobs()
		stop = h.watch("r-ceiling", changeOnce("vhupay_require", func() {
			exec(`UPDATE sepa_profiles SET ceiling = $1 WHERE buyer_id = $2`, outstanding+999, b.ID)
		}))
		pay(o.ID, "k-ceiling", "r-ceiling").ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		stop()
		if got := rowsOf(t, s, o.ID, "k-ceiling"); got.intents != 0 || got.events != 0 || got.confirmed != 0 {
			t.Fatalf("after a lowered ceiling: %+v", got)
		}
		if p := e.profile(t, b); p.Outstanding != outstanding {
			t.Fatalf("after a lowered ceiling: outstanding %d, want %d", p.Outstanding, outstanding)
		}
		if n := jobs(); n != jobsBefore {
			t.Fatalf("after a lowered ceiling: %d fan-out jobs, want %d", n, jobsBefore)
		}
		exec(`UPDATE sepa_profiles SET ceiling = 25000 WHERE buyer_id = $1`, b.ID)

		// The key is taken after the read (its first request finished meanwhile): every write
		// before the key's record — reservation, confirmation, intent, events, jobs — is rolled
		// back, and the key's record answers.
		o = e.order(t, b, 1100)
		first := pay(e.order(t, b, 1200).ID, "k-taken", "r-taken-first").Expect(t, 201)
		outstanding += 1200
		// Make the key's record look fresh for this request's body: a different request with the
		// same key is refused (422) by the general rules, with nothing written.
		jobsBefore = jobs()
		stop = h.watch("r-taken", nil)
		pay(o.ID, "k-taken", "r-taken").ExpectProblem(t, 422, "idempotency_key_reused")
		stop()
		if got := rowsOf(t, s, o.ID, "k-taken"); got.intents != 0 || got.confirmed != 0 || got.records != 1 {
			t.Fatalf("after a taken key: %+v", got)
		}
		if p := e.profile(t, b); p.Outstanding != outstanding {
			t.Fatalf("after a taken key: outstanding %d, want %d", p.Outstanding, outstanding)
		}
		if n := jobs(); n != jobsBefore {
			t.Fatalf("after a taken key: %d fan-out jobs, want %d", n, jobsBefore)
		}
		_ = first

		// The key is taken between the read and the write by a record inserted then: the last
		// assertion fails after every other write ran, and all of them are rolled back.
		o = e.order(t, b, 1300)
		jobsBefore = jobs()
		events := count(t, s, `SELECT count(*) FROM events`)
		var scope string
		if err := s.App.DB.SQL().QueryRow(`SELECT scope FROM idempotency_keys WHERE key = 'k-taken'`).Scan(&scope); err != nil {
			t.Fatal(err)
		}
		stop = h.watch("r-raced", changeOnce("vhupay_require", func() {
			exec(`INSERT INTO idempotency_keys (scope, key, request_hash, state, status, content_type, location, body, created_at, locked_until, expires_at)
				VALUES ($1, 'k-raced', 'other', 'running', 0, '', '', NULL, now(), now() + interval '1 hour', now() + interval '1 day')`,
				scope)
		}))
		r := pay(o.ID, "k-raced", "r-raced")
		points := stop()
		if !oneTrip(points) {
			t.Fatalf("points:\n%s", numbered(points))
		}
		if r.Status != 409 && r.Status != 422 {
			t.Fatalf("a key taken meanwhile answered %d %s", r.Status, r.Body)
		}
		if got := rowsOf(t, s, o.ID, "k-raced"); got.intents != 0 || got.confirmed != 0 {
			t.Fatalf("after a raced key: %+v", got)
		}
		if p := e.profile(t, b); p.Outstanding != outstanding {
			t.Fatalf("after a raced key: outstanding %d, want %d", p.Outstanding, outstanding)
		}
		if n, ev := jobs(), count(t, s, `SELECT count(*) FROM events`); n != jobsBefore || ev != events {
			t.Fatalf("after a raced key: %d jobs (want %d), %d events (want %d)", n, jobsBefore, ev, events)
		}
	})
}

// TestSEPAOneTripEventsAndWebhooks: a one-trip payment's events are those of the general path —
// payment_intent.scheduled and order.confirmed, each data.object equal to the resource's GET —
// and its one event outbox row (both events, inserted by the payment's statement), dispatched
// as a fan-out job, delivers both to a subscribed endpoint.
func TestSEPAOneTripEventsAndWebhooks(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		h := &requestHook{}
		s := apptest.Start(t, bk, apptest.WithBaseClock(clock.NewManual(debitStart)), fastWebhooks(time.Millisecond),
			apptest.WithOptions(func(o *app.Options) { o.StatementHook = h.hook }))
		e := &debitEnv{s: s, center: createCenter(t, s, "81234567600017"), admin: s.Token(t, auth.RoleAdmin, "")}
		b, _ := e.eligibleBuyer(t, "812345676")
		recv := webhookstest.NewReceiver(t)
		createEndpoint(t, s, s.Token(t, auth.RoleCenter, e.center.ID), recv.URL, "payment_intent.scheduled", "order.confirmed")
		pay := func(orderID, key, rid string) httpapi.PaymentIntent {
			return decodeIntent(t, s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
				Body:   map[string]any{"order_id": orderID, "method": "sepa_debit"},
				Header: map[string]string{"Idempotency-Key": key, "X-Request-Id": rid}}).Expect(t, 201))
		}
		pay(e.order(t, b, 500).ID, "k-first", "r-first") // the month's first payment opens its gate
		o := e.order(t, b, 700)
		stop := h.watch("r-one", nil)
		pi := pay(o.ID, "k-one", "r-one")
		points := stop()
		if wantOneTrip := bk == storagetest.Postgres; wantOneTrip != strings.Contains(strings.Join(points, "\n"), "vhupay_require") {
			t.Fatalf("%s: one trip = %v; points:\n%s", bk, !wantOneTrip, numbered(points))
		}
		var evs []httpapi.Event
		for _, ev := range typedEvents(t, s, b.tok, "payment_intent.scheduled", "order.confirmed") {
			if strings.Contains(string(ev.Data.Object), o.ID) {
				evs = append(evs, ev)
			}
		}
		if got := eventTypes(evs); !slices.Equal(got, []string{"payment_intent.scheduled", "order.confirmed"}) {
			t.Fatalf("events of the payment: %v", got)
		}
		for i, want := range []json.RawMessage{getJSON(t, s, b.tok, "/v1/payment-intents/"+pi.ID), getJSON(t, s, b.tok, "/v1/orders/"+o.ID)} {
			if !jsonEqual(evs[i].Data.Object, want) {
				t.Errorf("%s data.object = %s\nwant the GET = %s", evs[i].Type, evs[i].Data.Object, want)
			}
		}
		recv.Await(t, "both events of the payment", func(ms []webhookstest.Message) bool {
			n := 0
			for _, m := range ms {
				if strings.Contains(string(m.Body), o.ID) {
					n++
				}
			}
			return n == 2
		})
	})
}
