package collections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// movingStore runs before (once) just before the first review is written: an operator's change
// landing between the review's read and its write.
type movingStore struct {
	collections.Store
	once    sync.Once
	before  func()
	mu      sync.Mutex
	reviews []collections.Review
}

func (s *movingStore) RecordReview(ctx context.Context, r collections.Review) (bool, error) {
	s.once.Do(s.before)
	s.mu.Lock()
	s.reviews = append(s.reviews, r)
	s.mu.Unlock()
	return s.Store.RecordReview(ctx, r)
}

// TestReviewCeilingsOperatorChangesTheCeilingMeanwhile: an operator sets a buyer's ceiling
// between the monthly review's read and its write. The review's write is refused
// (ErrCeilingMoved: nothing written from the stale read) and the review is decided again on the
// operator's ceiling; the operator's change is kept in the history, before the review's.
func TestReviewCeilingsOperatorChangesTheCeilingMeanwhile(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)) // probation ends on 10 September
		grows := e.sepaBuyer(t, "812345676", ibanFR)
		for _, p := range []struct {
			month  time.Month
			amount int64
		}{{9, 10000}, {10, 20000}, {10, 4000}, {11, 20000}} {
			e.sepa(t, grows, p.amount, time.Date(2026, p.month, 15, 10, 0, 0, 0, time.UTC))
		}
		a := e.s.App
		for _, month := range []string{"2026-09", "2026-10", "2026-11"} {
			if _, err := a.Collections.CollectMonth(ctx, month, &progress{}); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Set(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC))
		if _, err := a.Collections.RefreshScores(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		store := &movingStore{Store: storage.NewCollections(a.DB), before: func() {
			e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/buyers/" + grows.ID + "/sepa-ceiling", Token: e.admin,
				Body: map[string]any{"amount": 30000, "note": "raised by the risk desk"}}).Expect(t, 200)
		}}
		svc := collections.NewService(collections.Config{Store: store, Buyers: storage.NewParties(a.DB), SEPA: a.SEPA, Payers: a.Payers,
			Provider: a.Provider, Clock: a.Clock, Workers: 1, Batch: 1})
		if n, err := svc.ReviewCeilings(ctx, "2026-11", &progress{}); err != nil || n != 1 {
			t.Fatalf("ReviewCeilings = %d, %v; want 1 buyer reviewed", n, err)
		}
		if len(store.reviews) != 2 || store.reviews[0].From != 25000 || store.reviews[1].From != 30000 || store.reviews[1].To != 40000 {
			t.Fatalf("reviews written = %+v; want a refused one from 25000, then 30000 → 40000", store.reviews)
		}
		if p := e.profile(t, grows.ID); p.Ceiling != 40000 {
			t.Errorf("ceiling %d, want 40000 (1.5 × 24000 rounded up to 50 EUR, within 2 × the operator's 30000)", p.Ceiling)
		}
		var changes httpapi.CeilingChangeList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + grows.ID + "/sepa/ceiling-changes", Token: e.admin}).Expect(t, 200).JSON(t, &changes)
		if len(changes.Data) != 3 || changes.Data[0].Reason != "monthly_review" || changes.Data[0].From != 30000 || changes.Data[0].To != 40000 ||
			changes.Data[1].Reason != "manual" || changes.Data[1].To != 30000 {
			t.Errorf("ceiling changes = %+v; want the initial one, the operator's, then the review's from 30000", changes.Data)
		}
	})
}
