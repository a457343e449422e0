package refunds

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

// Tx is the unit of work of a refund: a payment's unit (its events, the order's) with the
// refunds' own writes. Every write is conditional, so that concurrent refunds of one payment,
// and a refund racing the month's collection, keep the invariants.
type Tx interface {
	payments.Tx
	// PaymentDisputed reports whether the payment has a dispute, whatever its status (MangoPay
	// refuses to refund a disputed pay-in: 005408): such a payment cannot be refunded. It holds
	// the intent's row and reads inside the unit, so that a dispute recorded meanwhile is seen.
	PaymentDisputed(ctx context.Context, intentID string) (bool, error)
	// Reserve adds amount to the intent's (and its order's) amount_refunded, with one conditional
	// update: only while the intent is in one of statuses and the total stays within its amount.
	// It reports whether it did.
	Reserve(ctx context.Context, intentID string, amount int64, statuses []payments.Status, at time.Time) (bool, error)
	// LowerScheduled reserves amount on a scheduled sepa_debit intent that no collection took yet
	// (conditional on collection_id being NULL) and lowers the buyer's outstanding of the month by
	// it, in the unit. It reports whether it did (false: the collection took it, or too much).
	LowerScheduled(ctx context.Context, intentID, buyerID, month string, amount int64, at time.Time) (bool, error)
	// LockPayment locks the intent's row until the unit ends, so that the units that finish the
	// refunds of one payment run one after the other and each sees what the previous wrote (the
	// last one makes the order refunded).
	LockPayment(ctx context.Context, intentID string) error
	// Release gives back what a failed refund reserved.
	Release(ctx context.Context, intentID string, amount int64, at time.Time) error
	// RefundedBefore sums the intent's earlier refunds: those posted to the ledger and not failed
	// (amount, fee) and those that lowered its amount to collect (lowered).
	RefundedBefore(ctx context.Context, intentID string) (amount, fee, lowered int64, err error)
	// InsertRefund inserts r.
	InsertRefund(ctx context.Context, r Refund) error
	// UpdateRefund writes r's status, failure code, stage, posted, attempts, provider ids,
	// statement, not_before and updated_at while the stored refund is pending; it reports
	// whether it did.
	UpdateRefund(ctx context.Context, r Refund) (bool, error)
	// CurrentRefund reads a refund inside the unit, after its writes.
	CurrentRefund(ctx context.Context, id string) (Refund, error)
	// SucceededTotal sums the intent's succeeded refunds.
	SucceededTotal(ctx context.Context, intentID string) (int64, error)
	// MarkOrderRefunded moves a confirmed order to refunded (conditional); it reports whether it did.
	MarkOrderRefunded(ctx context.Context, orderID string, at time.Time) (bool, error)
	// AddStatementCredit writes the credit line c on the statement of its account and month
	// (opened if needed) and lowers the statement's totals; it returns the statement id.
	// invoicing.ErrStatementClosed when that statement is no longer open.
	AddStatementCredit(ctx context.Context, c invoicing.Credit) (string, error)
}

// Target is a payment to refund, as read before (and between) the refund's steps.
type Target struct {
	Intent   payments.Intent
	CenterID string
	Order    orders.Order // with its lines
	// Fee is the platform's fee the centre paid when it earned the payment (0 until then), Earned
	// whether it did.
	Fee    int64
	Earned bool
	// The collection of a sepa_debit intent (empty until its month is collected).
	CollectionID          string
	CollectionStatus      string
	CollectionPayInID     string
	CollectionSubmittedAt time.Time
	// The centre's transfer of the payment at the provider ("" when none is recorded).
	TransferStatus     string
	ProviderTransferID string
}

// Filter narrows a listing; empty fields do not filter.
type Filter struct {
	BuyerID         string
	CenterID        string
	PaymentIntentID string
}

// Store keeps refunds.
type Store interface {
	txn.Runner[Tx]
	// Refund returns a refund or ErrNotFound.
	Refund(ctx context.Context, id string) (Refund, error)
	// Refunds lists refunds newest first.
	Refunds(ctx context.Context, f Filter, p page.Request) (page.Page[Refund], error)
	// Target reads the payment to refund; payments.ErrNotFound when there is none.
	Target(ctx context.Context, intentID string) (Target, error)
	// Due lists up to limit pending refunds whose provider step is due at now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Refund, error)
}
