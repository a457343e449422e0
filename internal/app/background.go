package app

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp/pacing"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
)

// appliedNotificationsKept is how long applied provider notifications are kept (for operators).
const appliedNotificationsKept = 7 * 24 * time.Hour

// periodicWork is the work run every so often on the job queue, once across processes.
func (a *App) periodicWork() []jobs.Periodic {
	return []jobs.Periodic{
		{Name: "payment_intent_expiry", Every: 30 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Payments.ExpireStale(ctx)
			return err
		}},
		// The safety nets of card payments: intents whose charge's answer was lost are resumed;
		// succeeded pay-ins no intent keeps are refunded.
		{Name: "card_payment_resume", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Payments.ResumeUnsent(ctx)
			return err
		}},
		// The reconciliation sweeps wait for the provider's call budget, as the month close does.
		{Name: "payin_sweep", Every: 15 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Payments.SweepPayIns(pacing.Paced(ctx))
			return err
		}},
		// The safety net behind the direct-debit notifications.
		{Name: "sepa_collection_polling", Every: 5 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Collections.Reconcile(pacing.Paced(ctx))
			return err
		}},
		// The re-presentations whose day has come by the clock (the test clock in sandbox).
		{Name: "sepa_collection_representation", Every: 5 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Collections.RepresentDue(pacing.Paced(ctx))
			return err
		}},
		// The centres' earnings recorded since the last round, moved at the provider (paced under
		// the provider's call budget, as every background round).
		{Name: "center_transfers", Every: 5 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Transfers.Run(pacing.Paced(ctx))
			return err
		}},
		// Payouts recorded and not made at the provider yet (a crash, an outage) are made with
		// the same idempotency key; pending ones are read again (missed notifications).
		{Name: "payouts", Every: 10 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Payouts.Resume(pacing.Paced(ctx))
			return err
		}},
		// The Monday payouts, due at 06:00 Paris by the clock (checked every 30 seconds).
		{Name: "weekly_payouts", Every: 30 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Payouts.RunWeekly(pacing.Paced(ctx))
			return err
		}},
		// The refunds' provider steps left to do: the safety net behind the requests, SEPA refunds
		// waiting for their collection or their 8th day, refunds waiting for the provider's window.
		{Name: "refunds_due", Every: 10 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Refunds.ProcessDue(ctx)
			return err
		}},
		// The daily reconciliation, due at 04:00 Paris by the clock (checked every minute).
		{Name: "daily_reconciliation", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Reconciler.RunDaily(ctx)
			return err
		}},
		// Disputes nobody answered by their due date are lost (on the clock); decisions recorded
		// and not told to the provider yet are told.
		{Name: "dispute_expiry", Every: 30 * time.Second, Run: func(ctx context.Context) error {
			_, err := a.Disputes.ExpireDue(ctx)
			return err
		}},
		{Name: "dispute_provider_sync", Every: time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Disputes.SyncProvider(ctx)
			return err
		}},
		// The safety net behind the dispute notifications, at the provider's pace.
		{Name: "dispute_polling", Every: 15 * time.Minute, Run: func(ctx context.Context) error {
			_, err := a.Disputes.Poll(pacing.Paced(ctx))
			return err
		}},
		{Name: "idempotency_purge", Every: time.Hour, Run: func(ctx context.Context) error {
			_, err := a.idem.Purge(ctx)
			return err
		}},
		{Name: "event_purge", Every: time.Hour, Run: func(ctx context.Context) error {
			if _, err := a.Events.Purge(ctx); err != nil {
				return err
			}
			_, err := storage.NewNotifications(a.DB).PurgeNotifications(ctx, a.Clock.Now().Add(-appliedNotificationsKept))
			return err
		}},
	}
}

// orphanMetrics counts the orphan pay-ins the card reconcile refunds.
type orphanMetrics struct{ count, cents prometheus.Counter }

func (m orphanMetrics) OrphanPayInRefunded(amount int64) {
	m.count.Inc()
	m.cents.Add(float64(amount))
}

// mandateHandler applies mandate notifications; a mandate vhupay does not know is ignored (the
// notification handlers' contract), not retried.
type mandateHandler struct{ sepa *sepa.Service }

func (h mandateHandler) ApplyMandate(ctx context.Context, providerMandateID string) error {
	if err := h.sepa.ApplyMandate(ctx, providerMandateID); err != nil && !errors.Is(err, sepa.ErrNotFound) {
		return err
	}
	return nil
}

// repudiations applies repudiation notifications to both capabilities that own some: SEPA
// collections (late failures, disputed debits) and card disputes (chargebacks); each ignores the
// others'.
type repudiations struct {
	collections payments.RepudiationHandler
	disputes    payments.RepudiationHandler
}

func (r repudiations) ApplyRepudiation(ctx context.Context, repudiationID string) error {
	if err := r.collections.ApplyRepudiation(ctx, repudiationID); err != nil {
		return err
	}
	return r.disputes.ApplyRepudiation(ctx, repudiationID)
}

// lateRefunds schedules refund retries on the app's job queue, which is built after the payments
// service.
type lateRefunds struct{ a *App }

func (r lateRefunds) ScheduleRefund(ctx context.Context, intentID string) error {
	if r.a.Jobs == nil {
		return errors.New("no job queue yet")
	}
	return r.a.Jobs.ScheduleRefund(ctx, intentID)
}

// clockMoved runs, in the request that moved the sandbox test clock, the work the move made due:
// intents past their expiry are canceled, the previous month's close starts when the clock
// entered a new month, the Monday payouts are made when the clock passed Monday 06:00 Paris,
// due re-presentations are submitted, submitted debits and payouts settle (all of them with settle, once the close the move
// started, if any, has ended: its debits are submitted then), the dispute card's disputes open
// and answered disputes are decided, and disputes past their due date are lost.
func (a *App) clockMoved(ctx context.Context, settle bool) error {
	if _, err := a.Payments.ExpireStale(ctx); err != nil {
		return err
	}
	if err := a.scheduler.Tick(ctx); err != nil {
		return err
	}
	if settle {
		if err := a.awaitPreviousClose(ctx); err != nil {
			return err
		}
	}
	// The Monday payouts the move made due, before the bank pays what is a day old.
	if _, err := a.Payouts.RunWeekly(ctx); err != nil {
		return err
	}
	// Re-presentations due at the new time are submitted at once (the periodic job would within
	// seconds), so that a settling move settles them too.
	if _, err := a.Collections.RepresentDue(ctx); err != nil {
		return err
	}
	if _, err := a.sandbox.Settle(ctx, settle); err != nil {
		return err
	}
	if _, err := a.sandbox.SettleDisputes(ctx, settle); err != nil {
		return err
	}
	if _, err := a.Disputes.ExpireDue(ctx); err != nil {
		return err
	}
	// Refunds the move made due (a SEPA debit's 8th day): their centres' transfers first.
	if _, err := a.Transfers.Run(ctx); err != nil {
		return err
	}
	_, err := a.Refunds.ProcessDue(ctx)
	return err
}

// closeWait bounds how long a clock move waits for the close it started.
const closeWait = 2 * time.Minute

// awaitPreviousClose waits until the close of the month before the clock's has ended, if it is
// running (the job queue runs it, in this process or another).
func (a *App) awaitPreviousClose(ctx context.Context) error {
	month, err := clock.PreviousMonth(clock.MonthOf(a.Clock.Now()))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		c, err := a.MonthCloses.Get(ctx, month)
		if errors.Is(err, monthclose.ErrNotFound) || (err == nil && c.Status != monthclose.StatusRunning) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil // settle what is submitted so far; the rest settles later
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// adjustSandboxWallet moves money in the sandbox provider's wallet of a ledger account, without
// telling the ledger (POST /v1/sandbox/wallets/adjust).
func (a *App) adjustSandboxWallet(ctx context.Context, account ledger.Account, amount int64) error {
	walletID := sandbox.FeesWalletID
	if account != ledger.PlatformFees {
		id, ok, err := storage.NewReconciliations(a.DB).WalletOf(ctx, account)
		if err != nil {
			return err
		}
		if !ok {
			return httpapi.ErrNoSandboxWallet
		}
		walletID = id
	}
	return a.sandbox.AdjustWallet(ctx, walletID, amount)
}
