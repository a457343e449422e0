package payments

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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

// NotificationHandlers are the other capabilities' shares of provider notifications. Nil fields
// are allowed: those notifications are then ignored (logged).
type NotificationHandlers struct {
	Mandates     MandateHandler
	DirectDebits DirectDebitHandler
	Repudiations RepudiationHandler
}

// Notifications applies provider notifications: the notification only names a resource, which is
// re-read from the provider and applied. Applying is idempotent and order-safe, so duplicate and
// out-of-order notifications change nothing.
type Notifications struct {
	payments *Service
	handlers NotificationHandlers
	log      *slog.Logger
	timeout  time.Duration
	slots    chan struct{}
	running  sync.WaitGroup
}

// Bounds of background notification work.
const (
	// MaxConcurrentNotifications is how many notifications are applied at once; more are dropped
	// (logged): the state is re-read on the next notification or refresh anyway.
	MaxConcurrentNotifications = 16
	// NotificationTimeout bounds the work on one notification.
	NotificationTimeout = 30 * time.Second
)

// NewNotifications returns the notification dispatcher of a payments service.
func NewNotifications(payments *Service, h NotificationHandlers, log *slog.Logger) *Notifications {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifications{payments: payments, handlers: h, log: log, timeout: NotificationTimeout,
		slots: make(chan struct{}, MaxConcurrentNotifications)}
}

// Receive applies n in the background, with its own timeout and a context not tied to the caller,
// and returns at once. It reports false when too many notifications are being applied (n is
// dropped).
func (ns *Notifications) Receive(n psp.Notification) bool {
	select {
	case ns.slots <- struct{}{}:
	default:
		ns.log.Warn("provider notification dropped: too many in flight", slog.String("event", n.Event), slog.String("resource_id", n.ResourceID))
		return false
	}
	ns.running.Add(1)
	go func() {
		defer ns.running.Done()
		defer func() { <-ns.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), ns.timeout)
		defer cancel()
		if err := ns.Apply(ctx, n); err != nil {
			ns.log.Error("apply provider notification", slog.String("event", n.Event), slog.String("kind", string(n.Kind)),
				slog.String("resource_id", n.ResourceID), slog.String("err", err.Error()))
		}
	}()
	return true
}

// Wait returns once every notification received so far is applied.
func (ns *Notifications) Wait() { ns.running.Wait() }

// Apply re-reads the resource n names and applies it: card pay-ins to their intent, direct-debit
// pay-ins, mandates and repudiations to their handlers. Unknown resources and kinds nobody handles are ignored
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
	default:
		log.Info("provider notification ignored: kind not handled")
		return nil
	}
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
	pi, err := s.store.IntentByPayIn(ctx, p.ID)
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
