package invoicing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

var (
	// ErrNotFound is returned for an invoicing account or a statement that does not exist or that
	// the caller may not see (not_found).
	ErrNotFound = errors.New("not found")

	// ErrStatementClosed is returned when a vhu_invoice payment is accepted for a month whose
	// statement for the pair was already issued (the month close ran while the payment was being
	// made). It wraps ErrNotApproved: the payment is refused; paying again lands in the new month.
	ErrStatementClosed = fmt.Errorf("this month's statement is already issued: %w", ErrNotApproved)

	// ErrMonthNotEnded is returned by IssueMonth for a month that has not ended (Europe/Paris).
	ErrMonthNotEnded = errors.New("month has not ended")
)

// MaxNoteLen is the largest number of characters (runes) in a decision note (our choice).
const MaxNoteLen = 1000

// AccountFilter narrows a listing of accounts; empty fields do not filter.
type AccountFilter struct {
	BuyerID  string
	CenterID string
	Status   AccountStatus
}

// StatementFilter narrows a listing of statements; empty fields do not filter.
type StatementFilter struct {
	BuyerID  string
	CenterID string
	Month    string
	Status   StatementStatus
}

// Acceptance is a vhu_invoice payment being accepted: what AcceptPayment writes.
type Acceptance struct {
	BuyerID  string
	CenterID string
	OrderID  string
	IntentID string
	// Month is the Europe/Paris month of the intent's creation: the statement it goes on.
	Month string
	// StatementID is the id given to the month's statement when this payment opens it.
	StatementID  string
	TotalExclVAT int64
	TotalVAT     int64
	Total        int64
	At           time.Time
}

// Store keeps invoicing accounts, delivery notes and statements. Every state change is a
// conditional update or an insert guarded by a unique constraint, so concurrent requests and
// processes cannot break the invariants.
type Store interface {
	// CreateAccount inserts a. ErrAccountExists when a live account exists for its pair.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns an account or ErrNotFound.
	Account(ctx context.Context, id string) (Account, error)
	// Accounts lists accounts newest first.
	Accounts(ctx context.Context, f AccountFilter, p page.Request) (page.Page[Account], error)
	// SaveDecision writes a's status, note and decision time when the stored status is still
	// from (a conditional update). ErrInvalidTransition when it is not any more (another decision
	// won); ErrNotFound when the account does not exist. audit, when not nil, is written in the
	// same transaction.
	SaveDecision(ctx context.Context, a Account, from AccountStatus, audit *txn.AuditEntry) error

	// AttachDeliveryNote stores a delivery note of centerID on an order. ErrDeliveryNoteExists
	// when the centre already used the number.
	AttachDeliveryNote(ctx context.Context, orderID, centerID string, n DeliveryNote) error

	// Statement returns a statement with its stored status, times and totals, and its orders
	// (lines and delivery notes included, in any order; VATBreakdown left empty). ErrNotFound.
	Statement(ctx context.Context, id string) (Statement, error)
	// Statements lists statements newest first, each as Statement returns it.
	Statements(ctx context.Context, f StatementFilter, p page.Request) (page.Page[Statement], error)
	// IssueMonth issues every open statement of month at at in one set-based conditional update
	// and returns how many statements of month are issued or paid afterwards (by this call or an
	// earlier one).
	IssueMonth(ctx context.Context, month string, at time.Time) (int, error)
	// MarkStatementPaid, in one transaction, moves an issued statement to paid at at and its
	// scheduled intents to succeeded, and writes audit there when it is not nil.
	// ErrInvalidTransition when it is not issued; ErrNotFound.
	MarkStatementPaid(ctx context.Context, id string, at time.Time, audit *txn.AuditEntry) error
}

// Tx is the unit of work of a vhu_invoice payment: the payment's own (payments.Tx) with the
// statement's writes, committed or rolled back together. Storage opens it (txn.Runner[Tx]).
type Tx interface {
	payments.Tx
	// AcceptPayment runs inside the payment's unit of work. It checks that the buyer has an
	// approved account with the centre by a conditional update of that account's row (which locks
	// it until the unit ends, so that a concurrent decision waits for this payment, or this payment sees
	// the decision), opens the month's statement for the pair when missing, adds the payment's
	// totals to it while it is open, and lists the order on it. It returns the account's id.
	// Errors: ErrNotApproved; ErrStatementClosed when the month's statement is no longer open.
	AcceptPayment(ctx context.Context, a Acceptance) (accountID string, err error)
}

// Orders reads orders.
type Orders interface {
	// Order returns an order or orders.ErrNotFound.
	Order(ctx context.Context, id string) (orders.Order, error)
}

// Parties reads buyers and centres.
type Parties interface {
	// Buyer returns a buyer or parties.ErrNotFound.
	Buyer(ctx context.Context, id string) (parties.Buyer, error)
	// Center returns a centre or parties.ErrNotFound.
	Center(ctx context.Context, id string) (parties.Center, error)
}

// Service runs end-of-month invoicing: accounts and their decisions, the vhu_invoice payment
// method, delivery notes and monthly statements. Every read is scoped to the caller: a buyer sees
// its own accounts and statements, a centre its own, an admin everything; anything else answers
// ErrNotFound.
type Service struct {
	store   Store
	orders  Orders
	parties Parties
	clock   clock.Clock
}

// NewService returns a Service.
func NewService(store Store, o Orders, p Parties, clk clock.Clock) *Service {
	return &Service{store: store, orders: o, parties: p, clock: clk}
}

// RequestAccount creates the pending account a buyer asks centerID for. Errors: *validation.Error
// on "center_id" (missing or unknown centre) and "buyer_id" (the token names no stored buyer);
// ErrAccountExists when a live account exists for the
// pair; ErrNotFound when the caller is not a buyer.
func (s *Service) RequestAccount(ctx context.Context, who auth.Principal, centerID string) (Account, error) {
	if who.Role != auth.RoleBuyer || who.Org == "" {
		return Account{}, ErrNotFound
	}
	var errs validation.Collector
	if _, err := s.parties.Buyer(ctx, who.Org); errors.Is(err, parties.ErrNotFound) {
		errs.Add("buyer_id", "unknown", "the token's buyer does not exist")
	} else if err != nil {
		return Account{}, err
	}
	if strings.TrimSpace(centerID) == "" {
		errs.Add("center_id", "required", "is required")
	} else if _, err := s.parties.Center(ctx, centerID); errors.Is(err, parties.ErrNotFound) {
		errs.Add("center_id", "unknown", "no such centre")
	} else if err != nil {
		return Account{}, err
	}
	if err := errs.Err(); err != nil {
		return Account{}, err
	}
	a := NewAccount(id.New(id.InvoicingAccount), who.Org, centerID, s.clock.Now())
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return Account{}, err
	}
	return a, nil
}

// Account returns an account the caller may see. Errors: ErrNotFound.
func (s *Service) Account(ctx context.Context, who auth.Principal, accountID string) (Account, error) {
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return Account{}, err
	}
	if !sees(who, a.BuyerID, a.CenterID) {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// Accounts lists the accounts the caller may see, newest first: a buyer its own, a centre its
// own, an admin every account (narrowed by f.BuyerID and f.CenterID). Errors: *validation.Error on
// "status".
func (s *Service) Accounts(ctx context.Context, who auth.Principal, f AccountFilter, p page.Request) (page.Page[Account], error) {
	switch f.Status {
	case "", AccountPending, AccountApproved, AccountRejected, AccountRevoked:
	default:
		return page.Page[Account]{}, validation.Field("status", "oneof", "must be one of: pending, approved, rejected, revoked")
	}
	switch who.Role {
	case auth.RoleBuyer:
		f.BuyerID = who.Org
	case auth.RoleCenter:
		f.CenterID = who.Org
	case auth.RoleAdmin:
	default:
		return page.Page[Account]{Items: []Account{}}, nil
	}
	return s.store.Accounts(ctx, f, p)
}

// Decision is a centre's (or an admin's) decision on an account.
type Decision string

// The decisions on an account.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
	Revoke  Decision = "revoke"
)

// Decide applies a decision of the account's centre or an admin, with an optional note.
// pending → approved or rejected; approved → revoked. The write is conditional on the status read,
// so of two concurrent decisions only one wins. Errors: ErrNotFound (unknown account, another
// centre's, or a caller that is neither a centre nor an admin); ErrInvalidTransition;
// *validation.Error on "note" (over MaxNoteLen characters or not UTF-8).
func (s *Service) Decide(ctx context.Context, who auth.Principal, accountID string, d Decision, note string) (Account, error) {
	note = strings.TrimSpace(note)
	if !utf8.ValidString(note) || utf8.RuneCountInString(note) > MaxNoteLen {
		return Account{}, validation.Field("note", "max", fmt.Sprintf("must be valid text of at most %d characters", MaxNoteLen))
	}
	a, err := s.store.Account(ctx, accountID)
	if err != nil {
		return Account{}, err
	}
	if !who.Is(auth.RoleCenter, auth.RoleAdmin) || !sees(who, a.BuyerID, a.CenterID) {
		return Account{}, ErrNotFound
	}
	from, before := a.Status, a
	at := s.clock.Now()
	switch d {
	case Approve:
		err = a.Approve(note, at)
	case Reject:
		err = a.Reject(note, at)
	case Revoke:
		err = a.Revoke(note, at)
	default:
		err = fmt.Errorf("unknown decision %q: %w", d, ErrInvalidTransition)
	}
	if err != nil {
		return Account{}, err
	}
	audit := &txn.AuditEntry{Action: "invoicing_account." + string(d), Actor: who.Actor(), TargetID: a.ID, Before: before, After: a, At: at}
	if err := s.store.SaveDecision(ctx, a, from, audit); err != nil {
		return Account{}, err
	}
	return a, nil
}

// Method returns the vhu_invoice payment method, in units of work opened by units.
func (s *Service) Method(units txn.Runner[Tx]) payments.MethodHandler {
	return payments.Handler(units, s.Accept)
}

// Accept is the payments.Accept of vhu_invoice, inside the payment's unit of work:
// with an approved account for (the order's buyer, the order's centre), pi becomes scheduled with
// that account's id, and the order is listed on the statement of pi.CollectionMonth, the month
// the payments service picked inside the transaction (the Europe/Paris month of pi.CreatedAt, or
// the next month whose close has not begun when the payment arrives after its month's close
// began; the month of pi.CreatedAt when none was picked). The statement is created when it is
// the pair's first such payment of the month. pi.CollectionMonth is then cleared: only SEPA
// intents show one. No ceiling, no score. Errors: ErrNotApproved (ErrStatementClosed included).
func (s *Service) Accept(ctx context.Context, tx Tx, order orders.Order, pi *payments.Intent) error {
	month := pi.CollectionMonth
	if month == "" {
		month = clock.MonthOf(pi.CreatedAt)
	}
	accountID, err := tx.AcceptPayment(ctx, Acceptance{
		BuyerID: order.BuyerID, CenterID: order.CenterID, OrderID: order.ID, IntentID: pi.ID,
		Month: month, StatementID: id.New(id.Statement),
		TotalExclVAT: order.TotalExclVAT, TotalVAT: order.TotalVAT, Total: order.Total, At: pi.CreatedAt,
	})
	if err != nil {
		return err
	}
	pi.InvoicingAccountID = accountID
	pi.CollectionMonth = ""
	return pi.Schedule(pi.CreatedAt)
}

// AttachDeliveryNote attaches a BL or BR to an order, for the centre that sold it. Errors:
// orders.ErrNotFound (no such order, or another centre's); ErrNotFound when the caller is not a
// centre; *validation.Error on "kind" and "number" (see ValidateDeliveryNote);
// ErrOrderNotConfirmed; ErrDeliveryNoteExists when the centre already used the number.
func (s *Service) AttachDeliveryNote(ctx context.Context, who auth.Principal, orderID, kind, number string) (DeliveryNote, error) {
	if who.Role != auth.RoleCenter || who.Org == "" {
		return DeliveryNote{}, ErrNotFound
	}
	o, err := s.orders.Order(ctx, orderID)
	if err != nil {
		return DeliveryNote{}, err
	}
	if o.CenterID != who.Org {
		return DeliveryNote{}, orders.ErrNotFound
	}
	n, err := NewDeliveryNote(kind, number, s.clock.Now())
	if err != nil {
		return DeliveryNote{}, fieldErrors(err)
	}
	// confirmed is final: once read, it cannot change under us.
	if o.Status != orders.StatusConfirmed {
		return DeliveryNote{}, fmt.Errorf("order %s is %s: %w", o.ID, o.Status, ErrOrderNotConfirmed)
	}
	if err := s.store.AttachDeliveryNote(ctx, o.ID, o.CenterID, n); err != nil {
		return DeliveryNote{}, err
	}
	return n, nil
}

// fieldErrors turns the *FieldError values of ValidateDeliveryNote into a *validation.Error.
func fieldErrors(err error) error {
	var col validation.Collector
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
		} else if errors.As(e, &fe) {
			col.Add(fe.Field, fe.Code, fe.Message)
		}
	}
	walk(err)
	if v := col.Err(); v != nil {
		return v
	}
	return err
}

// Statement returns a statement the caller may see, complete: orders sorted with their delivery
// notes, totals and the VAT breakdown. Errors: ErrNotFound; ErrInconsistentTotals when the stored
// totals are not the sums of the orders (a corrupt statement).
func (s *Service) Statement(ctx context.Context, who auth.Principal, statementID string) (Statement, error) {
	st, err := s.store.Statement(ctx, statementID)
	if err != nil {
		return Statement{}, err
	}
	if !sees(who, st.BuyerID, st.CenterID) {
		return Statement{}, ErrNotFound
	}
	return complete(st)
}

// Statements lists the statements the caller may see, newest first, each complete (see
// Statement): a buyer its own, a centre its own, an admin every statement (narrowed by f.BuyerID
// and f.CenterID). Errors: *validation.Error on "month" or "status".
func (s *Service) Statements(ctx context.Context, who auth.Principal, f StatementFilter, p page.Request) (page.Page[Statement], error) {
	var col validation.Collector
	if f.Month != "" {
		if _, _, err := clock.MonthBounds(f.Month); err != nil {
			col.Add("month", "format", `must be a month written "YYYY-MM"`)
		}
	}
	switch f.Status {
	case "", StatementOpen, StatementIssued, StatementPaid:
	default:
		col.Add("status", "oneof", "must be one of: open, issued, paid")
	}
	if err := col.Err(); err != nil {
		return page.Page[Statement]{}, err
	}
	switch who.Role {
	case auth.RoleBuyer:
		f.BuyerID = who.Org
	case auth.RoleCenter:
		f.CenterID = who.Org
	case auth.RoleAdmin:
	default:
		return page.Page[Statement]{Items: []Statement{}}, nil
	}
	res, err := s.store.Statements(ctx, f, p)
	if err != nil {
		return page.Page[Statement]{}, err
	}
	for i, st := range res.Items {
		if res.Items[i], err = complete(st); err != nil {
			return page.Page[Statement]{}, err
		}
	}
	return res, nil
}

// Complete is a stored statement as its GET answers it (see complete): storage renders the
// objects of statement.* events with it.
func Complete(stored Statement) (Statement, error) { return complete(stored) }

// complete builds the statement's orders and VAT breakdown with BuildStatement, keeping the
// stored status and times, and checks that the stored (frozen) totals are the orders' sums.
func complete(stored Statement) (Statement, error) {
	acct := Account{ID: stored.InvoicingAccountID, BuyerID: stored.BuyerID, CenterID: stored.CenterID}
	st, err := BuildStatement(stored.ID, acct, stored.Month, stored.Orders)
	if err != nil {
		return Statement{}, err
	}
	st.applyCredits(stored.Credits)
	if st.TotalExclVAT != stored.TotalExclVAT || st.TotalVAT != stored.TotalVAT || st.Total != stored.Total {
		return Statement{}, fmt.Errorf("statement %s: stored totals %d/%d/%d, orders and credits sum to %d/%d/%d: %w", stored.ID,
			stored.TotalExclVAT, stored.TotalVAT, stored.Total, st.TotalExclVAT, st.TotalVAT, st.Total, ErrInconsistentTotals)
	}
	st.keepState(stored)
	return st, nil
}

// IssueMonth issues every open statement of month (YYYY-MM, Europe/Paris) at the clock's time:
// status issued, issued_at set, totals frozen (payments only add to open statements). It is the
// month close's "statements" step: set-based (one conditional update) and idempotent — a second
// call changes nothing and returns the same number. It returns the month's statement count: how
// many statements of month are issued or paid once it has run (by this call or an earlier one).
// Errors: ErrInvalidMonth; ErrMonthNotEnded when month has not ended at the clock's time.
func (s *Service) IssueMonth(ctx context.Context, month string) (int, error) {
	now := s.clock.Now()
	ended, err := clock.MonthEnded(month, now)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", month, ErrInvalidMonth)
	}
	if !ended {
		return 0, fmt.Errorf("issue statements of %s: %w", month, ErrMonthNotEnded)
	}
	return s.store.IssueMonth(ctx, month, now)
}

// MarkPaid records that the buyer settled an issued statement: issued → paid, and its intents
// scheduled → succeeded, in one transaction. The statement's centre or an admin. Errors:
// ErrNotFound (also for another centre's statement or another role); ErrInvalidTransition when the
// statement is not issued.
func (s *Service) MarkPaid(ctx context.Context, who auth.Principal, statementID string) (Statement, error) {
	if !who.Is(auth.RoleCenter, auth.RoleAdmin) {
		return Statement{}, ErrNotFound
	}
	st, err := s.store.Statement(ctx, statementID)
	if err != nil {
		return Statement{}, err
	}
	if !sees(who, st.BuyerID, st.CenterID) {
		return Statement{}, ErrNotFound
	}
	// Check the statement adds up before recording anything: a write followed by an error would
	// leave the client a 500 and a retry a 409.
	if st, err = complete(st); err != nil {
		return Statement{}, err
	}
	before := st
	if err := st.MarkPaid(s.clock.Now()); err != nil {
		return Statement{}, err
	}
	audit := &txn.AuditEntry{Action: "statement.mark_paid", Actor: who.Actor(), TargetID: st.ID, Before: before, After: st, At: *st.PaidAt}
	if err := s.store.MarkStatementPaid(ctx, st.ID, *st.PaidAt, audit); err != nil {
		return Statement{}, err
	}
	return st, nil
}

// Export is a statement with the parties printed on its CSV and PDF exports.
type Export struct {
	Statement Statement
	Seller    Party // the centre, with its SIRET
	Buyer     Party // the buyer, with its SIREN
	At        time.Time
}

// Export returns a statement the caller may see with its parties, for WriteCSV and WritePDF; At
// is the clock's time (the edition date). Errors: those of Statement.
func (s *Service) Export(ctx context.Context, who auth.Principal, statementID string) (Export, error) {
	st, err := s.Statement(ctx, who, statementID)
	if err != nil {
		return Export{}, err
	}
	c, err := s.parties.Center(ctx, st.CenterID)
	if err != nil {
		return Export{}, fmt.Errorf("centre of statement %s: %w", st.ID, err)
	}
	b, err := s.parties.Buyer(ctx, st.BuyerID)
	if err != nil {
		return Export{}, fmt.Errorf("buyer of statement %s: %w", st.ID, err)
	}
	return Export{
		Statement: st,
		Seller:    Party{Name: c.Name, SIRENorSIRET: c.SIRET, Address: toAddress(c.Address)},
		Buyer:     Party{Name: b.Name, SIRENorSIRET: b.SIREN, Address: toAddress(b.Address)},
		At:        s.clock.Now(),
	}, nil
}

func toAddress(a parties.Address) Address {
	return Address{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}

// sees reports whether who may see a resource of buyerID and centerID: that buyer, that centre,
// or an admin.
func sees(who auth.Principal, buyerID, centerID string) bool {
	switch who.Role {
	case auth.RoleBuyer:
		return who.Org != "" && who.Org == buyerID
	case auth.RoleCenter:
		return who.Org != "" && who.Org == centerID
	case auth.RoleAdmin:
		return true
	}
	return false
}
