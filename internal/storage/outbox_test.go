package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// emitN commits a unit of work that emits n events, and returns their ids in order.
func emitN(t *testing.T, db *storage.DB, n int, at time.Time) []string {
	t.Helper()
	ctx := context.Background()
	marker := fmt.Sprintf("m%d", time.Now().UnixNano())
	err := db.Units().InTx(ctx, func(tx txn.Tx) error {
		for i := range n {
			if err := tx.Emit(ctx, txn.Event{Type: "order.confirmed", Object: map[string]any{"id": fmt.Sprintf("%s-%04d", marker, i)}, At: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().QueryContext(ctx, "SELECT id FROM events WHERE CAST(data AS text) LIKE '%"+marker+"-%' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		t.Fatalf("%d events written, want %d", len(ids), n)
	}
	return ids
}

func fanned(jobs []txn.Job) []string {
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.(webhooks.FanoutJob).Events()...)
	}
	return ids
}

func outboxSize(t *testing.T, db *storage.DB) int64 {
	t.Helper()
	n, err := db.OutboxSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A unit that emits events writes one outbox row (whatever their number) and no job; the
// dispatcher claims the rows in order and enqueues their fan-out jobs, 100 events at most each;
// a unit without events writes none; a commit of events wakes the dispatcher.
func TestEventOutboxDispatch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		rec := &jobRecorder{}
		db.SetEnqueuer(rec)
		db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

		if n, err := db.DispatchOutbox(ctx, 10); err != nil || n != 0 {
			t.Fatalf("an empty outbox: %d, %v", n, err)
		}
		first := emitN(t, db, 2, at)
		select {
		case <-db.OutboxWritten():
		default:
			t.Fatal("a unit's events did not wake the dispatcher")
		}
		second := emitN(t, db, 150, at)
		if err := db.Units().InTx(ctx, func(txn.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := outboxSize(t, db); got != 2 {
			t.Fatalf("outbox rows %d, want 2 (one per unit that emitted)", got)
		}
		if len(rec.all()) != 0 {
			t.Fatalf("units enqueued %d jobs, want none", len(rec.all()))
		}
		n, err := db.DispatchOutbox(ctx, 10)
		if err != nil || n != 2 {
			t.Fatalf("dispatch: %d, %v", n, err)
		}
		jobs := rec.all()
		if len(jobs) != 2 || len(jobs[0].(webhooks.FanoutJob).Events()) != 100 {
			t.Fatalf("jobs %d, want 2 of 100 and 52 events", len(jobs))
		}
		if got, want := fanned(jobs), append(slices.Clone(first), second...); !slices.Equal(got, want) {
			t.Fatalf("fanned out %d events, want %d in order", len(got), len(want))
		}
		if got := outboxSize(t, db); got != 0 {
			t.Fatalf("outbox rows after the dispatch: %d", got)
		}
		// Claims take the oldest rows first, limit at a time.
		third, fourth := emitN(t, db, 1, at), emitN(t, db, 1, at)
		if n, err := db.DispatchOutbox(ctx, 1); err != nil || n != 1 {
			t.Fatalf("dispatch 1: %d, %v", n, err)
		}
		if got := fanned(rec.all()[2:]); !slices.Equal(got, third) {
			t.Fatalf("first claim %v, want the oldest row %v", got, third)
		}
		if n, err := db.DispatchOutbox(ctx, 1); err != nil || n != 1 {
			t.Fatalf("dispatch 2: %d, %v", n, err)
		}
		if got := fanned(rec.all()[3:]); !slices.Equal(got, fourth) {
			t.Fatalf("second claim %v, want %v", got, fourth)
		}
	})
}

// A dispatch that fails after its claim (the job insert fails, or the process dies before the
// commit) keeps the rows: the next dispatch enqueues their jobs.
func TestEventOutboxCrashKeepsRows(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		for _, point := range []string{"ENQUEUE", "COMMIT"} {
			t.Run(point, func(t *testing.T) {
				ctx := context.Background()
				var mu sync.Mutex
				fail := false
				claimed := false
				boom := errors.New("crash")
				db, err := storage.Open(ctx, storagetest.URL(t, b), storage.WithStatementHook(func(_ context.Context, s string) error {
					mu.Lock()
					defer mu.Unlock()
					if strings.HasPrefix(s, "DELETE FROM event_outbox") {
						claimed = true
					}
					if fail && strings.HasPrefix(s, point) {
						return boom
					}
					return nil
				}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				rec := &jobRecorder{}
				db.SetEnqueuer(rec)
				db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
				ids := emitN(t, db, 3, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
				mu.Lock()
				fail = true
				mu.Unlock()
				if _, err := db.DispatchOutbox(ctx, 10); !errors.Is(err, boom) {
					t.Fatalf("dispatch crashed at %s: %v", point, err)
				}
				if !claimed {
					t.Fatal("the dispatch never claimed")
				}
				if got := outboxSize(t, db); got != 1 {
					t.Fatalf("after a crash at %s: %d outbox rows, want 1 (kept)", point, got)
				}
				mu.Lock()
				fail = false
				mu.Unlock()
				rec.mu.Lock()
				rec.jobs = nil // a job recorded before the crash was rolled back with the claim
				rec.mu.Unlock()
				if n, err := db.DispatchOutbox(ctx, 10); err != nil || n != 1 {
					t.Fatalf("dispatch after the crash: %d, %v", n, err)
				}
				if got := fanned(rec.all()); !slices.Equal(got, ids) {
					t.Fatalf("fanned out %v, want %v", got, ids)
				}
			})
		}
	})
}

// Dispatchers of two processes at once (PostgreSQL: SKIP LOCKED) while units commit: every
// event is fanned out exactly once.
func TestEventOutboxConcurrentDispatchers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		if b != storagetest.Postgres {
			t.Skip("several processes' dispatchers: PostgreSQL (SQLite has one writer)")
		}
		ctx := context.Background()
		url := storagetest.URL(t, b)
		open := func() (*storage.DB, *jobRecorder) {
			db, err := storage.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			rec := &jobRecorder{}
			db.SetEnqueuer(rec)
			db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
			return db, rec
		}
		writer, _ := open()
		d1, rec1 := open()
		d2, rec2 := open()
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

		const units = 60
		done := make(chan struct{})
		var want []string
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(done)
			for i := range units {
				want = append(want, emitN(t, writer, 1+i%3, at)...)
			}
		})
		var failed sync.Map
		for i, d := range []*storage.DB{d1, d2} {
			wg.Go(func() {
				for {
					select {
					case <-done:
						// a last sweep after the writer's final commit
						if _, err := d.DispatchOutbox(ctx, 3); err != nil {
							failed.Store(i, err)
						}
						return
					default:
					}
					if _, err := d.DispatchOutbox(ctx, 3); err != nil {
						failed.Store(i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		failed.Range(func(k, v any) bool { t.Errorf("dispatcher %v: %v", k, v); return true })
		for {
			n, err := d1.DispatchOutbox(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		got := append(fanned(rec1.all()), fanned(rec2.all())...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("fanned out %d events (%d distinct), want each of %d once", len(got), len(slices.Compact(slices.Clone(got))), len(want))
		}
		if len(rec1.all()) == 0 || len(rec2.all()) == 0 {
			t.Logf("one dispatcher did all the work (%d, %d jobs)", len(rec1.all()), len(rec2.all()))
		}
		if got := outboxSize(t, writer); got != 0 {
			t.Fatalf("%d outbox rows left", got)
		}
	})
}
