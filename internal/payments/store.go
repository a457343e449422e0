package payments

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

// Tx is the unit of work in which a payment intent is written: the txn.Tx hooks (events, ledger
// postings, audit entries, jobs) and the intent store's writes, bound to one database
// transaction that only storage opens (see IntentStore.InTx). A method that writes rows of its
// own with the payment declares its unit as an interface that embeds Tx (sepa.Tx, invoicing.Tx)
// and plugs in with Handler: it receives that unit typed, with nothing unwrapped at run time.
//
// Every write is a conditional update or an insert guarded by a unique constraint, so concurrent
// requests and processes cannot break the invariants: one open intent per order, an order
// confirmed once.
type Tx interface {
	txn.Tx
	// PickMonth gives a deferred payment (sepa_debit, vhu_invoice) its instant and the month it
	// counts in, so that a payment and the close of its month are serialised: a payment counts in
	// month M only if it commits before M's close begins (the close then waits for it); one that
	// arrives later counts in the next month whose close has not begun. It reads the clock inside
	// the unit (in the sandbox, the test clock's offset as stored in the database, so that every
	// process agrees at that instant) and holds that month open until the unit ends. hint is this
	// process's reading of the clock just before (it may lag a test-clock move made elsewhere): it
	// lets the common case be one statement. Without month gates (unit tests) it returns "" and
	// the payment counts in the Europe/Paris month of its CreatedAt.
	PickMonth(ctx context.Context, hint time.Time) (at time.Time, month string, err error)
	// EarnCard posts, in the unit that makes pi succeeded, the card pay-in and the centre's
	// earning of a succeeded card intent (the balances capability's ledger transactions, with
	// the centre's transfer to make); nothing when the ledger's earnings are not set up (unit
	// tests, see storage.NewEarnings).
	EarnCard(ctx context.Context, pi Intent) error
	// ConfirmOrder makes the order confirmed: UPDATE ... WHERE status = 'payment_pending'. It
	// returns orders.ErrNotPayable when the order is not payment_pending (or does not exist).
	ConfirmOrder(ctx context.Context, orderID string, at time.Time) error
	// HoldPayableOrder checks, inside the transaction, that the order is still payment_pending and
	// locks its row (a conditional update of updated_at), so that a concurrent confirmation waits
	// for this transaction. It returns orders.ErrNotPayable otherwise.
	HoldPayableOrder(ctx context.Context, orderID string, at time.Time) error
	// CancelOpenIntents cancels the order's requires_action intents; it returns the ids of those
	// it canceled (for their payment_intent.canceled events).
	CancelOpenIntents(ctx context.Context, orderID string, at time.Time) ([]string, error)
	// CancelIntent cancels a requires_action intent (conditional update); false when it was not
	// requires_action.
	CancelIntent(ctx context.Context, id string, at time.Time) (bool, error)
	// ExpireIntents cancels, with last_error expired, every requires_action intent created before
	// cutoff; it returns the ids of those it canceled.
	ExpireIntents(ctx context.Context, cutoff, at time.Time, message string) ([]string, error)
	// CurrentIntent, CurrentCard and CurrentOrder read, inside the unit and after its writes, the
	// resources its events carry (each as its GET answers it).
	CurrentIntent(ctx context.Context, id string) (Intent, error)
	CurrentCard(ctx context.Context, id string) (Card, error)
	CurrentOrder(ctx context.Context, id string) (orders.Order, error)
	// ConfirmUnchanged confirms pi's order and inserts pi (an intent that confirms it) in one step,
	// only while the order is payment_pending at version (see OrderToPay.Version): unchanged since
	// it was read without open intents, so that none can have been opened meanwhile. It reports
	// false, having written nothing, when the order changed or the store keeps no versions; the
	// caller then confirms, cancels the open intents and inserts in the same transaction.
	ConfirmUnchanged(ctx context.Context, pi Intent, version string) (bool, error)
	// InsertIntent inserts pi. An open intent while another is open for the order (one
	// processing at the provider) gives orders.ErrNotPayable.
	InsertIntent(ctx context.Context, pi Intent) error
	// UpdateIntent writes pi's status, next action, last error and updated_at when the stored
	// intent's status is one of from; it reports whether it did.
	UpdateIntent(ctx context.Context, pi Intent, from ...Status) (bool, error)
	// BlockCard marks an active card blocked; it reports whether it did.
	BlockCard(ctx context.Context, cardID string, at time.Time) (bool, error)
	// KeepAnswer writes rec, a completed Idempotency-Key record with its answer, in the unit, so
	// that the payment and the answer its retries replay commit together. It reports false,
	// having written nothing, when the key holds a record that has not expired (the unit must
	// then be rolled back and the key's record looked at).
	KeepAnswer(ctx context.Context, rec idempotency.Record) (bool, error)
	// HoldFailedCollection checks, inside the unit, that the buyer's collection is failed and
	// locks it (a recovery payment is recorded only then); ErrCollectionNotPayable otherwise.
	HoldFailedCollection(ctx context.Context, collectionID, buyerID string, at time.Time) error
	// RecoverCollection, in the unit that makes the recovery payment intentID succeeded: the
	// failed collection → recovered, the buyer's debt settled in the ledger (the platform's
	// guarantee repaid), its SEPA reinstated at once (the initial ceiling, a new probation, change
	// reason reinstated), with their events. It reports false when the collection is not failed
	// any more (recovered by another payment).
	RecoverCollection(ctx context.Context, collectionID, intentID string, at time.Time) (bool, error)
}

// RecoverableCollection is what a recovery payment reads of the collection it pays.
type RecoverableCollection struct {
	BuyerID string
	Amount  int64
	Failed  bool
}

// IntentFilter narrows a listing of intents; empty fields do not filter.
type IntentFilter struct {
	BuyerID string
	OrderID string
}

// IntentStore keeps payment intents.
type IntentStore interface {
	// InTx runs fn in one unit of work; fn's error rolls it back and is returned.
	txn.Runner[Tx]
	// Intent returns an intent or ErrNotFound.
	Intent(ctx context.Context, id string) (Intent, error)
	// IntentByPayIn returns the intent of a provider pay-in or ErrNotFound.
	IntentByPayIn(ctx context.Context, providerPayInID string) (Intent, error)
	// Intents lists intents newest first.
	Intents(ctx context.Context, f IntentFilter, p page.Request) (page.Page[Intent], error)
	// OpenIntents returns the order's requires_action and processing intents.
	OpenIntents(ctx context.Context, orderID string) ([]Intent, error)
	// IntentByRequestKey returns the newest intent created by the request of that key
	// (Intent.RequestKey) or ErrNotFound.
	IntentByRequestKey(ctx context.Context, key string) (Intent, error)
	// UnsentCardIntents returns up to limit card intents still processing with no provider pay-in
	// kept, last updated before before: their charge's answer was never written (a crash, a lost
	// answer), oldest first.
	UnsentCardIntents(ctx context.Context, before time.Time, limit int) ([]Intent, error)
	// RecordSwept keeps a pay-in the sweep settled for good, unless it is kept already; SweptPayIn
	// returns it (false when it is not kept).
	RecordSwept(ctx context.Context, p SweptPayIn) error
	SweptPayIn(ctx context.Context, payInID string) (SweptPayIn, bool, error)
	// RecordRefund keeps the provider refund of an intent's pay-in, unless one is kept already.
	RecordRefund(ctx context.Context, intentID, refundID string, at time.Time) error
	// RefundOf returns the provider refund id kept for an intent ("" when none).
	RefundOf(ctx context.Context, intentID string) (string, error)
	// RecoverableCollection reads a SEPA collection a recovery payment would pay; ErrNotFound
	// when there is none.
	RecoverableCollection(ctx context.Context, collectionID string) (RecoverableCollection, error)
}

// CardStore keeps card registrations and cards.
type CardStore interface {
	// InsertCardRegistration inserts r (its secrets are not stored).
	InsertCardRegistration(ctx context.Context, r CardRegistration) error
	// CardRegistration returns a registration or ErrRegistrationNotFound.
	CardRegistration(ctx context.Context, id string) (CardRegistration, error)
	// FailCardRegistration marks a created registration error.
	FailCardRegistration(ctx context.Context, id string, at time.Time) error
	// ValidateCardRegistration, in one transaction, inserts c (or keeps the card already stored
	// for its provider id) and marks the registration validated with that card; it returns the
	// stored card.
	ValidateCardRegistration(ctx context.Context, registrationID string, c Card, at time.Time) (Card, error)
	// Card returns a card or ErrCardNotFound.
	Card(ctx context.Context, id string) (Card, error)
	// Cards lists a buyer's cards newest first.
	Cards(ctx context.Context, buyerID string, p page.Request) (page.Page[Card], error)
	// DeactivateCard marks a card inactive.
	DeactivateCard(ctx context.Context, id string, at time.Time) error
}

// Store is everything the payments service keeps.
type Store interface {
	IntentStore
	CardStore
}
