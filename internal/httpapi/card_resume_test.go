package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// faultyProvider wraps the real provider to inject faults around real calls.
type faultyProvider struct {
	psp.Provider
	mu sync.Mutex
	// beforeCharge runs before a card pay-in is asked, afterCharge after it was really created
	// (either may panic: the process dies there).
	beforeCharge func()
	afterCharge  func(p psp.PayIn)
	// intercept, when set, answers a card pay-in instead of the provider (which is not called).
	intercept func(req psp.CardPayInRequest) error
	// beforeRefund runs before a refund is really asked, afterRefund after it was.
	beforeRefund, afterRefund func()
}

func (f *faultyProvider) hooks() (func(psp.PayIn), func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.afterCharge, f.beforeRefund
}

func (f *faultyProvider) set(afterCharge func(psp.PayIn), beforeRefund func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.afterCharge, f.beforeRefund = afterCharge, beforeRefund
}

func (f *faultyProvider) CreateCardPayIn(ctx context.Context, req psp.CardPayInRequest) (psp.PayIn, error) {
	f.mu.Lock()
	before, intercept := f.beforeCharge, f.intercept
	f.mu.Unlock()
	if before != nil {
		before()
	}
	if intercept != nil {
		return psp.PayIn{}, intercept(req)
	}
	p, err := f.Provider.CreateCardPayIn(ctx, req)
	if after, _ := f.hooks(); err == nil && after != nil {
		after(p)
	}
	return p, err
}

func (f *faultyProvider) RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error) {
	if _, before := f.hooks(); before != nil {
		before()
	}
	r, err := f.Provider.RefundPayIn(ctx, req)
	f.mu.Lock()
	after := f.afterRefund
	f.mu.Unlock()
	if err == nil && after != nil {
		after()
	}
	return r, err
}

// withFaultyProvider wraps the app's provider in f.
func withFaultyProvider(f *faultyProvider) apptest.Option {
	return apptest.WithOptions(func(o *app.Options) {
		o.WrapProvider = func(p psp.Provider) psp.Provider {
			f.Provider = p
			return f
		}
	})
}

// crash simulates the process dying right after the provider charged the card: nothing after
// the charge runs in this request (the panic unwinds it; the HTTP server answers 500).
func crash(psp.PayIn) { panic("killed between the charge and the write") }

// The process dies between the charge and the write of its answer: the intent was recorded
// before the charge, and every way of reading it again resumes it to one outcome — a GET, the
// provider's notification, the same request retried with its Idempotency-Key, the periodic
// reconcile — with exactly one charge.
func TestCardCrashBetweenChargeAndWrite(t *testing.T) {
	resumers := []struct {
		name   string
		resume func(t *testing.T, e payEnv, f *faultyProvider, pi httpapi.PaymentIntent, retry func() *apptest.Response) httpapi.PaymentIntent
	}{
		{"get", func(t *testing.T, e payEnv, _ *faultyProvider, pi httpapi.PaymentIntent, _ func() *apptest.Response) httpapi.PaymentIntent {
			return e.intent(t, pi.ID)
		}},
		{"notification", func(t *testing.T, e payEnv, _ *faultyProvider, pi httpapi.PaymentIntent, _ func() *apptest.Response) httpapi.PaymentIntent {
			ev := e.fake.Events()
			e.hook(t, "PAYIN_NORMAL_SUCCEEDED", ev[len(ev)-1].ResourceID)
			return storedIntent(t, e, pi.ID)
		}},
		{"same key", func(t *testing.T, e payEnv, _ *faultyProvider, pi httpapi.PaymentIntent, retry func() *apptest.Response) httpapi.PaymentIntent {
			got := decodeIntent(t, retry().Expect(t, 201))
			if got.ID != pi.ID {
				t.Errorf("the retry answered intent %s, want the resumed %s", got.ID, pi.ID)
			}
			return got
		}},
		{"reconcile", func(t *testing.T, e payEnv, _ *faultyProvider, pi httpapi.PaymentIntent, _ func() *apptest.Response) httpapi.PaymentIntent {
			// Reconcile resumes intents left processing longer than UnsentAfter (2 minutes):
			// make this one look old.
			if _, err := e.s.App.DB.SQL().ExecContext(t.Context(), sqlFor(e.s.Backend, "UPDATE payment_intents SET updated_at = $1 WHERE id = $2"),
				time.Now().Add(-time.Hour).UTC(), pi.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.App.Payments.Reconcile(t.Context()); err != nil {
				t.Fatal(err)
			}
			return storedIntent(t, e, pi.ID)
		}},
	}
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		for _, r := range resumers {
			t.Run(r.name, func(t *testing.T) {
				f := &faultyProvider{}
				e := startPayments(t, b, withFaultyProvider(f))
				card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
				o := e.order(t, 1000)
				body := map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": returnURL}
				key := map[string]string{"Idempotency-Key": "pay-" + o.ID}
				retry := func() *apptest.Response {
					return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Body: body, Header: key})
				}
				f.set(crash, nil)
				e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Body: body, Header: key,
					SkipContract: true}).Expect(t, 500) // what the client sees of a crash: no answer at all, in truth
				f.set(nil, nil)
				if n := e.fake.Created("payins"); n != 1 {
					t.Fatalf("pay-ins = %d, want the one charged before the crash", n)
				}
				list := e.intents(t, o.ID)
				if len(list) != 1 || list[0].Status != "processing" {
					t.Fatalf("intents after the crash = %+v, want one processing intent", list)
				}
				got := r.resume(t, e, f, list[0], retry)
				if got.Status != "succeeded" {
					t.Errorf("resumed intent = %+v, want succeeded", got)
				}
				if o := getOrder(t, e.s, e.token, o.ID); o.Status != "confirmed" {
					t.Errorf("order = %s, want confirmed", o.Status)
				}
				// Asked again, in every way: still one charge, no refund.
				retry().Expect(t, 201)
				e.intent(t, got.ID)
				if _, err := e.s.App.Payments.Reconcile(t.Context()); err != nil {
					t.Fatal(err)
				}
				if n, r := e.fake.Created("payins"), e.fake.Created("refunds"); n != 1 || r != 0 {
					t.Errorf("pay-ins = %d, refunds = %d; want 1 and 0", n, r)
				}
			})
		}
	})
}

// The process dies after recording the intent and before asking for the charge: the same
// request retried with its key charges with the intent's own key (once); otherwise the intent is
// canceled once it has waited two minutes with no pay-in at the provider, and the order can be
// paid again.
func TestCardCrashBeforeCharge(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		clk := clock.NewManual(time.Now())
		f := &faultyProvider{}
		e := startPayments(t, b, withFaultyProvider(f), apptest.WithBaseClock(clk))
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		crashing := func(t *testing.T, orderID string, key map[string]string) httpapi.PaymentIntent {
			t.Helper()
			f.mu.Lock()
			f.beforeCharge = func() { panic("killed before the charge") }
			f.mu.Unlock()
			e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Header: key, SkipContract: true,
				Body: map[string]any{"order_id": orderID, "method": "card", "card_id": card, "return_url": returnURL}}).Expect(t, 500)
			f.mu.Lock()
			f.beforeCharge = nil
			f.mu.Unlock()
			list := e.intents(t, orderID)
			if len(list) != 1 || list[0].Status != "processing" {
				t.Fatalf("intents after the crash = %+v", list)
			}
			return list[0]
		}

		// Retried with the same key: charged with the intent's own key, once.
		o := e.order(t, 1000)
		key := map[string]string{"Idempotency-Key": "pay-" + o.ID}
		pi := crashing(t, o.ID, key)
		got := decodeIntent(t, e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.token, Header: key,
			Body: map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": returnURL}}).Expect(t, 201))
		if got.ID != pi.ID || got.Status != "succeeded" {
			t.Errorf("retry = %+v, want intent %s succeeded", got, pi.ID)
		}
		if n := e.fake.Created("payins"); n != 1 {
			t.Errorf("pay-ins = %d, want 1", n)
		}

		// Left alone: still processing for two minutes (its request may still be running), then
		// canceled; the order is paid anew.
		o2 := e.order(t, 2000)
		pi2 := crashing(t, o2.ID, nil)
		if got := e.intent(t, pi2.ID); got.Status != "processing" {
			t.Errorf("intent within two minutes = %+v, want processing", got)
		}
		e.pay(t, e.token, o2.ID, card).ExpectProblem(t, 409, "order_not_payable")
		clk.Advance(3 * time.Minute)
		if n, err := e.s.App.Payments.ResumeUnsent(t.Context()); err != nil || n != 1 {
			t.Fatalf("ResumeUnsent = %d, %v", n, err)
		}
		if got := e.intent(t, pi2.ID); got.Status != "canceled" {
			t.Errorf("intent after two minutes = %+v, want canceled", got)
		}
		if got := decodeIntent(t, e.pay(t, e.token, o2.ID, card).Expect(t, 201)); got.Status != "succeeded" {
			t.Errorf("paid anew = %+v", got)
		}
		if n := e.fake.Created("payins"); n != 2 {
			t.Errorf("pay-ins = %d, want 2 (one per order)", n)
		}
	})
}

// The provider takes the charge so late that vhupay, finding no pay-in for the intent's key, has
// canceled the intent (its answer 502): the charge that shows up then, matched by its tag, is
// refunded once — by the notification, and the sweep finds nothing more to do.
func TestLateChargeOfACanceledIntentIsRefunded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := &faultyProvider{}
		e := startPayments(t, b, withFaultyProvider(f))
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		o := e.order(t, 385)
		var late psp.CardPayInRequest
		f.mu.Lock()
		f.intercept = func(req psp.CardPayInRequest) error { late = req; return psp.ErrUnavailable } // not received (yet)
		f.mu.Unlock()
		e.pay(t, e.token, o.ID, card).ExpectProblem(t, 502, "psp_unavailable")
		f.mu.Lock()
		f.intercept = nil
		f.mu.Unlock()
		list := e.intents(t, o.ID)
		if len(list) != 1 || list[0].Status != "canceled" {
			t.Fatalf("intents = %+v, want one canceled", list)
		}
		// The provider now processes the request it had received.
		p, err := f.Provider.CreateCardPayIn(t.Context(), late)
		if err != nil || p.Status != psp.PayInSucceeded || p.Tag != list[0].ID {
			t.Fatalf("late charge = %+v, %v", p, err)
		}
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", p.ID)
		if refund, err := storage.NewPayments(e.s.App.DB).RefundOf(t.Context(), list[0].ID); err != nil || refund == "" {
			t.Errorf("refund of the late charge = %q, %v", refund, err)
		}
		if got, err := e.s.App.Payments.SweepPayIns(t.Context()); err != nil || got != 0 {
			t.Errorf("SweepPayIns = %d, %v; want nothing more", got, err)
		}
		if n := e.fake.Created("refunds"); n != 1 {
			t.Errorf("refunds = %d, want 1", n)
		}
		if got := getOrder(t, e.s, e.token, o.ID); got.Status != "payment_pending" {
			t.Errorf("order = %s, want payment_pending", got.Status)
		}
	})
}

// The provider's answer is lost (every attempt times out, the pay-in is created anyway): the
// pay-in is found by the intent's key at once and the payment answers with its outcome.
func TestCardChargeAnswerLost(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		o := e.order(t, 1000)
		e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Delay: 5 * time.Second})
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		e.fake.ClearFaults()
		if pi.Status != "succeeded" {
			t.Fatalf("intent = %+v, want succeeded", pi)
		}
		if n := e.fake.Created("payins"); n != 1 {
			t.Errorf("pay-ins = %d, want 1", n)
		}
		if o := getOrder(t, e.s, e.token, o.ID); o.Status != "confirmed" {
			t.Errorf("order = %s, want confirmed", o.Status)
		}
	})
}

// A succeeded pay-in that no intent keeps (charged by an older build that wrote the intent
// after the charge, say) is found by the reconcile sweep and refunded once, counted and logged;
// on the MangoPay fake and on the sandbox.
func TestSweepRefundsOrphanPayIns(t *testing.T) {
	orphan := func(t *testing.T, a *app.App, buyerID, cardID, tag string, amount int64) psp.PayIn {
		t.Helper()
		payer, err := a.Payers.Ensure(t.Context(), buyerID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := storage.NewPayments(a.DB).Card(t.Context(), cardID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := a.Provider.CreateCardPayIn(t.Context(), psp.CardPayInRequest{IdempotencyKey: "orphan-" + tag, AuthorID: payer.UserID,
			CreditedWalletID: payer.WalletID, CardID: c.ProviderID, Amount: amount, SecureModeReturnURL: "https://shop.example/r",
			BrowserInfo: payments.DefaultBrowserInfo, IPAddress: "203.0.113.7", Tag: tag})
		if err != nil || p.Status != psp.PayInSucceeded {
			t.Fatalf("orphan pay-in = %+v, %v", p, err)
		}
		return p
	}
	check := func(t *testing.T, e payEnv, p psp.PayIn, refunds func() int) {
		t.Helper()
		got, err := e.s.App.Payments.Reconcile(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got.OrphansRefunds != 1 {
			t.Errorf("Reconcile = %+v, want one orphan refunded", got)
		}
		if n := refunds(); n != 1 {
			t.Errorf("refunds = %d, want 1", n)
		}
		if swept, ok, err := storage.NewPayments(e.s.App.DB).SweptPayIn(t.Context(), p.ID); err != nil || !ok ||
			swept.Outcome != payments.SweptOrphanRefunded || swept.RefundID == "" || swept.Amount != p.Amount {
			t.Errorf("orphan refund recorded = %+v, %v, %v", swept, ok, err)
		}
		again, err := e.s.App.Payments.Reconcile(t.Context())
		if err != nil || again.OrphansRefunds != 0 || refunds() != 1 {
			t.Errorf("second Reconcile = %+v, %v, refunds %d; want nothing more", again, err, refunds())
		}
		if body := metrics(t, e.s); !containsLine(body, "vhupay_orphan_payins_refunded_total 1") {
			t.Errorf("metrics lack the orphan counter:\n%s", body)
		}
	}
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		t.Run("mangopay", func(t *testing.T) {
			e := startPayments(t, b)
			card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
			// A paid order of its own is left alone.
			paid := decodeIntent(t, e.pay(t, e.token, e.order(t, 2000).ID, card).Expect(t, 201))
			p := orphan(t, e.s.App, e.buyer.ID, card, "pi_unknown", 385)
			check(t, e, p, func() int { return e.fake.Created("refunds") })
			if got := e.intent(t, paid.ID); got.Status != "succeeded" {
				t.Errorf("the paid intent = %+v", got)
			}
		})
		t.Run("sandbox", func(t *testing.T) {
			s := apptest.Start(t, b)
			buyer := createBuyer(t, s, "812345676")
			center := createCenter(t, s, "81234567600017")
			e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, "buyer", buyer.ID)}
			card := e.registerCard(t, e.token, "4970107111111119")
			p := orphan(t, s.App, buyer.ID, card, "pi_unknown", 385)
			check(t, e, p, func() int {
				var n int
				if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT count(*) FROM sandbox_refunds").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			})
		})
	})
}

// The database connections drop while a pay-in nobody may keep is being refunded (the
// compensation: the buyer finished 3-D Secure after the intent expired): the retry job, the
// refund or its record may be lost, but the reconcile sweep finds the pay-in again and ends with
// exactly one refund, recorded.
func TestCompensationSurvivesADroppedConnection(t *testing.T) {
	storagetest.URL(t, storagetest.Postgres) // PostgreSQL only (pg_terminate_backend); skips without it
	clk := clock.NewManual(time.Now())
	f := &faultyProvider{}
	e := startPayments(t, storagetest.Postgres, withFaultyProvider(f), apptest.WithBaseClock(clk))
	card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
	o := e.order(t, 385)
	pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
	clk.Advance(31 * time.Minute)
	if n, err := e.s.App.Payments.ExpireStale(t.Context()); err != nil || n != 1 {
		t.Fatalf("ExpireStale = %d, %v", n, err)
	}
	if err := e.fake.CompleteSecureMode(payInOf(t, pi)); err != nil {
		t.Fatal(err)
	}
	// Right after the provider refunded, the row the refund is recorded on is locked and the
	// connection that waits on it is terminated (pg_terminate_backend): the record is lost.
	var dropped atomic.Int32
	killed := make(chan (<-chan int), 1)
	f.mu.Lock()
	f.afterRefund = func() {
		if dropped.Add(1) == 1 {
			killed <- dropWaitingConnection(t, e.s.App.DB, pi.ID)
		}
	}
	f.mu.Unlock()
	// The notification comes: the expired intent cannot keep the money, the compensation runs.
	if err := e.s.App.Notifications.Apply(t.Context(), psp.Notification{Kind: psp.ResourcePayIn, ResourceID: payInOf(t, pi), Event: "PAYIN_NORMAL_SUCCEEDED"}); err != nil {
		t.Logf("apply: %v", err)
	}
	if dropped.Load() == 0 {
		t.Fatal("no refund was asked")
	}
	if n := <-<-killed; n == 0 {
		t.Fatal("no connection was dropped during the compensation")
	}
	if refund, err := storage.NewPayments(e.s.App.DB).RefundOf(t.Context(), pi.ID); err != nil || refund != "" {
		t.Logf("refund recorded right after the drop: %q, %v", refund, err)
	}
	f.mu.Lock()
	f.afterRefund = nil
	f.mu.Unlock()
	// Whatever was lost, the sweep ends it: one refund at the provider, recorded on the intent.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.s.App.Payments.Reconcile(t.Context())
		refund, rerr := storage.NewPayments(e.s.App.DB).RefundOf(t.Context(), pi.ID)
		if err == nil && rerr == nil && refund != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund not recorded: %v, %v", err, rerr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := e.fake.Created("refunds"); n != 1 {
		t.Errorf("refunds = %d, want 1", n)
	}
	if got := storedIntent(t, e, pi.ID); got.Status != "canceled" {
		t.Errorf("intent = %+v, want canceled", got)
	}
}

// dropWaitingConnection locks the intent's row and returns at once; in the background it
// terminates (pg_terminate_backend) the connection whose statement then waits on that lock,
// releases the lock and sends how many connections it terminated.
func dropWaitingConnection(t *testing.T, db *storage.DB, intentID string) <-chan int {
	out := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err == nil {
		if _, err = tx.ExecContext(ctx, "SELECT 1 FROM payment_intents WHERE id = $1 FOR UPDATE", intentID); err != nil {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		t.Error(err)
		cancel()
		out <- 0
		return out
	}
	go func() {
		defer cancel()
		n := 0
		for ctx.Err() == nil {
			err := db.SQL().QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%provider_refund_id%'`).Scan(&n)
			if err == nil && n > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_ = tx.Rollback()
		out <- n
	}()
	return out
}

// storedIntent reads an intent as stored (no refresh).
func storedIntent(t *testing.T, e payEnv, id string) httpapi.PaymentIntent {
	t.Helper()
	pi, err := storage.NewPayments(e.s.App.DB).Intent(t.Context(), id)
	if errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("intent %s not stored", id)
	}
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.PaymentIntent{ID: pi.ID, Status: string(pi.Status)}
}

func sqlFor(b storagetest.Backend, q string) string {
	if b == storagetest.Postgres {
		return q
	}
	out := []byte{}
	for i := 0; i < len(q); i++ {
		if q[i] == '$' {
			out = append(out, '?')
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

// metrics reads the /metrics page.
func metrics(t *testing.T, s *apptest.Server) string {
	t.Helper()
	return string(s.Do(t, apptest.Request{Method: "GET", Path: "/metrics", SkipContract: true}).Expect(t, 200).Body)
}

func containsLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
