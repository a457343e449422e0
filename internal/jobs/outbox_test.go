package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// fanouts counts the fan-outs of each event.
type fanouts struct {
	mu    sync.Mutex
	count map[string]int
	first time.Time
}

func (f *fanouts) Fanout(_ context.Context, ids ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first.IsZero() {
		f.first = time.Now()
	}
	for _, id := range ids {
		f.count[id]++
	}
	return nil
}

func (f *fanouts) Attempt(context.Context, string) (time.Duration, error) { return 0, nil }

func (f *fanouts) snapshot() (map[string]int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.count))
	for k, v := range f.count {
		out[k] = v
	}
	return out, f.first
}

// The job queue's dispatcher turns the outbox rows units write into fan-out jobs that its
// workers run: each event is fanned out once, with processes running their queues at once
// (PostgreSQL: two), and the first soon after its unit committed (the commit wakes the
// dispatcher; River's webhook queue polls every 200 ms).
func TestOutboxDispatcherFansOutOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		url := storagetest.URL(t, b)
		log := slog.New(slog.DiscardHandler)
		f := &fanouts{count: map[string]int{}}
		processes := 1
		if b == storagetest.Postgres {
			processes = 2
		}
		var dbs []*storage.DB
		var running sync.WaitGroup
		for i := range processes {
			db, err := storage.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := jobs.Migrate(ctx, db, url, log); err != nil {
					t.Fatal(err)
				}
			}
			db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
			q, err := jobs.New(db, url, jobs.Config{PollInterval: 100 * time.Millisecond}, nil, jobs.Work{Webhooks: f}, log)
			if err != nil {
				t.Fatal(err)
			}
			db.SetEnqueuer(q.TxEnqueuer())
			running.Go(func() {
				if err := q.Run(ctx); err != nil {
					t.Error(err)
				}
				_ = q.Close()
			})
			dbs = append(dbs, db)
		}
		t.Cleanup(func() {
			cancel()
			running.Wait()
			for _, db := range dbs {
				_ = db.Close()
			}
		})
		time.Sleep(300 * time.Millisecond) // the queues started

		var want []string
		var committed time.Time
		for i := range 40 {
			db := dbs[i%len(dbs)]
			var ids []string
			err := db.Units().InTx(ctx, func(tx txn.Tx) error {
				for j := range 1 + i%3 {
					if err := tx.Emit(ctx, txn.Event{Type: "order.confirmed", Object: map[string]any{"id": fmt.Sprint(i, j)}, At: time.Now()}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				committed = time.Now()
			}
			rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM events ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			ids = ids[:0]
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			want = ids
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := f.snapshot()
			if len(got) == len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // a duplicate would show by now
		got, first := f.snapshot()
		if len(got) != len(want) {
			t.Fatalf("%d of %d events fanned out", len(got), len(want))
		}
		for _, id := range want {
			if got[id] != 1 {
				t.Errorf("event %s fanned out %d times", id, got[id])
			}
		}
		t.Logf("%s: %d events of 40 units by %d processes; the first fanned out %s after its commit",
			b, len(want), processes, first.Sub(committed).Round(time.Millisecond))
		if n, err := dbs[0].OutboxSize(ctx); err != nil || n != 0 {
			t.Errorf("outbox rows left: %d, %v", n, err)
		}
	})
}
