package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// A fan-out of several events makes each (endpoint, event) delivery its audience allows, with its
// first attempt's job, once: a retried fan-out adds only what is missing (an endpoint created
// since), and an event purged meanwhile is skipped.
func TestWebhookFanoutOfManyEvents(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		rec := &jobRecorder{}
		db.SetEnqueuer(rec)
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		svc := webhooks.NewService(webhooks.Config{Store: storage.NewWebhooks(db), Clock: fixedClock{at}, DeliveryClock: fixedClock{at},
			Guard: webhooks.Guard{Sandbox: true}})
		create := func(who auth.Principal) webhooks.Endpoint {
			t.Helper()
			ep, err := svc.Create(ctx, who, webhooks.CreateInput{URL: "http://127.0.0.1:9/hook", EnabledEvents: []string{webhooks.All}})
			if err != nil {
				t.Fatal(err)
			}
			return ep
		}
		platform := create(auth.Principal{Subject: "adm", Role: auth.RoleAdmin})
		ctr1 := create(auth.Principal{Subject: "c1", Role: auth.RoleCenter, Org: "ctr_1"})
		ctr2 := create(auth.Principal{Subject: "c2", Role: auth.RoleCenter, Org: "ctr_2"})

		err := db.Units().InTx(ctx, func(tx txn.Tx) error {
			for _, e := range []txn.Event{
				{Type: "order.confirmed", BuyerID: "byr_1", CenterID: "ctr_1", Object: map[string]any{"id": "ord_1"}, At: at},
				{Type: "order.confirmed", BuyerID: "byr_1", CenterID: "ctr_2", Object: map[string]any{"id": "ord_2"}, At: at},
				{Type: "order.confirmed", BuyerID: "byr_1", Object: map[string]any{"id": "ord_3"}, At: at},
			} {
				if err := tx.Emit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		rows, err := db.SQL().QueryContext(ctx, "SELECT id FROM events ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil || len(ids) != 3 {
			t.Fatalf("events %v (%v), want 3", ids, err)
		}
		deliveries := func() map[[2]string]bool {
			t.Helper()
			got := map[[2]string]bool{}
			rows, err := db.SQL().QueryContext(ctx, "SELECT endpoint_id, event_id FROM webhook_deliveries WHERE status = 'pending'")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k [2]string
				if err := rows.Scan(&k[0], &k[1]); err != nil {
					t.Fatal(err)
				}
				got[k] = true
			}
			return got
		}
		ids = append(ids, "evt_purged_meanwhile")
		if err := svc.Fanout(ctx, ids...); err != nil {
			t.Fatal(err)
		}
		// Which event is which: the one of ctr_1 goes to ctr_1's endpoint, and so on.
		byCenter := map[string]string{}
		for k := range deliveries() {
			if k[0] == ctr1.ID || k[0] == ctr2.ID {
				byCenter[k[0]] = k[1]
			}
		}
		want := map[[2]string]bool{{platform.ID, ids[0]}: true, {platform.ID, ids[1]}: true, {platform.ID, ids[2]}: true,
			{ctr1.ID, byCenter[ctr1.ID]}: true, {ctr2.ID, byCenter[ctr2.ID]}: true}
		if got := deliveries(); len(got) != 5 || !equalSets(got, want) || byCenter[ctr1.ID] == byCenter[ctr2.ID] {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
		if n := len(rec.all()); n != 5 {
			t.Fatalf("%d jobs enqueued, want one per delivery (5)", n)
		}

		if err := svc.Fanout(ctx, ids...); err != nil {
			t.Fatal(err)
		}
		if got, n := deliveries(), len(rec.all()); len(got) != 5 || n != 5 {
			t.Fatalf("a retried fan-out: %d deliveries and %d jobs, want 5 and 5", len(got), n)
		}
		late := create(auth.Principal{Subject: "adm", Role: auth.RoleAdmin})
		if err := svc.Fanout(ctx, ids...); err != nil {
			t.Fatal(err)
		}
		got, jobs := deliveries(), rec.all()
		if len(got) != 8 || len(jobs) != 8 {
			t.Fatalf("after a new platform endpoint: %d deliveries and %d jobs, want 8 and 8", len(got), len(jobs))
		}
		for _, j := range jobs[5:] {
			var ep string
			if err := db.SQL().QueryRowContext(ctx, "SELECT endpoint_id FROM webhook_deliveries WHERE id = $1",
				j.(webhooks.DeliverJob).DeliveryID).Scan(&ep); err != nil || ep != late.ID {
				t.Errorf("job %v is for endpoint %s (%v), want only the new endpoint's", j, ep, err)
			}
		}
	})
}

func equalSets[K comparable](a, b map[K]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// fixedClock is a clock.Clock that always reads t.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }
