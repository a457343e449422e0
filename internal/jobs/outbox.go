package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/storage"
)

// The event outbox's dispatcher: units of work write one outbox row naming the events they
// emit (storage.DB.DispatchOutbox); each process running the queue claims those rows in order
// and enqueues the events' fan-out jobs in the transaction that deletes them. It runs from the
// queue's start to its stop, briskly while there is work, backing off when idle, and at once when
// a unit of this process commits events.
//
// Why jobs rather than the fan-out itself in the claiming transaction: the fan-out reads the
// endpoints and writes deliveries and their attempt jobs, and it may fail on its own (a purged
// event, a busy database); a job keeps River's retries and lets the webhook workers fan out in
// parallel, while the claim stays one short transaction that many processes can run at once.
// A job carries up to 100 events, so that under load one job row serves about 50 payments.

const (
	// outboxClaim is how many outbox rows one dispatch claims at most (≈ 2 events each for a
	// payment: a few jobs per dispatch).
	outboxClaim = 200
	// outboxBusy and outboxIdle bound the wait between dispatches: outboxBusy after one that
	// found rows, doubling while none are found, up to outboxIdle.
	outboxBusy = 20 * time.Millisecond
	outboxIdle = 250 * time.Millisecond
)

// outboxDispatcher is the dispatcher of one process.
type outboxDispatcher struct {
	db  *storage.DB
	log *slog.Logger
}

// run dispatches until ctx ends. A failed dispatch (its transaction rolled back: the rows
// stay) is logged and retried after outboxIdle.
func (d outboxDispatcher) run(ctx context.Context) {
	wake := d.db.OutboxWritten()
	wait := time.Duration(0)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		n, err := d.db.DispatchOutbox(ctx, outboxClaim)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("event outbox not dispatched yet", "err", err)
			wait = outboxIdle
		case n >= outboxClaim:
			wait = 0 // more wait
		case n > 0:
			wait = outboxBusy
		default:
			wait = min(max(2*wait, outboxBusy), outboxIdle)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
