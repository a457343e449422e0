package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

func TestLifecycle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		svc := idempotency.NewService(storage.NewIdempotency(storagetest.Open(t, b)), clk, []byte("key"))
		h := svc.Hash("POST", "/v1/orders", []byte(`{"a":1}`))

		r, claim, err := svc.Begin(ctx, "s", "k", h)
		if r != nil || err != nil {
			t.Fatalf("first Begin = %v, %v", r, err)
		}
		if _, _, err := svc.Begin(ctx, "s", "k", h); !errors.Is(err, idempotency.ErrInUse) {
			t.Fatalf("Begin while running: %v, want ErrInUse", err)
		}
		if _, _, err := svc.Begin(ctx, "s", "k", svc.Hash("POST", "/v1/orders", []byte(`{"a":2}`))); !errors.Is(err, idempotency.ErrReused) {
			t.Fatalf("Begin with another body: %v, want ErrReused", err)
		}
		want := idempotency.Response{Status: 201, ContentType: "application/json", Location: "/v1/orders/ord_1", Body: []byte(`{"id":"ord_1"}`)}
		if err := svc.Complete(ctx, claim, want); err != nil {
			t.Fatal(err)
		}
		r, _, err = svc.Begin(ctx, "s", "k", h)
		if err != nil || r == nil || r.Status != 201 || string(r.Body) != string(want.Body) || r.Location != want.Location {
			t.Fatalf("replay = %+v, %v", r, err)
		}
		// Another caller's identical key is independent.
		if r, _, err := svc.Begin(ctx, "other", "k", h); r != nil || err != nil {
			t.Fatalf("other scope: %v, %v", r, err)
		}
		// Kept at least 24 h, then forgotten.
		clk.Advance(24 * time.Hour)
		if r, _, _ := svc.Begin(ctx, "s", "k", h); r == nil {
			t.Fatal("forgotten before 24 h")
		}
		clk.Advance(idempotency.Retention)
		if r, _, err := svc.Begin(ctx, "s", "k", h); r != nil || err != nil {
			t.Fatalf("an expired key should start afresh: %v, %v", r, err)
		}
	})
}

// A process killed mid-request leaves a running key; after the lock ends another request takes it over.
func TestTakeOverAfterCrash(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		db := storagetest.Open(t, b)
		svc := idempotency.NewService(storage.NewIdempotency(db), clk, []byte("key"))
		h := svc.Hash("POST", "/v1/x", nil)
		_, first, err := svc.Begin(ctx, "s", "k", h)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(idempotency.Lock + time.Second)
		r, second, err := svc.Begin(ctx, "s", "k", h)
		if r != nil || err != nil {
			t.Fatalf("take over = %v, %v", r, err)
		}
		if _, _, err := svc.Begin(ctx, "s", "k", h); !errors.Is(err, idempotency.ErrInUse) {
			t.Fatalf("after take over: %v, want ErrInUse", err)
		}
		// The first request, which outlived its lock, can neither answer for the key nor free it.
		if err := svc.Complete(ctx, first, idempotency.Response{Status: 201, Body: []byte("stale")}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Abandon(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Begin(ctx, "s", "k", h); !errors.Is(err, idempotency.ErrInUse) {
			t.Fatalf("the stale holder changed the key: %v, want ErrInUse", err)
		}
		if err := svc.Abandon(ctx, second); err != nil {
			t.Fatal(err)
		}
		if r, _, err := svc.Begin(ctx, "s", "k", h); r != nil || err != nil {
			t.Fatalf("after abandon: %v, %v", r, err)
		}
		if n, err := svc.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		clk.Advance(idempotency.Retention + time.Hour)
		if n, err := svc.Purge(ctx); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v, want 1", n, err)
		}
	})
}

// A request whose process died (or whose database connection dropped before it could free its
// key) frees the key within seconds, not minutes: the retry is not refused with 409 for long.
func TestKeyFreedSoonAfterACrash(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		svc := idempotency.NewService(storage.NewIdempotency(storagetest.Open(t, b)), clk, []byte("key"))
		h := svc.Hash("POST", "/v1/payment-intents", nil)
		if _, _, err := svc.Begin(ctx, "s", "k", h); err != nil {
			t.Fatal(err)
		}
		// The process is killed: no Complete, no Abandon, no renewal.
		clk.Advance(20 * time.Second)
		if r, _, err := svc.Begin(ctx, "s", "k", h); r != nil || err != nil {
			t.Fatalf("retry 20 s after a crash = %v, %v; want the key free", r, err)
		}
	})
}

// A request that runs longer than the lease keeps its key: Hold renews the lease.
func TestHoldRenewsTheLease(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		const lease = 300 * time.Millisecond
		svc := idempotency.NewService(storage.NewIdempotency(storagetest.Open(t, b)), clk, []byte("key")).WithLock(lease)
		h := svc.Hash("POST", "/v1/payment-intents", nil)
		_, claim, err := svc.Begin(ctx, "s", "k", h)
		if err != nil {
			t.Fatal(err)
		}
		stop := svc.Hold(claim)
		for range 4 { // four leases long, each renewed
			clk.Advance(lease / 2)
			time.Sleep(lease / 2)
			if _, _, err := svc.Begin(ctx, "s", "k", h); !errors.Is(err, idempotency.ErrInUse) {
				t.Fatalf("a running request lost its key: %v", err)
			}
		}
		stop()
		// The renewed claim still answers for its key.
		if err := svc.Complete(ctx, claim, idempotency.Response{Status: 201, Body: []byte("ok")}); err != nil {
			t.Fatal(err)
		}
		if r, _, err := svc.Begin(ctx, "s", "k", h); err != nil || r == nil || string(r.Body) != "ok" {
			t.Fatalf("replay after a renewed lease = %+v, %v", r, err)
		}
	})
}
