package payments

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// Metrics counts what Reconcile finds.
type Metrics interface {
	// OrphanPayInRefunded counts a succeeded pay-in no intent keeps, refunded by the sweep.
	OrphanPayInRefunded(amount int64)
}

// SweepOutcome is how the sweep settled a provider pay-in for good.
type SweepOutcome string

const (
	// SweptNotCard: a direct-debit pay-in, the collections' own.
	SweptNotCard SweepOutcome = "not_card"
	// SweptOrphanRefunded: a card pay-in that no intent keeps, refunded.
	SweptOrphanRefunded SweepOutcome = "orphan_refunded"
)

// SweptPayIn is a provider pay-in the sweep settled for good: it is not read again.
type SweptPayIn struct {
	PayInID  string
	Outcome  SweepOutcome
	RefundID string // SweptOrphanRefunded
	Amount   int64
	At       time.Time
}

type noMetrics struct{}

func (noMetrics) OrphanPayInRefunded(int64) {}

// unsentBatch bounds how many unsent card intents one Reconcile resumes.
const unsentBatch = 100

// Reconciled is what one Reconcile did.
type Reconciled struct {
	Resumed        int // processing card intents with no recorded pay-in, resumed
	OrphansRefunds int // succeeded pay-ins no intent keeps, refunded
}

// Reconcile runs ResumeUnsent, then SweepPayIns.
func (s *Service) Reconcile(ctx context.Context) (Reconciled, error) {
	resumed, err := s.ResumeUnsent(ctx)
	if err != nil {
		return Reconciled{Resumed: resumed}, err
	}
	refunded, err := s.SweepPayIns(ctx)
	return Reconciled{Resumed: resumed, OrphansRefunds: refunded}, err
}

// ResumeUnsent resumes (see resume) every card intent left processing with no recorded pay-in for
// longer than UnsentAfter (a crash or a lost answer after its charge was asked), up to 100 a run;
// it returns how many it moved. The job queue runs it every minute. An intent's own error is
// logged and left to the next run; the provider unreachable is returned.
func (s *Service) ResumeUnsent(ctx context.Context) (int, error) {
	if s.provider == nil {
		return 0, nil
	}
	unsent, err := s.store.UnsentCardIntents(ctx, s.clock.Now().Add(-s.unsentAfter), unsentBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pi := range unsent {
		got, err := s.refresh(ctx, pi)
		if errors.Is(err, psp.ErrUnavailable) {
			return n, err
		}
		if err != nil {
			s.log.WarnContext(ctx, "resume a card intent", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
			continue
		}
		if got.Status != pi.Status || got.ProviderPayInID != "" {
			n++
		}
	}
	return n, nil
}

// SweepPayIns is the safety net behind the card path: every pay-in that succeeded at the provider
// within SweepWindow is matched with its intent (by pay-in id, else by tag). An open intent is
// settled, a final one that cannot keep the money has it refunded (once), and a card pay-in that
// no intent keeps is refunded (once: recorded as swept), logged and counted
// (Metrics.OrphanPayInRefunded). Pay-ins settled for good (kept by a succeeded intent, refunded,
// direct debits) are not read from the provider again. It returns how many orphans it refunded.
// The job queue runs it every 15 minutes. A pay-in's own error is logged and left to the next
// run; the provider unreachable is returned.
func (s *Service) SweepPayIns(ctx context.Context) (int, error) {
	if s.provider == nil {
		return 0, nil
	}
	now := s.clock.Now()
	ids, err := s.provider.SucceededPayIns(ctx, now.Add(-s.sweepWindow), now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		refunded, err := s.sweepPayIn(ctx, id)
		if errors.Is(err, psp.ErrUnavailable) {
			return n, err
		}
		if err != nil {
			s.log.WarnContext(ctx, "sweep a pay-in", slog.String("payin_id", id), slog.String("err", err.Error()))
			continue
		}
		if refunded {
			n++
		}
	}
	return n, nil
}

// sweepPayIn matches one succeeded pay-in with its intent; it reports whether it refunded an
// orphan.
func (s *Service) sweepPayIn(ctx context.Context, payInID string) (bool, error) {
	// Known and settled: nothing to ask the provider.
	if pi, err := s.store.IntentByPayIn(ctx, payInID); err == nil {
		if pi.Status == StatusSucceeded {
			return false, nil
		}
		if refunded, err := s.store.RefundOf(ctx, pi.ID); err != nil || refunded != "" {
			return false, err
		}
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	if _, swept, err := s.store.SweptPayIn(ctx, payInID); err != nil || swept {
		return false, err
	}
	p, err := s.provider.GetPayIn(ctx, payInID)
	if err != nil {
		return false, err
	}
	if p.Method != psp.PayInCard {
		// Direct debits belong to the collections' own polling: not read again.
		return false, s.store.RecordSwept(ctx, SweptPayIn{PayInID: p.ID, Outcome: SweptNotCard, Amount: p.Amount, At: s.clock.Now()})
	}
	if p.Status != psp.PayInSucceeded {
		return false, nil
	}
	pi, err := s.intentOfPayIn(ctx, p)
	if err == nil {
		if !pi.IsOpen() && pi.Status != StatusSucceeded {
			if refunded, err := s.store.RefundOf(ctx, pi.ID); err != nil || refunded != "" {
				return false, err
			}
		}
		_, err = s.applyPayIn(ctx, pi, p)
		return false, err
	}
	if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, s.refundOrphan(ctx, p)
}

// refundOrphan refunds a succeeded card pay-in that no intent keeps (idempotent at the provider:
// the key is derived from the pay-in) and records the refund.
func (s *Service) refundOrphan(ctx context.Context, p psp.PayIn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refundTimeout)
	defer cancel()
	r, err := s.provider.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: "orphan-refund-" + p.ID, PayInID: p.ID,
		AuthorID: p.AuthorID, Tag: p.Tag})
	if err != nil {
		s.log.ErrorContext(ctx, "refund a pay-in no intent keeps", slog.String("payin_id", p.ID), slog.String("tag", p.Tag),
			slog.Int64("amount", p.Amount), slog.String("err", err.Error()))
		return err
	}
	if err := s.store.RecordSwept(ctx, SweptPayIn{PayInID: p.ID, Outcome: SweptOrphanRefunded, RefundID: r.ID, Amount: p.Amount,
		At: s.clock.Now()}); err != nil {
		return err
	}
	s.metrics.OrphanPayInRefunded(p.Amount)
	s.log.ErrorContext(ctx, "refunded a pay-in no intent keeps", slog.String("payin_id", p.ID), slog.String("tag", p.Tag),
		slog.Int64("amount", p.Amount), slog.String("refund_id", r.ID))
	return nil
}
