package storage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// The reads by time range that the time indexes serve (BRIN ones on PostgreSQL, migration
// 00870): the event list's created filters, the events' retention purge and the purge of
// expired idempotency records, on rows written an hour apart. Both databases.
func TestTimeRangeReads(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		sqldb := db.SQL()
		base := time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)
		for i, id := range []string{"evt_a", "evt_b", "evt_c"} {
			if _, err := sqldb.ExecContext(ctx, numbered(db, `INSERT INTO events (id, type, data, created_at) VALUES ($1, 'order.created', '{}', $2)`),
				id, base.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := sqldb.ExecContext(ctx, numbered(db, `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, locked_until, expires_at)
				VALUES ('s', $1, 'h', 'done', $2, $2, $3)`), id, base, base.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		evs := storage.NewEvents(db)
		list := func(f events.Filter) []string {
			t.Helper()
			p, err := evs.Events(ctx, f, page.Request{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range p.Items {
				ids = append(ids, e.ID)
			}
			return ids
		}
		half := 30 * time.Minute
		for _, c := range []struct {
			f    events.Filter
			want []string
		}{
			{events.Filter{CreatedAfter: base.Add(half)}, []string{"evt_c", "evt_b"}},
			{events.Filter{CreatedBefore: base.Add(time.Hour + half)}, []string{"evt_b", "evt_a"}},
			{events.Filter{CreatedAfter: base.Add(half), CreatedBefore: base.Add(time.Hour + half)}, []string{"evt_b"}},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("events %+v = %v, want %v", c.f, got, c.want)
			}
		}
		if n, err := evs.PurgeEvents(ctx, base.Add(time.Hour+half)); err != nil || n != 2 {
			t.Errorf("PurgeEvents = %d, %v; want 2", n, err)
		}
		if got := list(events.Filter{}); !slices.Equal(got, []string{"evt_c"}) {
			t.Errorf("events after the purge: %v, want [evt_c]", got)
		}
		if n, err := storage.NewIdempotency(db).Purge(ctx, base.Add(half)); err != nil || n != 1 {
			t.Errorf("idempotency Purge = %d, %v; want 1 (the record expired at %s)", n, err, base)
		}
		var left int
		if err := sqldb.QueryRowContext(ctx, `SELECT COUNT(*) FROM idempotency_keys`).Scan(&left); err != nil || left != 2 {
			t.Errorf("idempotency records left: %d, %v; want 2", left, err)
		}
	})
}
