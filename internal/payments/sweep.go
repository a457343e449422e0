package payments

import (
	"context"
	"errors"
	"log/slog"

	"github.com/vhupay/vhupay/internal/psp"
)

// Metrics counts what Reconcile finds.
type Metrics interface {
	// OrphanPayInRefunded counts a succeeded pay-in no intent keeps, refunded by the sweep.
	OrphanPayInRefunded(amount int64)
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

// Reconcile is the periodic safety net of card payments (run by the job queue):
//   - every card intent left processing with no recorded pay-in for longer than UnsentAfter (a
//     crash or a lost answer after its charge was asked) is resumed (see resume);
//   - every pay-in that succeeded at the provider within SweepWindow is matched with its intent
//     (by pay-in id, else by tag): an open intent is settled, a final one that cannot keep the
//     money gets it refunded, and a card pay-in that no intent keeps is refunded (once: the
//     refund is recorded), logged and counted (Metrics.OrphanPayInRefunded).
//
// Errors of single intents or pay-ins are logged and left to the next run; the provider
// unreachable is returned.
func (s *Service) Reconcile(ctx context.Context) (Reconciled, error) {
	var out Reconciled
	if s.provider == nil {
		return out, nil
	}
	now := s.clock.Now()
	unsent, err := s.store.UnsentCardIntents(ctx, now.Add(-s.unsentAfter), unsentBatch)
	if err != nil {
		return out, err
	}
	for _, pi := range unsent {
		got, err := s.refresh(ctx, pi)
		if errors.Is(err, psp.ErrUnavailable) {
			return out, err
		}
		if err != nil {
			s.log.WarnContext(ctx, "resume a card intent", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
			continue
		}
		if got.Status != pi.Status || got.ProviderPayInID != "" {
			out.Resumed++
		}
	}
	ids, err := s.provider.SucceededPayIns(ctx, now.Add(-s.sweepWindow), now)
	if err != nil {
		return out, err
	}
	for _, id := range ids {
		refunded, err := s.sweepPayIn(ctx, id)
		if errors.Is(err, psp.ErrUnavailable) {
			return out, err
		}
		if err != nil {
			s.log.WarnContext(ctx, "sweep a pay-in", slog.String("payin_id", id), slog.String("err", err.Error()))
			continue
		}
		if refunded {
			out.OrphansRefunds++
		}
	}
	return out, nil
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
	if refunded, err := s.store.OrphanRefundOf(ctx, payInID); err != nil || refunded != "" {
		return false, err
	}
	p, err := s.provider.GetPayIn(ctx, payInID)
	if err != nil {
		return false, err
	}
	if p.Method != psp.PayInCard || p.Status != psp.PayInSucceeded {
		return false, nil // direct debits belong to the collections' own polling
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
	if err := s.store.RecordOrphanRefund(ctx, p.ID, r.ID, p.Amount, s.clock.Now()); err != nil {
		return err
	}
	s.metrics.OrphanPayInRefunded(p.Amount)
	s.log.ErrorContext(ctx, "refunded a pay-in no intent keeps", slog.String("payin_id", p.ID), slog.String("tag", p.Tag),
		slog.Int64("amount", p.Amount), slog.String("refund_id", r.ID))
	return nil
}
