// Package collections debits SEPA payments at month close: one collection per buyer and month
// for the total of its SEPA payments of that month (DOMAIN.md, "SEPA direct debit"), submitted as
// one direct-debit pay-in on the buyer's default mandate, then settled by the provider's
// notifications (or the polling safety net). It also holds the month close's SEPA steps: the
// score refresh, the collections and the ceiling reviews.
//
// Every step and every settlement is idempotent and safe to run concurrently in several
// processes: collections are created set-based under UNIQUE(buyer_id, month), every status change
// is a conditional update from the status it was decided on, provider calls carry the
// collection id as their idempotency key, and no provider call happens inside a transaction.
package collections

import (
	"context"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/psp"
)

// Errors.
var (
	// ErrNotFound: no such collection, or one of another buyer.
	ErrNotFound = errors.New("not found")
	// ErrCeilingMoved: the ceiling or the suspension changed between a review's read and its
	// write; the review is decided again.
	ErrCeilingMoved = errors.New("the ceiling changed during its review")
)

// Status is where a collection stands (the contract's values).
//
//	pending → submitted → succeeded → failed (a late failure or a repudiation)
//	pending → failed (no usable mandate; the provider refused the debit)
//	submitted → failed
//	submitted → retrying → submitted (the re-presentation of a debit that failed for
//	                                  insufficient funds) → succeeded | failed
//	retrying → failed (the re-presentation could not be submitted)
//	failed → recovered (the buyer paid it by card)
type Status string

// Collection statuses.
const (
	StatusPending   Status = "pending"
	StatusSubmitted Status = "submitted"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	// StatusRetrying: the first debit failed for insufficient funds; it is presented once more
	// at RetryAt.
	StatusRetrying Status = "retrying"
	// StatusRecovered: the buyer paid the failed collection by card.
	StatusRecovered Status = "recovered"
)

// CanBecome reports whether a collection may move from s to next (the graph above). Storage
// moves collections with conditional updates on the statuses Sources gives.
func (s Status) CanBecome(next Status) bool {
	switch next {
	case StatusSubmitted:
		return s == StatusPending || s == StatusRetrying
	case StatusSucceeded:
		return s == StatusSubmitted
	case StatusFailed:
		return s == StatusPending || s == StatusSubmitted || s == StatusSucceeded || s == StatusRetrying
	case StatusRetrying:
		return s == StatusSubmitted
	case StatusRecovered:
		return s == StatusFailed
	}
	return false
}

// MaxAttempts is how many times a collection is submitted at most: once, and once more after a
// failure for insufficient funds (the re-presentation).
const MaxAttempts = 2

// Retries reports whether a collection that failed with code after attempts submissions is
// presented once more rather than recorded as an unpaid debit.
func Retries(code FailureCode, attempts int) bool {
	return code == FailureInsufficientFunds && attempts < MaxAttempts
}

// Sources returns the statuses a collection may move to next from.
func Sources(next Status) []Status {
	var from []Status
	for _, s := range []Status{StatusPending, StatusSubmitted, StatusSucceeded, StatusFailed, StatusRetrying, StatusRecovered} {
		if s.CanBecome(next) {
			from = append(from, s)
		}
	}
	return from
}

// FailureCode is the provider-neutral reason a collection failed (SANDBOX.md).
type FailureCode string

// Failure codes.
const (
	FailureInsufficientFunds FailureCode = "insufficient_funds"
	FailureAccountClosed     FailureCode = "account_closed"
	FailureMandateCancelled  FailureCode = "mandate_cancelled"
	FailurePaymentDisputed   FailureCode = "payment_disputed"
	FailureProviderError     FailureCode = "provider_error"
)

// failureOf maps a provider failure onto a collection's failure code; anything that is not a
// SEPA reason (or none) is provider_error.
func failureOf(f psp.FailureCode) FailureCode {
	switch f {
	case psp.FailureInsufficientFunds:
		return FailureInsufficientFunds
	case psp.FailureAccountClosed:
		return FailureAccountClosed
	case psp.FailureMandateCancelled:
		return FailureMandateCancelled
	case psp.FailurePaymentDisputed:
		return FailurePaymentDisputed
	default:
		return FailureProviderError
	}
}

// Currency is the only currency of collections.
const Currency = "EUR"

// Collection is the month-end debit of one buyer for one month. Amount (cents) is the sum of its
// payment intents.
type Collection struct {
	ID      string
	BuyerID string
	Month   string // "2026-11", Europe/Paris
	Amount  int64
	// Currency is always "EUR".
	Currency    string
	Status      Status
	FailureCode FailureCode // set when failed
	// MandateID is the vhupay mandate the debit was submitted on ("" while pending, or when the
	// buyer had no usable mandate).
	MandateID string
	// ProviderPayInID is the provider's direct-debit pay-in ("" while pending); never shown.
	ProviderPayInID  string
	PaymentIntentIDs []string // in id order
	CreatedAt        time.Time
	SubmittedAt      time.Time // zero while pending
	// SettledAt is when the collection reached its latest outcome: its success, or its failure
	// (a late failure moves it); zero before.
	SettledAt time.Time
	// DueDate is the day the debit is due (midnight UTC of that date): the second TARGET2
	// business day after the close; zero until pre-notified.
	DueDate time.Time
	// PrenotifiedAt is when the buyer was told the amount and due date; zero before.
	PrenotifiedAt time.Time
	// MandateReference is the mandate's unique reference (UMR) given in the pre-notification;
	// CreditorID the creditor identifier (SCI) of the platform.
	MandateReference, CreditorID string
	// Attempts counts the debit's submissions (0 while pending; 2 after a re-presentation).
	Attempts int
	// RetryAt is when a retrying collection is presented again (zero otherwise).
	RetryAt time.Time
	// RecoveredBy is the card payment intent that paid a recovered collection ("" otherwise).
	RecoveredBy string
}

// Submission is a pending collection with what its debit needs, read in one query.
type Submission struct {
	Collection Collection
	// MandateID and ProviderMandateID: the newest submitted or active mandate of the buyer's
	// default bank account at the time of the read; "" when there is none.
	MandateID, ProviderMandateID string
	// PayerUserID and PayerWalletID: the buyer's provider user and wallet; "" when missing.
	PayerUserID, PayerWalletID string
}

// Submitted is a pending collection's pay-in, recorded by Store.MarkSubmittedMany.
type Submitted struct {
	ID, ProviderPayInID, MandateID string
}

// Failure is a collection's failure, applied by Store.Fail.
type Failure struct {
	CollectionID string
	Code         FailureCode
	// Message is kept as the last error of the collection's intents.
	Message string
	// Reference is the provider's repudiation id for a repudiation ("" otherwise).
	Reference string
	// SuspendReason is kept on the buyer's SEPA profile for operators.
	SuspendReason string
	At            time.Time
}

// Prenotice is what the month close's pre-notification gives each collection.
type Prenotice struct {
	DueDate    time.Time // midnight UTC of the due day
	CreditorID string
	At         time.Time
}

// Review is the outcome of one buyer's ceiling review for a closed month.
type Review struct {
	BuyerID  string
	Month    string
	From, To int64 // the ceiling before and after (equal when unchanged)
	Note     string
	At       time.Time
}

// History is what a buyer's ceiling review reads of its SEPA past.
type History struct {
	// Totals are its collection amounts by month.
	Totals map[string]int64
	// Unpaid: it had an unpaid debit at or after the window's start.
	Unpaid bool
}

// Store keeps collections, unpaid debits and review markers. Errors: ErrNotFound where a read
// names one collection.
type Store interface {
	// CreateMonth creates, in one transaction and set-based, one pending collection per buyer
	// with scheduled sepa_debit intents of month that are in no collection yet (UNIQUE(buyer,
	// month): an existing collection is kept), links those intents to their buyer's pending
	// collection, and sets every pending collection of month to the sum of its intents. It
	// returns the number of collections of month.
	CreateMonth(ctx context.Context, month string, at time.Time) (int, error)
	// CountMonth returns the number of collections of month.
	CountMonth(ctx context.Context, month string) (int, error)
	// CountPending returns the number of collections of month not submitted yet.
	CountPending(ctx context.Context, month string) (int, error)
	// Prenotify pre-notifies up to limit pending collections of month that are not pre-notified
	// yet and have an id above after, in id order: each gets n's due date, creditor id and time,
	// and the reference of its buyer's default mandate at that moment, with its
	// sepa_collection.prenotified event, in one unit of work. It returns how many it
	// pre-notified and the highest id of the batch it took, to pass as after for the next one
	// ("": none is left above after).
	Prenotify(ctx context.Context, month, after string, n Prenotice, limit int) (done int, last string, err error)
	// PendingSubmissions lists up to limit pending and pre-notified collections of month with an
	// id above after, in id order, each with its buyer's default mandate and payer.
	PendingSubmissions(ctx context.Context, month, after string, limit int) ([]Submission, error)
	// MarkSubmitted records a pending collection's pay-in and mandate: pending → submitted, its
	// first attempt. It reports whether it did (false: not pending any more).
	MarkSubmitted(ctx context.Context, id, providerPayInID, mandateID string, at time.Time) (bool, error)
	// MarkSubmittedMany is MarkSubmitted for a batch, in one unit of work (one statement, the
	// events set-based). It returns the ids of the collections it submitted (the others were not
	// pending any more).
	MarkSubmittedMany(ctx context.Context, subs []Submitted, at time.Time) ([]string, error)
	// Retry, in one unit of work: a submitted collection on its first attempt → retrying with
	// retryAt (its intents stay scheduled, nothing is recorded unpaid; the buyer's SEPA is
	// disabled while it waits). It reports whether it did.
	Retry(ctx context.Context, id string, retryAt, at time.Time) (bool, error)
	// DueRetries lists up to limit retrying collections whose retry_at is at or before now, in
	// retry order, each with its buyer's default mandate and payer.
	DueRetries(ctx context.Context, now time.Time, limit int) ([]Submission, error)
	// MarkResubmitted records a retrying collection's second pay-in: retrying → submitted, its
	// second attempt (the first pay-in is kept aside: its late news change nothing). It reports
	// whether it did.
	MarkResubmitted(ctx context.Context, id, providerPayInID, mandateID string, at time.Time) (bool, error)
	// Succeed, in one transaction: submitted → succeeded with settled_at; its scheduled intents
	// succeeded; its mandate submitted → active. It reports whether it did.
	Succeed(ctx context.Context, id string, at time.Time) (bool, error)
	// Fail, in one transaction, when the collection is pending, submitted or succeeded: → failed
	// with f.Code and settled_at; its scheduled intents failed with last error (f.Code,
	// f.Message) (the intents of a succeeded collection stay succeeded); one unpaid debit
	// recorded; the buyer's SEPA suspended unless it already is. It reports whether it did
	// (false: already failed).
	Fail(ctx context.Context, f Failure) (bool, error)
	// Lines lists the payments a collection debits, in id order, with their orders.
	Lines(ctx context.Context, id string) ([]Line, error)
	// Collection returns a collection with its intents.
	Collection(ctx context.Context, id string) (Collection, error)
	// CollectionByPayIn returns the collection of a provider pay-in.
	CollectionByPayIn(ctx context.Context, providerPayInID string) (Collection, error)
	// Collections lists a buyer's collections newest first, with their intents.
	Collections(ctx context.Context, buyerID string, p page.Request) (page.Page[Collection], error)
	// DueForPolling lists up to limit submitted collections submitted before submittedBefore and
	// not polled since polledBefore, least recently polled first.
	DueForPolling(ctx context.Context, submittedBefore, polledBefore time.Time, limit int) ([]Collection, error)
	// MarkPolled records that a collection's pay-in was read at at.
	MarkPolled(ctx context.Context, id string, at time.Time) error

	// SEPABuyers lists up to limit buyers with an id above after, in id order, that use SEPA
	// (a SEPA profile whose probation started: a mandate was signed) and, when since is not
	// zero, have no score check at or after since.
	SEPABuyers(ctx context.Context, since time.Time, after string, limit int) ([]string, error)
	// CountScored counts the SEPA buyers with a score check at or after since.
	CountScored(ctx context.Context, since time.Time) (int, error)
	// BuyersToReview lists up to limit SEPA buyers with an id above after, in id order, that
	// have no ceiling review for month.
	BuyersToReview(ctx context.Context, month, after string, limit int) ([]string, error)
	// Histories reads, set-based, the collection totals of months and whether an unpaid debit
	// occurred at or after unpaidSince, for each buyer.
	Histories(ctx context.Context, buyerIDs, months []string, unpaidSince time.Time) (map[string]History, error)
	// RecordReview records r's marker and, when r.To differs from r.From, sets the ceiling with
	// a monthly_review change, in one transaction. It reports false when the buyer's review of
	// r.Month exists already (nothing written), and ErrCeilingMoved when the stored ceiling is
	// not r.From any more or the buyer is suspended (nothing written).
	RecordReview(ctx context.Context, r Review) (bool, error)
	// RecordReviews records the markers of reviews that leave the ceiling as it is (From ==
	// To) in one statement; a buyer's marker of the same month is kept as it is. It returns how
	// many it recorded.
	RecordReviews(ctx context.Context, rs []Review) (int, error)
	// CountReviews counts the ceiling reviews of month.
	CountReviews(ctx context.Context, month string) (int, error)
}
