// Package txn is the unit of work: one database transaction and the companions of the state
// change it writes — the events integrators receive, the ledger transactions that move money and
// the audit entries of people's acts. They commit together or roll back together.
//
// Storage alone creates units of work (its runners' InTx). Each capability declares the unit it
// needs as an interface that embeds Tx and adds its own store's writes (payments.Tx, sepa.Tx, ...);
// storage's one transaction type implements all of them, so a capability that writes inside
// another's transaction (a SEPA reservation inside a payment) receives it typed, with nothing
// unwrapped at run time. No provider is ever called inside a unit of work: record the operation,
// commit, call the provider, then record the outcome in a second unit of work.
package txn

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/ledger"
)

// Tx is what every unit of work offers whatever the capability. Each method writes at once in the
// unit's database transaction; an error means nothing of it was written and the unit must be
// rolled back (return the error from the InTx function).
type Tx interface {
	// Emit writes an event: no event without its change, no change without its event.
	Emit(ctx context.Context, e Event) error
	// Post writes a ledger transaction after checking it (ledger.Transaction.Check): an
	// unbalanced one is refused with ledger.ErrUnbalanced, one already posted for the same kind
	// and source with ledger.ErrDuplicate.
	Post(ctx context.Context, t ledger.Transaction) error
	// Audit writes an audit entry; its request id comes from ctx (see WithRequestID).
	Audit(ctx context.Context, e AuditEntry) error
	// Enqueue inserts a background job in this transaction: the job exists exactly when the rows
	// it works on do, and a worker can pick it up as soon as the unit commits.
	Enqueue(ctx context.Context, job Job) error
}

// Job is a background job's arguments, as the job queue (River) takes them: a value that names
// its kind and encodes to JSON. It may also implement River's InsertOpts method.
type Job interface {
	Kind() string
}

// Runner runs units of work of type T (a capability's own unit interface, which embeds Tx). fn's
// writes and what it emitted commit together when fn returns nil; when fn returns an error, all
// of it rolls back and the error is returned as is.
type Runner[T any] interface {
	InTx(ctx context.Context, fn func(tx T) error) error
}

// Event is a change told to integrators: written with the change, delivered to the webhook
// endpoints that subscribe to its type, listed by GET /v1/events.
type Event struct {
	// Type is one of the event catalogue's types, e.g. "payment_intent.succeeded".
	Type string
	// BuyerID and CenterID are the organisations the event concerns ("" for none): a buyer sees
	// the events of its buyer id, a centre those of its centre id.
	BuyerID  string
	CenterID string
	// Object is the resource after the change, as a domain value; storage renders it as the
	// resource's GET answer (see Renderer) into the event's data.object.
	Object any
	// At is when the change happened, by the injected clock.
	At time.Time
}

// Renderer turns a domain value (an Event's Object, an audit entry's Before and After) into the
// JSON of the resource as the API answers it. The HTTP layer provides it; storage calls it.
type Renderer func(v any) ([]byte, error)

// Actor is who did an audited act.
type Actor struct {
	Subject  string // the token's sub
	Role     string // buyer, center, admin, service; "system" for the process's own jobs
	Org      string // the buyer or centre id of buyer and center callers
	APIKeyID string // set when the caller authenticated with an API key
}

// System is the actor of the process's own work (the scheduler, jobs).
var System = Actor{Subject: "vhupay", Role: "system"}

// AuditEntry records an act of a person or a system on a resource.
type AuditEntry struct {
	// Action names the act, e.g. "sepa.ceiling_override", "refund.create".
	Action   string
	Actor    Actor
	TargetID string
	// Before and After are the resource before and after the act (nil when it did not exist or
	// was removed), rendered like events' objects.
	Before any
	After  any
	At     time.Time
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the id of the HTTP request being served, which audit
// entries written under it record.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}
