package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// fakeRefunder gives transfers back and refunds pay-ins; a pay-in refund of an amount in refuse
// is refused (as a card payment older than 11 months is).
type fakeRefunder struct {
	mu      sync.Mutex
	refuse  map[int64]bool
	payIns  atomic.Int32
	byKey   map[string]psp.Refund
	counter int
}

func (f *fakeRefunder) answer(key string, r psp.Refund) psp.Refund {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKey == nil {
		f.byKey = map[string]psp.Refund{}
	}
	if got, ok := f.byKey[key]; ok {
		return got
	}
	f.counter++
	r.ID = "refund_" + key
	f.byKey[key] = r
	return r
}

func (f *fakeRefunder) RefundTransfer(ctx context.Context, req psp.TransferRefundRequest) (psp.Refund, error) {
	return f.answer(req.IdempotencyKey, psp.Refund{InitialKind: psp.RefundOfTransfer, Status: psp.RefundSucceeded, Amount: req.Amount}), nil
}

func (f *fakeRefunder) RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error) {
	f.payIns.Add(1)
	f.mu.Lock()
	refused := f.refuse[req.Amount]
	f.mu.Unlock()
	if refused {
		return f.answer(req.IdempotencyKey, psp.Refund{Status: psp.RefundFailed, ResultCode: "001403", Amount: req.Amount}), nil
	}
	return f.answer(req.IdempotencyKey, psp.Refund{Status: psp.RefundSucceeded, ResultCode: "000000", Amount: req.Amount}), nil
}

func (f *fakeRefunder) GetRefund(ctx context.Context, id string) (psp.Refund, error) {
	return psp.Refund{}, psp.ErrNotFound
}

type fakePayers struct{}

func (fakePayers) Ensure(ctx context.Context, buyerID string) (payers.Payer, error) {
	return payers.Payer{BuyerID: buyerID, UserID: "user_" + buyerID, WalletID: "wallet_" + buyerID}, nil
}

func refundService(db *storage.DB, p refunds.Provider) *refunds.Service {
	return refunds.NewService(refunds.Config{Store: storage.NewRefunds(db), Provider: p, Payers: fakePayers{}, Clock: clock.NewManual(t0)})
}

var admin = auth.Principal{Subject: "ops", Role: auth.RoleAdmin}

// finishTransfers marks the centres' pending transfers made at the provider.
func finishTransfers(t *testing.T, db *storage.DB) {
	t.Helper()
	ctx := context.Background()
	store := storage.NewCenterTransfers(db)
	pending, err := store.PendingTransfers(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range pending {
		tr.Status, tr.ProviderTransferID, tr.UpdatedAt = balances.TransferSucceeded, "transfer_"+tr.ID, t0
		if _, err := store.FinishTransfer(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentRefunds: parallel refunds of one payment never refund more than it, and each one
// is asked of the provider once however often it is advanced.
func TestConcurrentRefunds(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		o := w.order(w.buyers[0], w.centers[1], 10000) // 120.00 EUR
		pi := w.pay(o, payments.MethodCard, "")
		finishTransfers(t, w.db)
		provider := &fakeRefunder{}
		svc := refundService(w.db, provider)
		var ok, exceeded atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				amount := int64(3000)
				_, err := svc.Create(ctx, admin, refunds.CreateInput{PaymentIntentID: pi.ID, Amount: &amount, Reason: refunds.ReasonOther})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, refunds.ErrExceedsPayment):
					exceeded.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 4 || exceeded.Load() != 6 {
			t.Fatalf("%d refunds made, %d refused, want 4 and 6", ok.Load(), exceeded.Load())
		}
		got, err := storage.NewPayments(w.db).Intent(ctx, pi.ID)
		if err != nil || got.AmountRefunded != 12000 {
			t.Fatalf("intent = %+v, %v", got, err)
		}
		// Advanced again (the periodic job, several processes): nothing is refunded twice.
		for range 3 {
			if _, err := svc.ProcessDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := provider.payIns.Load(); n != 4 {
			t.Errorf("pay-in refunds asked %d times, want 4", n)
		}
		w.expected[w.centers[1]] = 0 // earned 114.00, all given back
		w.check("after the refunds")
		order, err := storage.NewOrders(w.db).Order(ctx, o.ID)
		if err != nil || order.Status != "refunded" || order.AmountRefunded != 12000 {
			t.Errorf("order = %+v, %v", order, err)
		}
	})
}

// TestRefundRacingTheMonthClose: refunds of scheduled SEPA payments made while the month's
// collections are created either lower the collection (stage lowered, the intent collected for
// less or not at all) or are refunded after it (stage awaiting_collection, the intent collected
// in full): never both, never neither. Each collection debits exactly its intents less what was
// lowered of them.
func TestRefundRacingTheMonthClose(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		clk := clock.NewManual(t0)
		svc := refunds.NewService(refunds.Config{Store: storage.NewRefunds(w.db), Provider: &fakeRefunder{}, Payers: fakePayers{}, Clock: clk})
		cols := storage.NewCollections(w.db)
		for round := range 3 {
			month := fmt.Sprintf("2027-%02d", round+1)
			var intents []payments.Intent
			for _, buyer := range w.buyers {
				for range 5 {
					o := w.order(buyer, w.centers[0], 10000)
					intents = append(intents, w.pay(o, payments.MethodSEPADebit, month))
				}
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, pi := range intents {
				wg.Go(func() {
					<-start
					amount := int64(1000 * (1 + i%4))
					if i%3 == 0 {
						amount = pi.Amount // a full refund
					}
					if _, err := svc.Create(ctx, admin, refunds.CreateInput{PaymentIntentID: pi.ID, Amount: &amount, Reason: refunds.ReasonOther}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Go(func() {
				<-start
				if _, err := cols.CreateMonth(ctx, month, t0); err != nil {
					t.Error(err)
				}
			})
			close(start)
			wg.Wait()

			var lowered, waiting int
			for _, pi := range intents {
				page, err := storage.NewRefunds(w.db).Refunds(ctx, refunds.Filter{PaymentIntentID: pi.ID}, pageOf(10))
				if err != nil || len(page.Items) != 1 {
					t.Fatalf("refunds of %s: %+v, %v", pi.ID, page.Items, err)
				}
				switch r := page.Items[0]; {
				case r.Stage == refunds.StageLowered && r.Status == refunds.StatusSucceeded:
					lowered++
				case r.Stage == refunds.StageAwaitingCollection && r.Status == refunds.StatusPending:
					waiting++
				default:
					t.Errorf("refund %+v is neither lowered nor waiting for the collection", r)
				}
			}
			var bad int
			if err := w.db.SQL().QueryRow(dollars(w.db, `SELECT COUNT(*) FROM sepa_collections c WHERE c.month = ? AND c.amount <>
				(SELECT COALESCE(SUM(i.amount - COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_intent_id = i.id AND r.stage = 'lowered'), 0)), 0)
				 FROM payment_intents i WHERE i.collection_id = c.id)`), month).Scan(&bad); err != nil || bad != 0 {
				t.Errorf("round %d: %d collections do not debit their intents less what was lowered (%v)", round, bad, err)
			}
			var stray int
			if err := w.db.SQL().QueryRow(dollars(w.db, `SELECT COUNT(*) FROM payment_intents i WHERE i.collection_month = ? AND
				((i.collection_id IS NULL AND i.amount_refunded < i.amount) OR
				 (i.collection_id IS NOT NULL AND EXISTS (SELECT 1 FROM refunds r WHERE r.payment_intent_id = i.id AND r.stage = 'lowered' AND r.amount = i.amount)))`),
				month).Scan(&stray); err != nil || stray != 0 {
				t.Errorf("round %d: %d intents left out of the collection while not fully refunded, or collected while fully lowered (%v)", round, stray, err)
			}
			t.Logf("round %d: %d lowered, %d refunded after the collection", round, lowered, waiting)

			// The collections are debited (round 1: they fail); the refunds that waited are made
			// from the 8th day after the debit (or fail with the collection).
			subs, err := cols.PendingSubmissions(ctx, month, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range subs {
				col := sub.Collection
				if _, err := cols.MarkSubmitted(ctx, col.ID, "payin_"+col.ID, "", clk.Now()); err != nil {
					t.Fatal(err)
				}
				if round == 1 {
					_, err = cols.Fail(ctx, collections.Failure{CollectionID: col.ID, Code: "insufficient_funds", Message: "unpaid", At: clk.Now()})
				} else {
					_, err = cols.Succeed(ctx, col.ID, clk.Now())
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			finishTransfers(t, w.db)
			if _, err := svc.ProcessDue(ctx); err != nil {
				t.Fatal(err)
			}
			clk.Advance(refunds.SEPARefundDelay + time.Hour)
			for range 3 { // the first round posts them and finds them due on the 8th day
				if _, err := svc.ProcessDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			want := refunds.StatusSucceeded
			if round == 1 {
				want = refunds.StatusFailed
			}
			for _, pi := range intents {
				page, err := storage.NewRefunds(w.db).Refunds(ctx, refunds.Filter{PaymentIntentID: pi.ID}, pageOf(10))
				if err != nil {
					t.Fatal(err)
				}
				if r := page.Items[0]; r.Stage != refunds.StageLowered && (r.Status != want || (want == refunds.StatusFailed && r.FailureCode != refunds.FailureCollectionFailed)) {
					t.Errorf("round %d: refund after the collection = %+v, want %s", round, r, want)
				}
			}
			tb, err := storage.NewBalances(w.db).TrialBalance(ctx)
			if err != nil || tb.Total != 0 {
				t.Errorf("trial balance %+v, %v", tb, err)
			}
		}
	})
}

// dollars numbers the ? placeholders for PostgreSQL.
func dollars(db *storage.DB, q string) string {
	if db.Dialect() != storage.Postgres {
		return q
	}
	var out strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&out, "$%d", n)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}
