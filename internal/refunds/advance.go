package refunds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
)

// ErrNoProvider: this process has no payment provider; the refund waits for one that has.
var ErrNoProvider = fmt.Errorf("no payment provider is configured: %w", psp.ErrUnavailable)

// Provider result codes a refund waits on rather than fails with.
const (
	codeSameAmountToday   = "005407" // the same amount refunded within 24 hours
	codeDirectDebitTooNew = "001405" // a direct debit younger than the refund window
	codeInsufficient      = "001001" // the centre's wallet cannot give its share back yet
)

// AdvanceJob carries one pending refund to its end on the job queue (River): enqueued in the
// unit of work that records the refund, so that a refund whose request crashed, or whose provider
// did not answer, is finished without waiting for anyone; it waits until the refund is due (the
// 8th day of a direct debit, the same-amount window) and runs Advance. The periodic ProcessDue is
// the net behind it.
type AdvanceJob struct {
	RefundID string `json:"refund_id"`
}

// Kind implements txn.Job.
func (AdvanceJob) Kind() string { return "refund_advance" }

// NextStep says when a refund's job should look at it again: done (not pending any more), or the
// time to wait (until it is due; at least minWait, at most maxWait: a refund waiting for its
// collection or the centre's transfer is looked at again). Errors: ErrNotFound, storage errors.
func (s *Service) NextStep(ctx context.Context, refundID string, minWait, maxWait time.Duration) (wait time.Duration, done bool, err error) {
	r, err := s.store.Refund(ctx, refundID)
	if err != nil {
		return 0, false, err
	}
	if r.Status != StatusPending {
		return 0, true, nil
	}
	return min(max(r.NotBefore.Sub(s.clock.Now()), minWait), maxWait), false, nil
}

// retryAfterRefusal is how long a refund waits after a refusal it waits on.
const retryAfterRefusal = 24 * time.Hour

// Advance carries a pending refund through its provider steps, as far as they go now: a SEPA
// refund waiting for its collection is posted once collected (or fails with it); then the
// centre's transfer is refunded, then the pay-in. Each step's outcome is written before the next
// is asked, and each provider call has an idempotency key derived from the refund, so that a
// crash between two calls resumes where it stopped and never refunds twice. Refunds not pending,
// or not due yet, are left as they are. Errors: psp.ErrUnavailable, ErrNoProvider, storage errors.
func (s *Service) Advance(ctx context.Context, refundID string) error {
	for range 4 {
		r, err := s.store.Refund(ctx, refundID)
		if err != nil {
			return err
		}
		if r.Status != StatusPending || s.clock.Now().Before(r.NotBefore) {
			return nil
		}
		t, err := s.store.Target(ctx, r.PaymentIntentID)
		if err != nil {
			return err
		}
		var more bool
		switch r.Stage {
		case StageAwaitingCollection:
			more, err = s.afterCollection(ctx, r, t)
		case StageRecorded:
			more, err = s.refundTransfer(ctx, r, t)
		case StageTransferRefunded:
			more, err = s.refundPayIn(ctx, r, t)
		default:
			return nil
		}
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// change writes a change of a pending refund in a unit of work (fn changes it and may write
// more); false when the refund was no longer pending (another process moved it).
func (s *Service) change(ctx context.Context, r Refund, fn func(tx Tx, r *Refund) error) (bool, error) {
	var ok bool
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.LockPayment(ctx, r.PaymentIntentID); err != nil {
			return err
		}
		cur, err := tx.CurrentRefund(ctx, r.ID)
		if err != nil {
			return err
		}
		if cur.Status != StatusPending || cur.Stage != r.Stage || cur.Attempts != r.Attempts {
			return nil
		}
		cur.UpdatedAt = s.clock.Now()
		if err := fn(tx, &cur); err != nil {
			return err
		}
		if ok, err = tx.UpdateRefund(ctx, cur); err != nil || !ok {
			return err
		}
		if cur.Status == StatusSucceeded {
			return s.succeeded(ctx, tx, cur)
		}
		if cur.Status == StatusFailed {
			return s.emit(ctx, tx, "refund.failed", cur.ID, cur.UpdatedAt)
		}
		return nil
	})
	return ok, err
}

// fail ends a refund that cannot be made: its reservation is released and, when its ledger
// transaction was written, an adjustment gives the centre and the platform their shares back.
func (s *Service) fail(ctx context.Context, tx Tx, r *Refund, code string) error {
	if err := r.Fail(code, r.UpdatedAt); err != nil {
		return err
	}
	if err := tx.Release(ctx, r.PaymentIntentID, r.Amount, r.UpdatedAt); err != nil {
		return err
	}
	if !r.Posted {
		return nil
	}
	external := ledger.ExternalCard
	if r.Method == string(payments.MethodSEPADebit) {
		external = ledger.ExternalSEPA
	}
	postings := []ledger.Posting{{Account: external, Amount: -r.Amount}}
	if net := r.Amount - r.Fee; net != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.Center(r.CenterID), Amount: net})
	}
	if r.Fee != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.PlatformFees, Amount: r.Fee})
	}
	return tx.Post(ctx, ledger.Transaction{Kind: string(balances.TypeAdjustment), SourceID: r.ID, Postings: postings, At: r.UpdatedAt})
}

// afterCollection moves a SEPA refund that waited for its collection: collected — posted and
// due from the 8th day after the debit; failed — the refund fails (nothing was paid).
func (s *Service) afterCollection(ctx context.Context, r Refund, t Target) (bool, error) {
	switch {
	case t.Intent.Status == payments.StatusSucceeded && t.Earned:
		_, err := s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.Stage = StageRecorded
			cur.NotBefore = later(cur.UpdatedAt, t.CollectionSubmittedAt.Add(SEPARefundDelay))
			return s.post(ctx, tx, t, cur)
		})
		return err == nil, err
	case t.Intent.Status == payments.StatusFailed || t.CollectionStatus == "failed":
		_, err := s.change(ctx, r, func(tx Tx, cur *Refund) error { return s.fail(ctx, tx, cur, FailureCollectionFailed) })
		return false, err
	}
	return false, nil
}

// refundTransfer gives back the centre's transfer of the payment (its part of the refund and the
// platform's share of the fee). A transfer still to make waits; one that was never made (failed
// at the provider) leaves nothing to give back.
func (s *Service) refundTransfer(ctx context.Context, r Refund, t Target) (bool, error) {
	switch t.TransferStatus {
	case "succeeded":
	case "pending":
		return false, nil // the transfer job makes it first
	default: // no transfer (none recorded, or refused): the money is still in the buyer's wallet
		ok, err := s.change(ctx, r, func(tx Tx, cur *Refund) error { cur.Stage = StageTransferRefunded; return nil })
		return ok, err
	}
	if s.provider == nil {
		return false, ErrNoProvider
	}
	payer, err := s.payers.Ensure(ctx, r.BuyerID)
	if err != nil {
		return false, err
	}
	got, err := s.provider.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: fmt.Sprintf("refund-transfer-%s-%d", r.ID, r.Attempts),
		TransferID: t.ProviderTransferID, AuthorID: payer.UserID, Amount: r.Amount, Fees: r.Fee, Tag: r.ID})
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected):
		_, err = s.change(ctx, r, func(tx Tx, cur *Refund) error { return s.fail(ctx, tx, cur, FailureProviderRefused) })
		return false, err
	case err != nil:
		return false, err
	case got.Status == psp.RefundSucceeded:
		ok, err := s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.Stage, cur.ProviderTransferRefundID = StageTransferRefunded, got.ID
			return nil
		})
		return ok, err
	case got.Status == psp.RefundFailed && got.ResultCode == codeInsufficient:
		// The centre's wallet lacks its share (paid out): the refund waits for its next earnings.
		s.log.WarnContext(ctx, "a refund waits for the centre's wallet", slog.String("refund_id", r.ID), slog.String("center_id", r.CenterID))
		// Asked again with a new key: the provider answers a key's first outcome again.
		_, err := s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.Attempts++
			cur.NotBefore = cur.UpdatedAt.Add(time.Hour)
			return nil
		})
		return false, err
	case got.Status == psp.RefundFailed:
		_, err = s.change(ctx, r, func(tx Tx, cur *Refund) error { return s.fail(ctx, tx, cur, FailureProviderRefused) })
		return false, err
	}
	return false, nil // created: the next round reads it again with the same key
}

// refundPayIn refunds the buyer's pay-in (the card payment, or the collection's direct debit).
// A refusal for the same amount within 24 hours, or a direct debit too recent, waits and is
// asked again with a new key (MangoPay blocks a key used on a refused call).
func (s *Service) refundPayIn(ctx context.Context, r Refund, t Target) (bool, error) {
	payInID := t.Intent.ProviderPayInID
	if t.Intent.Method == payments.MethodSEPADebit {
		payInID = t.CollectionPayInID
	}
	if s.provider == nil {
		return false, ErrNoProvider
	}
	payer, err := s.payers.Ensure(ctx, r.BuyerID)
	if err != nil {
		return false, err
	}
	got, err := s.provider.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: fmt.Sprintf("refund-payin-%s-%d", r.ID, r.Attempts),
		PayInID: payInID, AuthorID: payer.UserID, Amount: r.Amount, Tag: r.ID})
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected):
		_, err = s.change(ctx, r, func(tx Tx, cur *Refund) error { return s.fail(ctx, tx, cur, FailureProviderRefused) })
		return false, err
	case err != nil:
		return false, err
	case got.Status == psp.RefundSucceeded:
		_, err := s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.ProviderRefundID = got.ID
			return cur.Succeed(StageDone, cur.UpdatedAt)
		})
		return false, err
	case got.Status == psp.RefundFailed && (got.ResultCode == codeSameAmountToday || got.ResultCode == codeDirectDebitTooNew):
		_, err := s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.Attempts++
			cur.NotBefore = cur.UpdatedAt.Add(retryAfterRefusal)
			return nil
		})
		return false, err
	case got.Status == psp.RefundFailed:
		_, err = s.change(ctx, r, func(tx Tx, cur *Refund) error {
			cur.ProviderRefundID = got.ID
			return s.fail(ctx, tx, cur, FailureProviderRefused)
		})
		return false, err
	}
	return false, nil // created at the provider: the next round asks again with the same key
}
