package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// MandateHandler applies a provider mandate's current state (the SEPA capability implements it).
type MandateHandler interface {
	// ApplyMandate re-reads the provider mandate and applies its state, idempotently. An unknown
	// mandate is not an error.
	ApplyMandate(ctx context.Context, providerMandateID string) error
}

// DirectDebitHandler applies a direct-debit pay-in's current state (the SEPA capability's
// collections implement it).
type DirectDebitHandler interface {
	// ApplyDirectDebit applies a direct-debit pay-in just re-read from the provider, idempotently.
	// An unknown pay-in is not an error.
	ApplyDirectDebit(ctx context.Context, payIn psp.PayIn) error
}

// RepudiationHandler applies a repudiation (money taken back after a pay-in succeeded; the SEPA
// collections implement it).
type RepudiationHandler interface {
	// ApplyRepudiation re-reads the provider repudiation and applies it, idempotently. An
	// unknown repudiation is not an error.
	ApplyRepudiation(ctx context.Context, repudiationID string) error
}

// PayoutHandler applies a payout's current state (the payouts capability implements it).
type PayoutHandler interface {
	// ApplyPayout re-reads the provider payout and applies it, idempotently. An unknown payout is
	// not an error.
	ApplyPayout(ctx context.Context, providerPayoutID string) error
	// ApplyReturn applies a payout the bank sent back (a refund of the payout), idempotently.
	ApplyReturn(ctx context.Context, providerPayoutID string, failure psp.FailureCode) error
	// ApplyOwner applies an owner user's state (payouts enabled once its KYB is validated).
	ApplyOwner(ctx context.Context, userID string) error
}

// DisputeHandler applies a provider dispute (card chargebacks; the disputes capability
// implements it).
type DisputeHandler interface {
	// ApplyDispute re-reads the provider dispute and applies it, idempotently. An unknown
	// dispute is not an error.
	ApplyDispute(ctx context.Context, providerDisputeID string) error
}

// NotificationHandlers are the other capabilities' shares of provider notifications. Nil fields
// are allowed: those notifications are then ignored (logged).
type NotificationHandlers struct {
	Mandates     MandateHandler
	DirectDebits DirectDebitHandler
	Repudiations RepudiationHandler
	Payouts      PayoutHandler
	Disputes     DisputeHandler
}

// NotificationQueue keeps provider notifications durably until the job queue has applied them
// (storage implements it).
type NotificationQueue interface {
	// EnqueueNotification keeps n and the job that applies it (NotificationJob) in one
	// transaction. Notifications of a resource (any event) while one of it still waits are kept
	// as that one: one application, one provider read.
	EnqueueNotification(ctx context.Context, n psp.Notification, at time.Time) error
	// ClaimNotification returns a kept notification that is not applied yet and marks it being
	// applied, so that a newer notification of the same resource is kept again rather than
	// merged into one whose resource is already being read. ok is false when it is applied or gone.
	ClaimNotification(ctx context.Context, id string) (n psp.Notification, ok bool, err error)
	// NotificationApplied marks a notification applied.
	NotificationApplied(ctx context.Context, id string, at time.Time) error
	// UnappliedNotifications counts the notifications kept and not applied yet.
	UnappliedNotifications(ctx context.Context) (int, error)
}

// NotificationJob is the job that applies one kept notification.
type NotificationJob struct {
	ID string `json:"id"`
}

// Kind implements txn.Job.
func (NotificationJob) Kind() string { return "provider_notification" }

// Notifications applies provider notifications: the notification only names a resource, which is
// re-read from the provider and applied. Applying is idempotent and order-safe, so duplicate and
// out-of-order notifications change nothing. Received notifications are kept in the database
// before they are acknowledged and applied by the job queue (retried until they apply), so none
// is lost to a burst, a provider outage or a restart.
type Notifications struct {
	payments *Service
	handlers NotificationHandlers
	queue    NotificationQueue
	log      *slog.Logger
}

// NotificationTimeout bounds the work on one notification.
const NotificationTimeout = 30 * time.Second

// NewNotifications returns the notification dispatcher of a payments service, keeping received
// notifications in queue.
func NewNotifications(payments *Service, h NotificationHandlers, queue NotificationQueue, log *slog.Logger) *Notifications {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifications{payments: payments, handlers: h, queue: queue, log: log}
}

// Receive keeps n durably, with the job that will apply it, and returns once it is kept: only
// then may the provider be told it was received. Errors: the store's.
func (ns *Notifications) Receive(ctx context.Context, n psp.Notification) error {
	return ns.queue.EnqueueNotification(ctx, n, ns.payments.clock.Now())
}

// ApplyKept applies a kept notification (its job): claimed, applied, marked applied. An error
// leaves it to the job's next attempt; one already applied is done.
func (ns *Notifications) ApplyKept(ctx context.Context, id string) error {
	n, ok, err := ns.queue.ClaimNotification(ctx, id)
	if err != nil || !ok {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, NotificationTimeout)
	defer cancel()
	if err := ns.Apply(ctx, n); err != nil && !errors.Is(err, psp.ErrNotFound) { // a resource the provider does not know: nothing to apply
		return fmt.Errorf("apply %s %s: %w", n.Event, n.ResourceID, err)
	}
	return ns.queue.NotificationApplied(ctx, id, ns.payments.clock.Now())
}

// Wait returns once every notification kept so far is applied, or after a minute (for tests
// and tools; the job queue applies them whether anyone waits or not).
func (ns *Notifications) Wait() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		n, err := ns.queue.UnappliedNotifications(ctx)
		if err != nil || n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Apply re-reads the resource n names and applies it: card pay-ins to their intent, direct-debit
// pay-ins, mandates, repudiations and disputes to their handlers. Unknown resources and kinds nobody handles are ignored
// (logged). Errors: psp.ErrUnavailable and storage errors.
func (ns *Notifications) Apply(ctx context.Context, n psp.Notification) error {
	log := ns.log.With(slog.String("event", n.Event), slog.String("kind", string(n.Kind)), slog.String("resource_id", n.ResourceID))
	switch n.Kind {
	case psp.ResourcePayIn:
		return ns.applyPayIn(ctx, log, n.ResourceID)
	case psp.ResourceMandate:
		if ns.handlers.Mandates == nil {
			log.Info("provider notification ignored: no mandate handler")
			return nil
		}
		return ns.handlers.Mandates.ApplyMandate(ctx, n.ResourceID)
	case psp.ResourceRepudiation:
		if ns.handlers.Repudiations == nil {
			log.Info("provider notification ignored: no repudiation handler")
			return nil
		}
		return ns.handlers.Repudiations.ApplyRepudiation(ctx, n.ResourceID)
	case psp.ResourcePayout:
		if ns.handlers.Payouts == nil {
			log.Info("provider notification ignored: no payout handler")
			return nil
		}
		return ns.handlers.Payouts.ApplyPayout(ctx, n.ResourceID)
	case psp.ResourceRefund:
		return ns.applyRefund(ctx, log, n.ResourceID)
	case psp.ResourceOwner:
		if ns.handlers.Payouts == nil {
			log.Info("provider notification ignored: no owner handler")
			return nil
		}
		return ns.handlers.Payouts.ApplyOwner(ctx, n.ResourceID)
	case psp.ResourceDispute:
		if ns.handlers.Disputes == nil {
			log.Info("provider notification ignored: no dispute handler")
			return nil
		}
		return ns.handlers.Disputes.ApplyDispute(ctx, n.ResourceID)
	default:
		log.Info("provider notification ignored: kind not handled")
		return nil
	}
}

// applyRefund applies a refund notification: a returned payout (a refund of a payout) to the
// payouts' handler; other refunds are answered where they are made.
func (ns *Notifications) applyRefund(ctx context.Context, log *slog.Logger, refundID string) error {
	if ns.handlers.Payouts == nil || ns.payments.provider == nil {
		log.Info("provider notification ignored: refund not handled")
		return nil
	}
	r, err := ns.payments.provider.GetRefund(ctx, refundID)
	if errors.Is(err, psp.ErrNotFound) {
		log.Info("provider notification ignored: unknown refund")
		return nil
	}
	if err != nil {
		return err
	}
	if r.InitialKind != psp.RefundOfPayout || r.Status != psp.RefundSucceeded {
		log.Info("provider notification ignored: refund not handled")
		return nil
	}
	return ns.handlers.Payouts.ApplyReturn(ctx, r.InitialID, r.Failure)
}

func (ns *Notifications) applyPayIn(ctx context.Context, log *slog.Logger, payInID string) error {
	s := ns.payments
	if s.provider == nil {
		return ErrNoProvider
	}
	p, err := s.provider.GetPayIn(ctx, payInID)
	if errors.Is(err, psp.ErrNotFound) {
		log.Info("provider notification ignored: unknown pay-in")
		return nil
	}
	if err != nil {
		return err
	}
	if p.Method == psp.PayInDirectDebit {
		if ns.handlers.DirectDebits == nil {
			log.Info("provider notification ignored: no direct-debit handler")
			return nil
		}
		return ns.handlers.DirectDebits.ApplyDirectDebit(ctx, p)
	}
	pi, err := s.intentOfPayIn(ctx, p)
	if errors.Is(err, ErrNotFound) {
		log.Info("provider notification ignored: no intent for this pay-in")
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.applyPayIn(ctx, pi, p)
	return err
}
