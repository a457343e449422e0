package pacing_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/psp/pacing"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// open returns n handles on one fresh database, as n processes would have.
func open(t *testing.T, b storagetest.Backend, n int) []storage.ProviderBudgets {
	t.Helper()
	u := storagetest.URL(t, b)
	var out []storage.ProviderBudgets
	for range n {
		db, err := storage.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		out = append(out, storage.NewProviderBudgets(db))
	}
	return out
}

// TestReserveSlots: an unused budget lets a burst go at once, then one call per interval; slots
// taken concurrently by several processes are all distinct; a hold pushes the next slot.
func TestReserveSlots(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		stores := open(t, b, 2)
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
		const interval, burst = 100 * time.Millisecond, 300 * time.Millisecond
		var got []time.Time
		for i := range 5 {
			slot, err := stores[i%2].Reserve(ctx, "mangopay", now, interval, burst)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, slot)
		}
		want := []time.Time{now.Add(-burst), now.Add(-200 * time.Millisecond), now.Add(-interval), now, now.Add(interval)}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("slots = %v, want %v (a burst of 3 then one per interval)", got, want)
		}
		// Another budget is independent.
		if slot, err := stores[0].Reserve(ctx, "other", now, interval, 0); err != nil || !slot.Equal(now) {
			t.Errorf("other budget's slot = %v, %v; want now", slot, err)
		}
		// A hold: nothing before it; an earlier hold changes nothing.
		until := now.Add(time.Minute)
		if err := stores[1].Hold(ctx, "mangopay", until); err != nil {
			t.Fatal(err)
		}
		if err := stores[0].Hold(ctx, "mangopay", now); err != nil {
			t.Fatal(err)
		}
		if slot, err := stores[0].Reserve(ctx, "mangopay", now, interval, burst); err != nil || !slot.Equal(until) {
			t.Errorf("slot after the hold = %v, %v; want %v", slot, err, until)
		}
		// Much later, the budget has its burst again.
		later := until.Add(time.Hour)
		if slot, err := stores[1].Reserve(ctx, "mangopay", later, interval, burst); err != nil || !slot.Equal(later.Add(-burst)) {
			t.Errorf("slot after idling = %v, %v; want %v", slot, err, later.Add(-burst))
		}

		// Concurrent reservations from both processes: every slot distinct, one interval apart.
		const n = 40
		slots := make(chan time.Time, n)
		var wg sync.WaitGroup
		start := later.Add(time.Hour)
		for i := range n {
			wg.Go(func() {
				slot, err := stores[i%2].Reserve(ctx, "mangopay", start, interval, 0)
				if err != nil {
					t.Error(err)
					return
				}
				slots <- slot
			})
		}
		wg.Wait()
		close(slots)
		var all []time.Time
		for s := range slots {
			all = append(all, s)
		}
		slices.SortFunc(all, time.Time.Compare)
		for i, s := range all {
			if !s.Equal(start.Add(time.Duration(i) * interval)) {
				t.Fatalf("concurrent slots = %v, want one per interval from %v", all, start)
			}
		}
	})
}

// TestWaitPacesOnlyBackgroundWork: paced calls wait for their slot, other calls go at once but
// are counted; a 429 observed holds every process's paced calls until the reset.
func TestWaitPacesOnlyBackgroundWork(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		stores := open(t, b, 2)
		mk := func(s storage.ProviderBudgets) *pacing.Pacer {
			return pacing.New(pacing.Config{Store: s, Name: "mangopay", Calls: 20, Window: time.Second, Burst: 1, Clock: clock.Real{}})
		}
		a, bb := mk(stores[0]), mk(stores[1])
		ctx := context.Background()
		began := time.Now()
		for range 10 { // interactive: never waits, but takes slots
			if err := a.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(began); d > 300*time.Millisecond {
			t.Errorf("unpaced calls waited %s", d)
		}
		paced := pacing.Paced(ctx)
		if err := bb.Wait(paced); err != nil {
			t.Fatal(err)
		}
		// 10 slots of 50 ms were taken by the interactive calls (one of them from the burst).
		if d := time.Since(began); d < 350*time.Millisecond {
			t.Errorf("the paced call went after %s, want about 450 ms (behind the interactive calls)", d)
		}
		// The provider says its window is exhausted for 700 ms: the other process waits too.
		reset := time.Now().Add(700 * time.Millisecond)
		a.Observe(psp.RateLimit{Limited: true, ObservedAt: time.Now(), Windows: []psp.RateLimitWindow{{Made: 20, Remaining: 0, Reset: reset}}})
		if err := a.Wait(ctx); err != nil { // records the hold, goes at once
			t.Fatal(err)
		}
		if err := bb.Wait(paced); err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); now.Before(reset.Add(-5 * time.Millisecond)) {
			t.Errorf("a paced call went %s before the provider's reset", reset.Sub(now))
		}
		// A paced call gives up with its context.
		bb.Observe(psp.RateLimit{Limited: true, ObservedAt: time.Now(), Windows: []psp.RateLimitWindow{{Remaining: 0, Reset: time.Now().Add(time.Hour)}}})
		short, cancel := context.WithTimeout(paced, 50*time.Millisecond)
		defer cancel()
		if err := bb.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait past the context's deadline = %v", err)
		}
	})
}

// TestPacedClientsStayUnderTheFakesLimit: two processes' MangoPay clients, paced by one budget,
// make 2 x 150 calls against a fake limited to 60 calls per 2 s: no call is refused and none is
// lost, and the calls take as long as the limit requires.
func TestPacedClientsStayUnderTheFakesLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 10 s")
	}
	stores := open(t, storagetest.SQLite, 2)
	fake := mangopaytest.New(mangopaytest.Config{RateLimits: []mangopaytest.RateLimit{{Period: 2 * time.Second, Calls: 60}}})
	t.Cleanup(fake.Close)
	ctx := pacing.Paced(context.Background())
	var wg sync.WaitGroup
	began := time.Now()
	const perProcess = 150
	for _, s := range stores {
		p := pacing.New(pacing.Config{Store: s, Name: "mangopay", Calls: 50, Window: 2 * time.Second})
		c, err := mangopay.New(mangopay.Config{BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Pacer: p})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			var inner sync.WaitGroup
			for w := range 4 {
				inner.Go(func() {
					for i := w; i < perProcess; i += 4 {
						if _, err := c.GetPayIn(ctx, "missing"); err != nil && !errors.Is(err, psp.ErrNotFound) {
							t.Errorf("call %d: %v", i, err)
							return
						}
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	t.Logf("%d calls in %s, %d refused by the fake's rate limit", fake.Calls("GET /payins/{id}"), elapsed.Round(10*time.Millisecond), fake.RateLimited())
	if n := fake.RateLimited(); n > 2 {
		t.Errorf("%d calls refused with 429, want at most a couple", n)
	}
	// 300 calls + 2 tokens at 25 per second after a burst of 5: about 12 s; the fake's limit alone
	// would allow 300 calls in 10 s.
	if elapsed < 9*time.Second {
		t.Errorf("300 paced calls took %s, faster than the budget allows", elapsed)
	}
}
