package storage_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
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
