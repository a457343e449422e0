package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// requestHook is a storage.StatementHook that, for the units of work of one HTTP request (by
// its X-Request-Id), records every point it is called at and runs its action (when set) at each,
// with the point's index: crash there (crashAt), or change the database once (changeOnce).
type requestHook struct {
	mu      sync.Mutex
	request string // the request id watched ("" none)
	act     func(i int, point string)
	points  []string
}

type crashed struct{ point string }

func (h *requestHook) hook(ctx context.Context, statement string) error {
	h.mu.Lock()
	if h.request == "" || txn.RequestID(ctx) != h.request {
		h.mu.Unlock()
		return nil
	}
	h.points = append(h.points, statement)
	i, act := len(h.points)-1, h.act
	h.mu.Unlock()
	if act != nil {
		act(i, statement)
	}
	return nil
}

// watch makes the hook watch request rid with action act (nil: none), and returns a function
// that stops watching and returns the points seen.
func (h *requestHook) watch(rid string, act func(i int, point string)) func() []string {
	h.mu.Lock()
	h.request, h.act, h.points = rid, act, nil
	h.mu.Unlock()
	return func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.request = ""
		return h.points
	}
}

// crashAt "crashes" (panics) at the n-th point.
func crashAt(n int) func(int, string) {
	return func(i int, point string) {
		if i == n {
			panic(crashed{point: point})
		}
	}
}

// changeOnce runs change once, when the first point containing match is about to be sent.
func changeOnce(match string, change func()) func(int, string) {
	var once sync.Once
	return func(_ int, point string) {
		if strings.Contains(point, match) {
			once.Do(change)
		}
	}
}

// count runs a count(*) query on the app's database.
func count(t *testing.T, s *apptest.Server, q string) int {
	t.Helper()
	var n int
	if err := s.App.DB.SQL().QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// paymentRows counts what an accepted SEPA payment of order writes under key: its intents, the
// idempotency record, its events (payment_intent.scheduled and order.confirmed) and whether
// the order is confirmed.
type paymentRows struct {
	intents, records, events, confirmed int
}

func rowsOf(t *testing.T, s *apptest.Server, orderID, key string) paymentRows {
	t.Helper()
	return paymentRows{
		intents: count(t, s, fmt.Sprintf(`SELECT count(*) FROM payment_intents WHERE order_id = '%s'`, orderID)),
		records: count(t, s, fmt.Sprintf(`SELECT count(*) FROM idempotency_keys WHERE key = '%s'`, key)),
		events:  count(t, s, fmt.Sprintf(`SELECT count(*) FROM events WHERE CAST(data AS text) LIKE '%%%s%%'`, orderID)),
		confirmed: count(t, s, fmt.Sprintf(`SELECT count(*) FROM orders WHERE id = '%s' AND status = 'confirmed'`,
			orderID)),
	}
}

// TestSEPADebitOneCommit: an accepted SEPA payment with an Idempotency-Key is one unit of work,
// one commit, that writes the idempotency record with its answer beside the reservation, the
// intent, the order's confirmation and the events. A crash at any point of it (a fault injected
// before every statement, before the commit and after it) leaves either nothing — the retry
// with the same key runs again — or everything — the retry replays the answer.
func TestSEPADebitOneCommit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		h := &requestHook{}
		s := apptest.Start(t, bk, apptest.WithBaseClock(clock.NewManual(debitStart)),
			apptest.WithOptions(func(o *app.Options) { o.StatementHook = h.hook }))
		e := &debitEnv{s: s, center: createCenter(t, s, "81234567600017")}
		b, _ := e.eligibleBuyer(t, "812345676")

		pay := func(orderID, key, rid string, skipContract bool) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
				Body:         map[string]any{"order_id": orderID, "method": "sepa_debit"},
				Header:       map[string]string{"Idempotency-Key": key, "X-Request-Id": rid},
				SkipContract: skipContract})
		}

		// A clean payment: the points of its one unit of work.
		o := e.order(t, b, 1000)
		stop := h.watch("req-clean", nil)
		first := pay(o.ID, "key-clean", "req-clean", false).Expect(t, 201)
		points := stop()
		commits := 0
		committed := -1
		for i, p := range points {
			if p == "COMMIT" {
				commits++
			}
			if p == "COMMITTED" {
				committed = i
			}
		}
		if commits != 1 || committed != len(points)-1 {
			t.Fatalf("points of an accepted payment: %d commits, COMMITTED at %d of %d:\n%s", commits, committed, len(points),
				strings.Join(points, "\n"))
		}
		if got := rowsOf(t, s, o.ID, "key-clean"); got != (paymentRows{1, 1, 2, 1}) {
			t.Fatalf("after a clean payment: %+v", got)
		}
		replay := pay(o.ID, "key-clean", "req-clean-replay", false).Expect(t, 201)
		if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(first.Body) ||
			replay.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("replay: %s %q, first %q", replay.Header, replay.Body, first.Body)
		}
		t.Logf("%s: one accepted payment = %d statements and points in one unit of work:\n%s", bk, len(points), numbered(points))

		// Then the same payment of new orders, crashing at the first point, the second, ... until
		// a payment has fewer points than the crash's index (it then succeeds).
		outstanding := e.profile(t, b).Outstanding
		crashes := 0
		for i := 0; ; i++ {
			o := e.order(t, b, int64(100+i))
			key, rid := fmt.Sprintf("key-crash-%d", i), fmt.Sprintf("req-crash-%d", i)
			stop := h.watch(rid, crashAt(i))
			r := pay(o.ID, key, rid, true)
			seen := stop()
			if r.Status == 201 && len(seen) <= i {
				outstanding += o.Total
				break
			}
			if r.Status != 500 || len(seen) != i+1 {
				t.Fatalf("crash at %d: answered %d after %d points:\n%s", i, r.Status, len(seen), numbered(seen))
			}
			crashes++
			point := seen[i]
			got := rowsOf(t, s, o.ID, key)
			after := e.profile(t, b).Outstanding
			retry := pay(o.ID, key, rid+"-retry", false).Expect(t, 201)
			pi := decodeIntent(t, retry)
			replayed := retry.Header.Get("Idempotent-Replayed") == "true"
			if point != "COMMITTED" { // before the commit: nothing
				if got != (paymentRows{}) || after != outstanding {
					t.Fatalf("crash at %d (%s) before the commit left %+v, outstanding %d → %d; seen:\n%s\nanswer %s\nlogs %s", i, point, got, outstanding, after, numbered(seen), r.Body, strings.Join(s.LogLines("ERROR"), "\n"))
				}
				if replayed {
					t.Fatalf("crash at %d (%s): the retry replayed instead of running again", i, point)
				}
			} else { // after it: everything, and the retry replays
				if got != (paymentRows{1, 1, 2, 1}) || after != outstanding+o.Total {
					t.Fatalf("crash at %d (%s) after the commit left %+v, outstanding %d → %d", i, point, got, outstanding, after)
				}
				if !replayed {
					t.Fatalf("crash at %d (%s): the retry ran again instead of replaying", i, point)
				}
			}
			if pi.OrderID == nil || *pi.OrderID != o.ID || pi.Status != "scheduled" {
				t.Fatalf("retry after a crash at %d: %+v", i, pi)
			}
			if got := rowsOf(t, s, o.ID, key); got != (paymentRows{1, 1, 2, 1}) {
				t.Fatalf("after the retry of a crash at %d (%s): %+v", i, point, got)
			}
			outstanding += o.Total
			if p := e.profile(t, b); p.Outstanding != outstanding {
				t.Fatalf("after the retry of a crash at %d: outstanding %d, want %d", i, p.Outstanding, outstanding)
			}
		}
		// On PostgreSQL the payments after the month's first take one trip: one statement that
		// writes everything or nothing, then COMMIT and COMMITTED (3 points); SQLite's general
		// path has 16.
		if crashes < 3 {
			t.Fatalf("only %d crash points", crashes)
		}
		t.Logf("%s: %d crash points, each left nothing or everything", bk, crashes)
	})
}

// TestSEPADebitOneCommitKeyRules: the one-commit path keeps the Idempotency-Key rules — a key
// reused with another request is refused (422 idempotency_key_reused) with nothing written, a
// refusal is kept and replayed, and a key first used by a request still running answers 409.
func TestSEPADebitOneCommitKeyRules(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, _ := e.eligibleBuyer(t, "812345676")
		pay := func(orderID, key string) *apptest.Response {
			return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
				Body: map[string]any{"order_id": orderID, "method": "sepa_debit"}, Header: map[string]string{"Idempotency-Key": key}})
		}
		o1, o2 := e.order(t, b, 1000), e.order(t, b, 2000)
		pay(o1.ID, "k1").Expect(t, 201)
		// Reused for another order: refused, o2 untouched.
		pay(o2.ID, "k1").ExpectProblem(t, 422, "idempotency_key_reused")
		if got := rowsOf(t, e.s, o2.ID, "none"); got != (paymentRows{}) {
			t.Fatalf("o2 after a reused key: %+v", got)
		}
		// A refusal (over the ceiling) is kept: its retry replays it even once it would pass.
		big := e.order(t, b, 30000)
		p := pay(big.ID, "k-big").ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		again := pay(big.ID, "k-big")
		if again.Status != 409 || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry of a refusal: %d %s (first %+v)", again.Status, again.Header, p)
		}
		// The same payment with another key is refused as a paid order; with the first key it replays.
		pay(o1.ID, "k1-other").ExpectProblem(t, 409, "order_not_payable")
		r := pay(o1.ID, "k1").Expect(t, 201)
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %s", r.Header)
		}
		var pi httpapi.PaymentIntent
		r.JSON(t, &pi)
		if got := rowsOf(t, e.s, o1.ID, "k1"); got != (paymentRows{1, 1, 2, 1}) || pi.OrderID == nil || *pi.OrderID != o1.ID {
			t.Fatalf("o1: %+v, %+v", got, pi)
		}

		// Concurrent requests with one key: one payment; every answer is its 201 (replayed but
		// one) or 409 idempotency_key_in_use.
		for round := range 5 {
			o := e.order(t, b, int64(500+round))
			key := fmt.Sprintf("k-concurrent-%d", round)
			var wg sync.WaitGroup
			answers := make([]*apptest.Response, 4)
			for i := range answers {
				wg.Go(func() { answers[i] = pay(o.ID, key) })
			}
			wg.Wait()
			fresh, ids := 0, map[string]bool{}
			for _, a := range answers {
				switch a.Status {
				case 201:
					if a.Header.Get("Idempotent-Replayed") != "true" {
						fresh++
					}
					ids[decodeIntent(t, a).ID] = true
				case 409:
					a.ExpectProblem(t, 409, "idempotency_key_in_use")
				default:
					t.Fatalf("concurrent request answered %d: %s", a.Status, a.Body)
				}
			}
			if fresh != 1 || len(ids) != 1 {
				t.Fatalf("round %d: %d fresh answers, intents %v", round, fresh, ids)
			}
			if got := rowsOf(t, e.s, o.ID, key); got != (paymentRows{1, 1, 2, 1}) {
				t.Fatalf("round %d: %+v", round, got)
			}
		}
	})
}

func numbered(points []string) string {
	var b strings.Builder
	for i, p := range points {
		fmt.Fprintf(&b, "%d: %s\n", i, strings.SplitN(p, "\n", 2)[0])
	}
	return b.String()
}
