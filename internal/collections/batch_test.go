package collections_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// fiveBuyers makes five SEPA buyers with one payment each in November 2026 and moves the
// clock to the close.
func fiveBuyers(t *testing.T, e *env) []buyer {
	t.Helper()
	ibans := []string{ibanFR, ibanDE, ibanFR2, ibanFR, ibanDE}
	var buyers []buyer
	for i, siren := range []string{"812345676", "823456785", "834567893", "845678903", "856789011"} {
		b := e.sepaBuyer(t, siren, ibans[i])
		e.sepa(t, b, int64(1000*(i+1)), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		buyers = append(buyers, b)
	}
	e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	return buyers
}

// batchService is a collections service with batches of batch collections.
func (e *env) batchService(store collections.Store, provider collections.Provider, workers, batch int) *collections.Service {
	a := e.s.App
	return collections.NewService(collections.Config{Store: store, Buyers: storage.NewParties(a.DB),
		SEPA: a.SEPA, Payers: a.Payers, Provider: provider, Clock: a.Clock, Workers: workers, Batch: batch})
}

// checkOnePayInEach checks that every buyer's one collection is submitted with its own pay-in,
// that the provider made exactly one pay-in per collection, and that each collection has
// exactly one sepa_collection.submitted event.
func (e *env) checkOnePayInEach(t *testing.T, buyers []buyer) {
	t.Helper()
	if got := e.fake.Created("payins"); got != len(buyers) {
		t.Errorf("pay-ins made by the provider = %d, want %d (one per collection)", got, len(buyers))
	}
	seen := map[string]bool{}
	for _, by := range buyers {
		col := e.only(t, by.ID)
		pay := e.payInOf(t, col.ID)
		if col.Status != "submitted" || seen[pay] {
			t.Errorf("collection %+v with pay-in %s", col, pay)
		}
		seen[pay] = true
	}
	if got := e.count(t, `SELECT COUNT(*) FROM events WHERE type = 'sepa_collection.submitted'`); got != len(buyers) {
		t.Errorf("sepa_collection.submitted events = %d, want %d", got, len(buyers))
	}
	if got := e.count(t, `SELECT COUNT(*) FROM events WHERE type = 'sepa_collection.prenotified'`); got != len(buyers) {
		t.Errorf("sepa_collection.prenotified events = %d, want %d", got, len(buyers))
	}
}

// TestCollectMonthBatchProviderFailsMidBatch: in one batch of five, the provider makes two
// debits then goes down. The two pay-ins obtained are recorded (submitted, with their events)
// although the batch failed; the next run submits the other three, and nothing is debited twice.
func TestCollectMonthBatchProviderFailsMidBatch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := fiveBuyers(t, e)
		provider := &faultyProvider{Provider: e.s.App.Provider, fake: e.fake, outageFrom: 3}
		svc := e.batchService(storage.NewCollections(e.s.App.DB), provider, 1, 5)
		p := &progress{}
		if _, err := svc.CollectMonth(ctx, "2026-11", p); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("first run: %v, want psp.ErrUnavailable", err)
		}
		if got := e.fake.Created("payins"); got != 2 {
			t.Errorf("pay-ins before the outage = %d, want 2", got)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'submitted'`); got != 2 {
			t.Errorf("submitted in the failed batch = %d, want 2 (the pay-ins obtained are recorded)", got)
		}
		e.fake.ClearFaults()
		if n, err := svc.CollectMonth(ctx, "2026-11", p); err != nil || n != 5 {
			t.Fatalf("second run: %d, %v", n, err)
		}
		e.checkOnePayInEach(t, buyers)
	})
}

// crashingStore fails the recording of the batch number crashAt (1-based): the process died
// after the provider's calls of that batch and before their results were committed.
type crashingStore struct {
	collections.Store
	calls   atomic.Int32
	crashAt int32
}

var errCrash = errors.New("the process died before the batch's unit committed")

func (s *crashingStore) MarkSubmittedMany(ctx context.Context, subs []collections.Submitted, at time.Time) ([]string, error) {
	if s.calls.Add(1) == s.crashAt {
		return nil, errCrash
	}
	return s.Store.MarkSubmittedMany(ctx, subs, at)
}

// TestCollectMonthCrashBetweenBatches: batches of two; the first batch is recorded, the
// second's debits are made but the process dies before they are recorded. The next run resumes
// the step: the second batch's debits come back from the provider by their idempotency keys
// (no second debit), and the fifth collection is submitted.
func TestCollectMonthCrashBetweenBatches(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := fiveBuyers(t, e)
		store := &crashingStore{Store: storage.NewCollections(e.s.App.DB), crashAt: 2}
		p := &progress{}
		if _, err := e.batchService(store, e.s.App.Provider, 2, 2).CollectMonth(ctx, "2026-11", p); !errors.Is(err, errCrash) {
			t.Fatalf("first run: %v, want the crash", err)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'submitted'`); got != 2 {
			t.Errorf("submitted before the crash = %d, want 2 (the first batch)", got)
		}
		if got := e.fake.Created("payins"); got != 4 {
			t.Errorf("pay-ins before the crash = %d, want 4 (two batches asked)", got)
		}
		if p.checkpoint != "prenotified" {
			t.Errorf("checkpoint = %q, want prenotified", p.checkpoint)
		}
		if n, err := e.batchService(storage.NewCollections(e.s.App.DB), e.s.App.Provider, 2, 2).CollectMonth(ctx, "2026-11", p); err != nil || n != 5 {
			t.Fatalf("resumed run: %d, %v", n, err)
		}
		e.checkOnePayInEach(t, buyers)
	})
}

// TestCollectMonthTwoClosersAtOnce: two closers (as two processes would, without the engine's
// lease) run the collections step of the same month at the same time, with batches of two and
// concurrent provider calls. Each collection is created once, debited once and submitted once.
func TestCollectMonthTwoClosersAtOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := fiveBuyers(t, e)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		counts := make([]int, 2)
		for i := range 2 {
			svc := e.batchService(storage.NewCollections(e.s.App.DB), e.s.App.Provider, 3, 2)
			wg.Go(func() { counts[i], errs[i] = svc.CollectMonth(ctx, "2026-11", &progress{}) })
		}
		wg.Wait()
		for i := range 2 {
			// SQLite may refuse one writer while the other holds the database: that closer's
			// step fails and would be retried; what matters is that nothing is doubled.
			if errs[i] != nil {
				t.Logf("closer %d: %v", i, errs[i])
				if _, err := e.batchService(storage.NewCollections(e.s.App.DB), e.s.App.Provider, 3, 2).
					CollectMonth(ctx, "2026-11", &progress{checkpoint: "prenotified"}); err != nil {
					t.Fatalf("closer %d again: %v", i, err)
				}
			} else if counts[i] != 5 {
				t.Errorf("closer %d counted %d collections, want 5", i, counts[i])
			}
		}
		e.checkOnePayInEach(t, buyers)
	})
}

// batchingProvider takes a batch of debits in one call (psp.DirectDebitBatcher), as the sandbox
// does, here by asking the fake MangoPay for each; a one-debit call is an error of the test.
type batchingProvider struct {
	collections.Provider
	batches, single atomic.Int32
	// shortAt: the batch call of this number (1-based) makes every debit but answers one result
	// fewer than it was asked.
	shortAt int32
}

func (p *batchingProvider) CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	p.single.Add(1)
	return p.Provider.CreateDirectDebitPayIn(ctx, req)
}

func (p *batchingProvider) CreateDirectDebitPayIns(ctx context.Context, reqs []psp.DirectDebitPayInRequest) ([]psp.DirectDebitResult, error) {
	n := p.batches.Add(1)
	out := make([]psp.DirectDebitResult, len(reqs))
	for i, r := range reqs {
		out[i].PayIn, out[i].Err = p.Provider.CreateDirectDebitPayIn(ctx, r)
	}
	if n == p.shortAt {
		return out[:len(out)-1], nil
	}
	return out, nil
}

// TestCollectMonthBatchAnsweredShort: the provider answers the second batch with one result
// fewer than its requests, though it made every debit. Which result answers which request is
// unknown, so nothing of that batch is recorded and the step fails (no panic, no pay-in given to
// the wrong collection); the next run gets the batch's pay-ins back by their keys and submits
// every collection with its own pay-in, nothing debited twice.
func TestCollectMonthBatchAnsweredShort(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := fiveBuyers(t, e)
		provider := &batchingProvider{Provider: e.s.App.Provider, shortAt: 2}
		p := &progress{}
		_, err := e.batchService(storage.NewCollections(e.s.App.DB), provider, 1, 2).CollectMonth(ctx, "2026-11", p)
		if err == nil || !strings.Contains(err.Error(), "answered 1 results") {
			t.Fatalf("first run: %v, want the short answer's error", err)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'submitted'`); got != 2 {
			t.Errorf("submitted after the short answer = %d, want 2 (the first batch only)", got)
		}
		if n, err := e.batchService(storage.NewCollections(e.s.App.DB), provider, 1, 2).CollectMonth(ctx, "2026-11", p); err != nil || n != 5 {
			t.Fatalf("next run: %d, %v", n, err)
		}
		e.checkOnePayInEach(t, buyers)
	})
}

// TestCollectMonthBatchedCrashBetweenBatches is TestCollectMonthCrashBetweenBatches with a
// provider that takes batches: one call per batch; the batch whose recording died is asked again
// by the resumed run and its debits come back by their idempotency keys (no second debit).
func TestCollectMonthBatchedCrashBetweenBatches(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := fiveBuyers(t, e)
		provider := &batchingProvider{Provider: e.s.App.Provider}
		store := &crashingStore{Store: storage.NewCollections(e.s.App.DB), crashAt: 2}
		p := &progress{}
		if _, err := e.batchService(store, provider, 2, 2).CollectMonth(ctx, "2026-11", p); !errors.Is(err, errCrash) {
			t.Fatalf("first run: %v, want the crash", err)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'submitted'`); got != 2 {
			t.Errorf("submitted before the crash = %d, want 2 (the first batch)", got)
		}
		if got := e.fake.Created("payins"); got != 4 {
			t.Errorf("pay-ins before the crash = %d, want 4 (two batches asked)", got)
		}
		if n, err := e.batchService(storage.NewCollections(e.s.App.DB), provider, 2, 2).CollectMonth(ctx, "2026-11", p); err != nil || n != 5 {
			t.Fatalf("resumed run: %d, %v", n, err)
		}
		e.checkOnePayInEach(t, buyers)
		if got := provider.batches.Load(); got != 4 { // 2 before the crash; then the second again and the fifth
			t.Errorf("batch calls = %d, want 4 (two before the crash, two after)", got)
		}
		if got := provider.single.Load(); got != 0 {
			t.Errorf("one-debit calls = %d, want 0", got)
		}
	})
}
