package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/id"
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
				 FROM payment_intents i JOIN sepa_collection_intents l ON l.intent_id = i.id WHERE l.collection_id = c.id)`), month).Scan(&bad); err != nil || bad != 0 {
				t.Errorf("round %d: %d collections do not debit their intents less what was lowered (%v)", round, bad, err)
			}
			var stray int
			if err := w.db.SQL().QueryRow(dollars(w.db, `SELECT COUNT(*) FROM payment_intents i WHERE i.collection_month = ? AND
				((NOT EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = i.id) AND i.amount_refunded < i.amount) OR
				 (EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = i.id) AND EXISTS (SELECT 1 FROM refunds r WHERE r.payment_intent_id = i.id AND r.stage = 'lowered' AND r.amount = i.amount)))`),
				month).Scan(&stray); err != nil || stray != 0 {
				t.Errorf("round %d: %d intents left out of the collection while not fully refunded, or collected while fully lowered (%v)", round, stray, err)
			}
			t.Logf("round %d: %d lowered, %d refunded after the collection", round, lowered, waiting)

			// The collections are debited (round 1: they fail); the refunds that waited are made
			// from the 8th day after the debit (or fail with the collection).
			if _, _, err := cols.Prenotify(ctx, month, "", collections.Prenotice{DueDate: clk.Now(), CreditorID: "FR72ZZZ123456", At: clk.Now()}, 10); err != nil {
				t.Fatal(err)
			}
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

// TestRefundAndCloseLockOrder (PostgreSQL) runs both orders of a refund of a scheduled SEPA
// payment and the month's collection creation, each held open at the point where the other must
// wait for it:
//   - the refund first: a transaction has locked the intent and lowered it (as LowerScheduled
//     does) and not committed; the close waits for it, then reads the lowered amount;
//   - the close first: it has linked the intent (its transaction held open at its ANALYZE by a
//     conflicting table lock); the refund waits for it at its lock of the intent, then finds the
//     link and is refunded after the collection, which debits the payment in full.
func TestRefundAndCloseLockOrder(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		if b != storagetest.Postgres {
			t.Skip("SQLite serialises write transactions: there is no interleaving to order")
		}
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		sqldb := w.db.SQL()
		cols := storage.NewCollections(w.db)
		svc := refunds.NewService(refunds.Config{Store: storage.NewRefunds(w.db), Provider: &fakeRefunder{}, Payers: fakePayers{}, Clock: clock.NewManual(t0)})
		// waitFor waits until a backend running a statement containing text waits for a lock.
		waitFor := func(text string) {
			t.Helper()
			for range 500 {
				var n int
				if err := sqldb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`, text).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			rows, _ := sqldb.QueryContext(ctx, `SELECT COALESCE(wait_event_type, ''), state, query FROM pg_stat_activity WHERE datname = current_database()`)
			for rows != nil && rows.Next() {
				var a, b, c string
				_ = rows.Scan(&a, &b, &c)
				t.Logf("%s %s %s", a, b, c)
			}
			t.Fatalf("no statement with %q waits for a lock", text)
		}
		collectionOf := func(buyer, month string) (amount int64, linked int) {
			t.Helper()
			if err := sqldb.QueryRowContext(ctx, `SELECT c.amount, (SELECT COUNT(*) FROM sepa_collection_intents l WHERE l.collection_id = c.id)
				FROM sepa_collections c WHERE c.buyer_id = $1 AND c.month = $2`, buyer, month).Scan(&amount, &linked); err != nil {
				t.Fatal(err)
			}
			return amount, linked
		}

		t.Run("refund first", func(t *testing.T) {
			month := "2027-05"
			o := w.order(w.buyers[0], w.centers[0], 10000)
			pi := w.pay(o, payments.MethodSEPADebit, month)
			tx, err := sqldb.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM payment_intents WHERE id = $1 FOR NO KEY UPDATE`, pi.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE payment_intents SET amount_refunded = amount_refunded + 2500 WHERE id = $1`, pi.ID); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := cols.CreateMonth(ctx, month, t0); done <- err }()
			waitFor("FOR SHARE OF i")
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if amount, linked := collectionOf(pi.BuyerID, month); amount != pi.Amount-2500 || linked != 1 {
				t.Errorf("collection debits %d for %d intents, want %d for 1 (the lowered amount)", amount, linked, pi.Amount-2500)
			}
		})

		t.Run("close first", func(t *testing.T) {
			month := "2027-06"
			o := w.order(w.buyers[1], w.centers[0], 10000)
			pi := w.pay(o, payments.MethodSEPADebit, month)
			hold, err := sqldb.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer hold.Rollback()
			// ANALYZE, the close's statement after its links, waits for this lock; the insert of
			// the links does not.
			if _, err := hold.ExecContext(ctx, `LOCK TABLE sepa_collection_intents IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			go func() { _, err := cols.CreateMonth(ctx, month, t0); closed <- err }()
			waitFor("ANALYZE sepa_collections")
			refunded := make(chan error, 1)
			amount := int64(2500)
			go func() {
				_, err := svc.Create(ctx, admin, refunds.CreateInput{PaymentIntentID: pi.ID, Amount: &amount, Reason: refunds.ReasonOther})
				refunded <- err
			}()
			waitFor("UPDATE payment_intents") // the refund's lock of the intent (refunds.Tx.LockPayment)
			if err := hold.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-closed; err != nil {
				t.Fatal(err)
			}
			if err := <-refunded; err != nil {
				t.Fatal(err)
			}
			page, err := storage.NewRefunds(w.db).Refunds(ctx, refunds.Filter{PaymentIntentID: pi.ID}, pageOf(10))
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("refunds: %+v, %v", page.Items, err)
			}
			if r := page.Items[0]; r.Stage != refunds.StageAwaitingCollection || r.Status != refunds.StatusPending {
				t.Errorf("refund %+v, want pending, awaiting the collection", r)
			}
			if amount, linked := collectionOf(pi.BuyerID, month); amount != pi.Amount || linked != 1 {
				t.Errorf("collection debits %d for %d intents, want %d for 1 (the payment in full)", amount, linked, pi.Amount)
			}
		})
	})
}

// TestCreateMonthLinksAndResumes: the month's collections debit their buyers' scheduled SEPA
// payments (one link each, none for a payment refunded in full); run again after a payment of the
// month became collectable, a pending collection takes it and its amount, a submitted one does
// not (the payment is left out, stranded), and no other collection is made; a third run changes
// nothing. Both databases.
func TestCreateMonthLinksAndResumes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		cols := storage.NewCollections(w.db)
		sqldb := w.db.SQL()
		const month = "2027-03"
		a, bb := w.buyers[0], w.buyers[1]
		pa1 := w.pay(w.order(a, w.centers[0], 10000), payments.MethodSEPADebit, month)
		pa2 := w.pay(w.order(a, w.centers[0], 20000), payments.MethodSEPADebit, month)
		refunded := w.pay(w.order(a, w.centers[0], 5000), payments.MethodSEPADebit, month)
		pb1 := w.pay(w.order(bb, w.centers[0], 30000), payments.MethodSEPADebit, month)
		w.pay(w.order(bb, w.centers[0], 40000), payments.MethodSEPADebit, "2027-04") // another month
		if _, err := sqldb.ExecContext(ctx, numbered(w.db, `UPDATE payment_intents SET amount_refunded = amount WHERE id = $1`), refunded.ID); err != nil {
			t.Fatal(err)
		}
		type state struct {
			Count   int
			Amounts map[string]int64
			Links   map[string][]string
		}
		read := func() state {
			t.Helper()
			st := state{Amounts: map[string]int64{}, Links: map[string][]string{}}
			rows, err := sqldb.QueryContext(ctx, numbered(w.db, `SELECT c.buyer_id, c.amount, COALESCE(l.intent_id, '') FROM sepa_collections c
				LEFT JOIN sepa_collection_intents l ON l.collection_id = c.id WHERE c.month = $1 ORDER BY c.buyer_id, l.intent_id`), month)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := map[string]bool{}
			for rows.Next() {
				var buyer, intent string
				var amount int64
				if err := rows.Scan(&buyer, &amount, &intent); err != nil {
					t.Fatal(err)
				}
				if !seen[buyer] {
					seen[buyer] = true
					st.Count++
				}
				st.Amounts[buyer] = amount
				st.Links[buyer] = append(st.Links[buyer], intent)
			}
			return st
		}
		sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
		if n, err := cols.CreateMonth(ctx, month, t0); err != nil || n != 2 {
			t.Fatalf("CreateMonth = %d, %v; want 2", n, err)
		}
		want := state{Count: 2, Amounts: map[string]int64{a: pa1.Amount + pa2.Amount, bb: pb1.Amount},
			Links: map[string][]string{a: sorted(pa1.ID, pa2.ID), bb: {pb1.ID}}}
		if got := read(); !reflect.DeepEqual(got, want) {
			t.Fatalf("first run: %+v, want %+v", got, want)
		}

		// b's collection is submitted; a payment of each buyer becomes collectable.
		if _, err := sqldb.ExecContext(ctx, numbered(w.db, `UPDATE sepa_collections SET status = 'submitted', provider_payin_id = 'payin_b' WHERE buyer_id = $1`), bb); err != nil {
			t.Fatal(err)
		}
		pa3 := w.pay(w.order(a, w.centers[0], 7000), payments.MethodSEPADebit, month)
		pb2 := w.pay(w.order(bb, w.centers[0], 8000), payments.MethodSEPADebit, month)
		for run := 2; run <= 3; run++ {
			if n, err := cols.CreateMonth(ctx, month, t0); err != nil || n != 2 {
				t.Fatalf("run %d: CreateMonth = %d, %v; want 2", run, n, err)
			}
			want.Amounts[a] = pa1.Amount + pa2.Amount + pa3.Amount
			want.Links[a] = sorted(pa1.ID, pa2.ID, pa3.ID)
			if got := read(); !reflect.DeepEqual(got, want) {
				t.Fatalf("run %d: %+v, want %+v", run, got, want)
			}
		}
		var linked int
		if err := sqldb.QueryRowContext(ctx, numbered(w.db, `SELECT COUNT(*) FROM sepa_collection_intents WHERE intent_id IN ($1, $2)`),
			pb2.ID, refunded.ID).Scan(&linked); err != nil || linked != 0 {
			t.Errorf("the submitted collection's late payment or the refunded one linked: %d, %v", linked, err)
		}
	})
}

// TestCreateMonthOrdersCollectionsByBuyer: a month's collections are identifiers shaped as
// id.New's that sort as their buyers do, whatever the order of the payments, so that the close's
// batches (taken in collection order) read neighbouring buyers' rows. Three months, each paid in
// another buyer order. Both databases.
func TestCreateMonthOrdersCollectionsByBuyer(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		cols := storage.NewCollections(w.db)
		orders := [][]int{{2, 1, 0}, {1, 2, 0}, {0, 2, 1}}
		for m, order := range orders {
			month := fmt.Sprintf("2027-0%d", m+3)
			for _, i := range order {
				w.pay(w.order(w.buyers[i], w.centers[0], int64(1000*(i+1))), payments.MethodSEPADebit, month)
			}
			if n, err := cols.CreateMonth(ctx, month, t0); err != nil || n != 3 {
				t.Fatalf("%s: CreateMonth = %d, %v; want 3", month, n, err)
			}
			ids, buyers := monthCollections(t, w, month)
			for _, colID := range ids {
				if !id.HasPrefix(colID, id.Collection) {
					t.Errorf("%s: collection id %q is not shaped as id.New's", month, colID)
				}
			}
			if !slices.IsSorted(buyers) || len(buyers) != 3 {
				t.Errorf("%s: buyers in collection order %v, want them sorted", month, buyers)
			}
		}
	})
}

// TestPrenotifyBatchesAfter: the pre-notification takes its batches in id order after the last
// one (a cursor, so that no batch steps over the collections pre-notified before it), says the
// last id it took, and "" once none is left; from the start again it finds none. Both databases.
func TestPrenotifyBatchesAfter(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		w := newLedgerWorld(t, storagetest.Open(t, b))
		cols := storage.NewCollections(w.db)
		const month = "2027-03"
		for i := range w.buyers {
			w.pay(w.order(w.buyers[i], w.centers[0], 1000), payments.MethodSEPADebit, month)
		}
		if n, err := cols.CreateMonth(ctx, month, t0); err != nil || n != 3 {
			t.Fatalf("CreateMonth = %d, %v; want 3", n, err)
		}
		ids, _ := monthCollections(t, w, month)
		n := collections.Prenotice{DueDate: t0, CreditorID: "FR72ZZZ123456", At: t0}
		for _, c := range []struct {
			after    string
			wantDone int
			wantLast string
		}{
			{"", 2, ids[1]},
			{ids[1], 1, ids[2]},
			{ids[2], 0, ""},
			{"", 0, ""},
		} {
			done, last, err := cols.Prenotify(ctx, month, c.after, n, 2)
			if err != nil || done != c.wantDone || last != c.wantLast {
				t.Errorf("Prenotify after %q = %d, %q, %v; want %d, %q", c.after, done, last, err, c.wantDone, c.wantLast)
			}
		}
		var left int
		if err := w.db.SQL().QueryRowContext(ctx, numbered(w.db, `SELECT COUNT(*) FROM sepa_collections WHERE month = $1 AND prenotified_at IS NULL`), month).Scan(&left); err != nil || left != 0 {
			t.Errorf("collections not pre-notified: %d, %v", left, err)
		}
	})
}

// monthCollections returns the ids of month's collections in id order, and their buyers.
func monthCollections(t *testing.T, w *ledgerWorld, month string) (ids, buyers []string) {
	t.Helper()
	rows, err := w.db.SQL().QueryContext(context.Background(),
		numbered(w.db, `SELECT id, buyer_id FROM sepa_collections WHERE month = $1 ORDER BY id`), month)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var colID, buyer string
		if err := rows.Scan(&colID, &buyer); err != nil {
			t.Fatal(err)
		}
		ids, buyers = append(ids, colID), append(buyers, buyer)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, buyers
}
