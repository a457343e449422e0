package collections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vhupay/vhupay/internal/psp"
)

// ApplyDirectDebit applies a direct-debit pay-in just re-read from the provider to its
// collection (payments.DirectDebitHandler): the provider notifications, the polling safety net
// and the submission itself call it.
//
//   - succeeded: a submitted collection succeeds (settled_at), its intents succeed and its
//     mandate becomes active when it was submitted;
//   - failed for insufficient funds on a first attempt: the collection is retrying, presented
//     once more RetryAfter later (see RepresentDue); nothing is recorded unpaid meanwhile;
//   - failed otherwise: a pending or submitted collection fails with the pay-in's failure code, its
//     intents fail, an unpaid debit is recorded and the buyer's SEPA is suspended; a succeeded
//     collection whose pay-in is now reported failed (a late failure) fails the same way, but its
//     intents stay succeeded (see docs/collections.md);
//   - created: nothing to do.
//
// Every change is conditional on the status it moves from, so duplicate and out-of-order
// notifications change nothing, and a failed collection never changes again. A pay-in of no
// collection (a card pay-in, or one vhupay did not record yet) is not an error: it is ignored.
func (s *Service) ApplyDirectDebit(ctx context.Context, payIn psp.PayIn) error {
	c, err := s.store.CollectionByPayIn(ctx, payIn.ID)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "direct-debit pay-in of no collection ignored", slog.String("pay_in_id", payIn.ID))
		return nil
	}
	if err != nil {
		return err
	}
	switch payIn.Status {
	case psp.PayInSucceeded:
		applied, err := s.store.Succeed(ctx, c.ID, s.clock.Now())
		if err != nil {
			return fmt.Errorf("succeed collection %s: %w", c.ID, err)
		}
		if applied {
			s.log.InfoContext(ctx, "SEPA collection succeeded", slog.String("collection_id", c.ID), slog.String("buyer_id", c.BuyerID))
		}
		return nil
	case psp.PayInFailed:
		code := failureOf(payIn.Failure)
		if c.Status == StatusRetrying {
			return nil // news of the first debit, whose failure is already applied
		}
		if c.Status == StatusSubmitted && Retries(code, c.Attempts) {
			now := s.clock.Now()
			applied, err := s.store.Retry(ctx, c.ID, now.Add(s.cfg.RetryAfter), now)
			if err != nil {
				return fmt.Errorf("retry collection %s: %w", c.ID, err)
			}
			if applied {
				s.log.InfoContext(ctx, "SEPA collection failed for insufficient funds: presented again later",
					slog.String("collection_id", c.ID), slog.String("buyer_id", c.BuyerID), slog.Time("retry_at", now.Add(s.cfg.RetryAfter)))
			}
			return nil
		}
		message := fmt.Sprintf("the SEPA collection %s of %s failed: %s", c.ID, c.Month, code)
		if c.Status == StatusSucceeded {
			message = fmt.Sprintf("the SEPA collection %s of %s failed after it had succeeded: %s", c.ID, c.Month, code)
		}
		return s.fail(ctx, c, code, message, "")
	default:
		return nil
	}
}

// ApplyRepudiation applies a repudiation re-read from the provider (payments.RepudiationHandler,
// for PAYIN_REPUDIATION_* notifications): money taken back after a collection's pay-in had
// succeeded — a SEPA late failure or the buyer disputing the debit. A repudiation under way or
// done (created or succeeded) makes the collection failed with code payment_disputed (or the
// repudiation's own SEPA reason) as an unpaid debit after success: the buyer is suspended and the
// intents stay succeeded. A failed repudiation (nothing taken back) changes nothing, nor does a
// repudiation of a pay-in of no collection.
//
// Errors: psp.ErrUnavailable (retry later); an unknown repudiation is ignored.
func (s *Service) ApplyRepudiation(ctx context.Context, repudiationID string) error {
	if s.provider == nil {
		return errNoProvider
	}
	r, err := s.provider.GetRepudiation(ctx, repudiationID)
	if errors.Is(err, psp.ErrNotFound) {
		s.log.InfoContext(ctx, "unknown repudiation ignored", slog.String("repudiation_id", repudiationID))
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status == psp.PayInFailed {
		return nil
	}
	c, err := s.store.CollectionByPayIn(ctx, r.PayInID)
	if errors.Is(err, ErrNotFound) {
		s.log.InfoContext(ctx, "repudiation of no collection ignored", slog.String("repudiation_id", r.ID), slog.String("pay_in_id", r.PayInID))
		return nil
	}
	if err != nil {
		return err
	}
	code := FailurePaymentDisputed
	if r.Failure != "" && r.Failure != psp.FailureProviderError {
		code = failureOf(r.Failure)
	}
	return s.fail(ctx, c, code, fmt.Sprintf("the SEPA collection %s of %s was taken back: %s", c.ID, c.Month, code), r.ID)
}

// pollLimit bounds one safety-net round.
const pollLimit = 200

// Reconcile is the polling safety net behind the notifications: it reads from the provider the
// pay-ins of collections submitted more than PollAfter ago and still submitted (not read in the
// last PollEvery), and applies them. It returns how many it read. A provider outage stops the
// round with psp.ErrUnavailable; the next round picks up where it stopped.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	if s.provider == nil {
		return 0, nil
	}
	now := s.clock.Now()
	due, err := s.store.DueForPolling(ctx, now.Add(-s.cfg.PollAfter), now.Add(-s.cfg.PollEvery), pollLimit)
	if err != nil {
		return 0, err
	}
	read := 0
	for _, c := range due {
		payIn, err := s.provider.GetPayIn(ctx, c.ProviderPayInID)
		if err != nil && !errors.Is(err, psp.ErrNotFound) {
			return read, fmt.Errorf("read the pay-in of collection %s: %w", c.ID, err)
		}
		read++
		if err := s.store.MarkPolled(ctx, c.ID, now); err != nil {
			return read, err
		}
		if err != nil { // the provider does not know it: nothing to apply, operators must look
			s.log.ErrorContext(ctx, "the payment provider does not know a submitted collection's pay-in",
				slog.String("collection_id", c.ID), slog.String("pay_in_id", c.ProviderPayInID))
			continue
		}
		if err := s.ApplyDirectDebit(ctx, payIn); err != nil {
			return read, err
		}
	}
	return read, nil
}

// RepresentationKey is the provider idempotency key of a collection's second debit: a new key,
// derived from the collection, so that a re-presentation interrupted between the provider's
// answer and its record gets the same pay-in back.
func RepresentationKey(collectionID string) string { return collectionID + "-representation" }

// RepresentDue presents again the retrying collections whose retry_at has come by the clock
// (the sandbox test clock in sandbox mode): one direct-debit pay-in each, with
// RepresentationKey, recorded retrying → submitted (second attempt). The job queue runs it
// periodically, once across processes; a run interrupted anywhere is safe to run again (the key
// gives the same pay-in back, the record is conditional). It returns how many it submitted or
// failed. A provider outage stops the round with its error; the next round goes on.
func (s *Service) RepresentDue(ctx context.Context) (int, error) {
	due, err := s.store.DueRetries(ctx, s.clock.Now(), pollLimit)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, sub := range due {
		if err := s.debit(ctx, sub, RepresentationKey(sub.Collection.ID), s.store.MarkResubmitted); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}
