package storage_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
	"github.com/vhupay/vhupay/internal/txn"
)

// jobRecorder records the jobs units enqueue, in place of the job queue.
type jobRecorder struct {
	mu   sync.Mutex
	jobs []txn.Job
}

func (r *jobRecorder) EnqueueTx(_ context.Context, _ *sql.Tx, job txn.Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, job)
	return nil
}

func (r *jobRecorder) all() []txn.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]txn.Job(nil), r.jobs...)
}

// A resource's notifications are kept once while one waits (whatever their events), with one job; once claimed (its resource is being
// re-read), a new notification of it is kept again; applied ones are counted out and purged.
func TestProviderNotificationsQueue(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		rec := &jobRecorder{}
		db.SetEnqueuer(rec)
		q := storage.NewNotifications(db)
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		n := psp.Notification{Kind: psp.ResourcePayIn, Event: "PAYIN_NORMAL_SUCCEEDED", ResourceID: "payin_1"}
		for range 3 {
			if err := q.EnqueueNotification(ctx, n, at); err != nil {
				t.Fatal(err)
			}
		}
		// Another event of the same resource waits in the same notification: one provider read.
		sameResource := psp.Notification{Kind: psp.ResourcePayIn, Event: "PAYIN_NORMAL_FAILED", ResourceID: "payin_1"}
		if err := q.EnqueueNotification(ctx, sameResource, at); err != nil {
			t.Fatal(err)
		}
		other := psp.Notification{Kind: psp.ResourcePayIn, Event: "PAYIN_NORMAL_FAILED", ResourceID: "payin_2"}
		if err := q.EnqueueNotification(ctx, other, at); err != nil {
			t.Fatal(err)
		}
		jobs := rec.all()
		if len(jobs) != 2 {
			t.Fatalf("jobs = %+v, want one per resource waiting", jobs)
		}
		first := jobs[0].(payments.NotificationJob)
		got, ok, err := q.ClaimNotification(ctx, first.ID)
		if err != nil || !ok || got != n {
			t.Fatalf("claim = %+v, %v, %v", got, ok, err)
		}
		if _, ok, _ := q.ClaimNotification(ctx, first.ID); !ok {
			t.Error("a notification being applied can be claimed again (its job's next attempt)")
		}
		if err := q.EnqueueNotification(ctx, n, at); err != nil { // arrives while the first is applied
			t.Fatal(err)
		}
		if len(rec.all()) != 3 {
			t.Errorf("a notification arriving while its twin is applied was not kept")
		}
		if err := q.NotificationApplied(ctx, first.ID, at); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := q.ClaimNotification(ctx, first.ID); ok {
			t.Error("an applied notification was claimed")
		}
		if c, err := q.UnappliedNotifications(ctx); err != nil || c != 2 {
			t.Errorf("unapplied = %d, %v", c, err)
		}
		if c, err := q.PurgeNotifications(ctx, at.Add(time.Second)); err != nil || c != 1 {
			t.Errorf("purged = %d, %v", c, err)
		}
	})
}
