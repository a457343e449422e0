package collections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
)

// The collections step's checkpoints: the month's collections exist; they are pre-notified.
const (
	checkpointCreated     = "created"
	checkpointPrenotified = "prenotified"
)

// CollectMonth is the month close's "collections" step for month: it creates one collection per
// buyer with SEPA payments in month and submits each as one direct-debit pay-in. It returns the
// number of collections of month.
//
// Before any submission every collection is pre-notified (see prenotify), and checkpointed.
//
// Creation is set-based (Store.CreateMonth: one INSERT … SELECT … GROUP BY under
// UNIQUE(buyer_id, month), one UPDATE linking the intents, one UPDATE of the amounts), in one
// transaction, then checkpointed. Submission goes over the month's pending collections in id
// order, a batch at a time: one provider call per collection, Workers at a time (or one call for
// the batch when the provider takes batches), with the collection id as its idempotency key, so a
// run interrupted between the call and the write gets the same pay-in back when it runs again,
// and collections already submitted are never submitted again; each batch's pay-ins are recorded
// together in one unit of work (see submitBatch). The step reports its
// progress (collections submitted or failed, of the month's) after every batch.
//
// A buyer without a usable mandate on its default account (its mandate was cancelled, its
// account deleted) gets a failed collection (mandate_cancelled: unpaid debit, suspension) and the
// step goes on; so does one whose debit the provider refuses (provider_error). A provider
// outage returns the error: the job queue retries the step later.
func (s *Service) CollectMonth(ctx context.Context, month string, progress Progress) (int, error) {
	if progress.Checkpoint() == "" {
		if _, err := s.store.CreateMonth(ctx, month, s.clock.Now()); err != nil {
			return 0, fmt.Errorf("create the collections of %s: %w", month, err)
		}
		if err := progress.Save(ctx, checkpointCreated); err != nil {
			return 0, err
		}
	}
	if progress.Checkpoint() != checkpointPrenotified {
		if err := s.prenotify(ctx, month); err != nil {
			return 0, err
		}
		if err := progress.Save(ctx, checkpointPrenotified); err != nil {
			return 0, err
		}
	}
	total, err := s.store.CountMonth(ctx, month)
	if err != nil {
		return 0, err
	}
	pending, err := s.store.CountPending(ctx, month)
	if err != nil {
		return 0, err
	}
	done := total - pending // submitted by earlier runs
	if err := progress.Report(ctx, done, total); err != nil {
		return 0, err
	}
	after := ""
	for {
		batch, err := s.store.PendingSubmissions(ctx, month, after, s.cfg.Batch)
		if err != nil {
			return 0, err
		}
		if len(batch) == 0 {
			break
		}
		if err := s.submitBatch(ctx, batch); err != nil {
			return 0, err
		}
		after = batch[len(batch)-1].Collection.ID
		done = min(done+len(batch), total)
		if err := progress.Report(ctx, done, total); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// prenotify pre-notifies every pending collection of month not pre-notified yet (DOMAIN-2.md):
// due date the second TARGET2 business day after today (Europe/Paris), the creditor id, the
// mandate's reference, and the sepa_collection.prenotified event, batch by batch. A resumed run
// finds the collections already pre-notified and leaves them as they are.
func (s *Service) prenotify(ctx context.Context, month string) error {
	now := s.clock.Now()
	n := Prenotice{DueDate: DueDate(now.In(clock.Paris())), CreditorID: s.cfg.CreditorID, At: now}
	for after := ""; ; {
		_, last, err := s.store.Prenotify(ctx, month, after, n, s.cfg.Batch)
		if err != nil {
			return fmt.Errorf("pre-notify the collections of %s: %w", month, err)
		}
		if last == "" {
			return nil
		}
		after = last
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// submitBatch submits a batch of pending collections: the provider is asked for each debit
// (outside any transaction; each collection was recorded pending, and its id is the idempotency
// key) — in one call for the batch when it takes batches (psp.DirectDebitBatcher: the sandbox),
// else one call per debit, Workers at a time — then the pay-ins obtained are recorded together in
// one unit of work (Store.MarkSubmittedMany) — also when a call failed or ctx ended halfway, so
// that no pay-in obtained waits for a second call — and the pay-ins already final are applied. A
// collection without a usable mandate, or whose debit the provider refuses, is failed on its own
// as submit does. It returns the first error (a provider outage, ctx's).
func (s *Service) submitBatch(ctx context.Context, batch []Submission) error {
	var (
		made    []Submitted
		payIns  []psp.PayIn
		callErr error
	)
	if batcher, ok := s.provider.(psp.DirectDebitBatcher); ok {
		made, payIns, callErr = s.askDebits(ctx, batcher, batch)
	} else {
		var mu sync.Mutex
		callErr = forEach(ctx, s.cfg.Workers, batch, func(ctx context.Context, sub Submission) error {
			payIn, ok, err := s.askDebit(ctx, sub, sub.Collection.ID)
			if err != nil || !ok {
				return err
			}
			mu.Lock()
			made = append(made, Submitted{ID: sub.Collection.ID, ProviderPayInID: payIn.ID, MandateID: sub.MandateID})
			payIns = append(payIns, payIn)
			mu.Unlock()
			return nil
		})
	}
	if len(made) > 0 {
		if _, err := s.store.MarkSubmittedMany(context.WithoutCancel(ctx), made, s.clock.Now()); err != nil {
			return errors.Join(callErr, err)
		}
	}
	if callErr != nil {
		return callErr
	}
	for _, payIn := range payIns {
		if payIn.Status != psp.PayInCreated {
			if err := s.ApplyDirectDebit(ctx, payIn); err != nil {
				return err
			}
		}
	}
	return nil
}

// askDebits asks a provider that takes batches for the batch's debits in one call, each with
// its collection id as idempotency key, and returns the pay-ins obtained with what to record of
// them. Each collection is otherwise handled as askDebit handles it: no usable mandate, or a
// refusal, fails it; the first other error (a provider outage) is returned with the pay-ins
// obtained, which the caller records.
func (s *Service) askDebits(ctx context.Context, batcher psp.DirectDebitBatcher, batch []Submission) ([]Submitted, []psp.PayIn, error) {
	subs := make([]Submission, 0, len(batch))
	reqs := make([]psp.DirectDebitPayInRequest, 0, len(batch))
	for _, sub := range batch {
		req, ok, err := s.debitRequest(ctx, sub, sub.Collection.ID)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			subs, reqs = append(subs, sub), append(reqs, req)
		}
	}
	if len(reqs) == 0 {
		return nil, nil, nil
	}
	results, err := batcher.CreateDirectDebitPayIns(ctx, reqs)
	if err != nil {
		return nil, nil, fmt.Errorf("submit %d collections from %s: %w", len(reqs), subs[0].Collection.ID, err)
	}
	if len(results) != len(reqs) {
		// Which request each result answers is unknown: record nothing; the keys make the
		// next run's call return the same pay-ins.
		return nil, nil, fmt.Errorf("submit %d collections from %s: the provider answered %d results", len(reqs), subs[0].Collection.ID, len(results))
	}
	var (
		made    []Submitted
		payIns  []psp.PayIn
		callErr error
	)
	for i, sub := range subs {
		payIn, ok, err := s.debitOutcome(ctx, sub, results[i].PayIn, results[i].Err)
		if err != nil {
			callErr = cmp.Or(callErr, err)
			continue
		}
		if ok {
			made = append(made, Submitted{ID: sub.Collection.ID, ProviderPayInID: payIn.ID, MandateID: sub.MandateID})
			payIns = append(payIns, payIn)
		}
	}
	return made, payIns, callErr
}

// debit asks the provider for the collection's direct debit with idempotency key key, records
// the pay-in with mark, and applies the pay-in's state when it is already final. No usable
// mandate, or a refusal, fails the collection.
func (s *Service) debit(ctx context.Context, sub Submission, key string,
	mark func(ctx context.Context, id, providerPayInID, mandateID string, at time.Time) (bool, error)) error {
	payIn, ok, err := s.askDebit(ctx, sub, key)
	if err != nil || !ok {
		return err
	}
	if _, err := mark(ctx, sub.Collection.ID, payIn.ID, sub.MandateID, s.clock.Now()); err != nil {
		return err
	}
	if payIn.Status != psp.PayInCreated {
		return s.ApplyDirectDebit(ctx, payIn)
	}
	return nil
}

// askDebit asks the provider for the collection's direct debit with idempotency key key and
// returns the pay-in (ok) to record. No usable mandate, or a refusal, fails the collection
// instead (ok false, nil error).
func (s *Service) askDebit(ctx context.Context, sub Submission, key string) (payIn psp.PayIn, ok bool, err error) {
	req, ok, err := s.debitRequest(ctx, sub, key)
	if err != nil || !ok {
		return psp.PayIn{}, false, err
	}
	payIn, err = s.provider.CreateDirectDebitPayIn(ctx, req)
	return s.debitOutcome(ctx, sub, payIn, err)
}

// debitRequest returns the provider request of the collection's direct debit with idempotency
// key key (ok), after finding its payer. No usable mandate fails the collection instead (ok
// false, nil error).
func (s *Service) debitRequest(ctx context.Context, sub Submission, key string) (req psp.DirectDebitPayInRequest, ok bool, err error) {
	c := sub.Collection
	if sub.ProviderMandateID == "" {
		s.log.WarnContext(ctx, "SEPA collection failed: no usable mandate on the default bank account",
			slog.String("collection_id", c.ID), slog.String("buyer_id", c.BuyerID), slog.String("month", c.Month))
		return req, false, s.fail(ctx, c, FailureMandateCancelled, "the buyer has no usable SEPA mandate on its default bank account", "")
	}
	if s.provider == nil {
		return req, false, errNoProvider
	}
	userID, walletID := sub.PayerUserID, sub.PayerWalletID
	if userID == "" || walletID == "" {
		p, err := s.payers.Ensure(ctx, c.BuyerID)
		if err != nil {
			return req, false, fmt.Errorf("payer of %s: %w", c.BuyerID, err)
		}
		userID, walletID = p.UserID, p.WalletID
	}
	return psp.DirectDebitPayInRequest{
		IdempotencyKey: key, AuthorID: userID, CreditedWalletID: walletID, MandateID: sub.ProviderMandateID,
		Amount: c.Amount, StatementDescriptor: "vhupay " + c.Month, Tag: c.ID,
	}, true, nil
}

// debitOutcome turns the provider's answer to the collection's debit into the pay-in to record
// (ok). A refusal fails the collection instead (ok false, nil error); another error is returned.
func (s *Service) debitOutcome(ctx context.Context, sub Submission, payIn psp.PayIn, err error) (psp.PayIn, bool, error) {
	c := sub.Collection
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) {
		// A refusal is final for this key: retrying would be refused again. The debit did not
		// happen, which is an unpaid debit for the platform; operators see the log.
		s.log.ErrorContext(ctx, "SEPA collection refused by the payment provider",
			slog.String("collection_id", c.ID), slog.String("buyer_id", c.BuyerID), slog.String("month", c.Month),
			slog.String("code", rejected.Code), slog.String("message", rejected.Message), slog.String("reference", rejected.Reference))
		return psp.PayIn{}, false, s.fail(ctx, c, FailureProviderError, "the payment provider refused the debit", "")
	}
	if err != nil {
		return psp.PayIn{}, false, fmt.Errorf("submit collection %s: %w", c.ID, err)
	}
	return payIn, true, nil
}

// fail fails a collection with code and logs it; an already failed collection is left alone.
func (s *Service) fail(ctx context.Context, c Collection, code FailureCode, message, reference string) error {
	applied, err := s.store.Fail(ctx, Failure{
		CollectionID: c.ID, Code: code, Message: message, Reference: reference, At: s.clock.Now(),
		SuspendReason: fmt.Sprintf("collection %s of %s failed: %s", c.ID, c.Month, code),
	})
	if err != nil {
		return fmt.Errorf("fail collection %s: %w", c.ID, err)
	}
	if applied {
		s.log.InfoContext(ctx, "SEPA collection failed: unpaid debit recorded, buyer suspended",
			slog.String("collection_id", c.ID), slog.String("buyer_id", c.BuyerID), slog.String("failure_code", string(code)))
	}
	return nil
}
