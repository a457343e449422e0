package refunds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// MaxNoteLen bounds a refund's note (our choice).
const MaxNoteLen = 500

// SEPARefundDelay is how long after a direct debit its refund waits: MangoPay refunds a direct
// debit from the 8th day after it (001405 before).
const SEPARefundDelay = 8 * 24 * time.Hour

// sameAmountWindow: MangoPay refuses a second refund of the same amount of one pay-in within
// 24 hours (005407); such a refund waits until the window has passed.
const sameAmountWindow = 24 * time.Hour

// Provider is what refunds need of the payment provider.
type Provider interface {
	RefundTransfer(ctx context.Context, req psp.TransferRefundRequest) (psp.Refund, error)
	RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error)
	GetRefund(ctx context.Context, refundID string) (psp.Refund, error)
}

// Payers gives the buyers' identities at the provider.
type Payers interface {
	Ensure(ctx context.Context, buyerID string) (payers.Payer, error)
}

// Config is what a Service needs. Provider may be nil: card and collected SEPA refunds then wait
// (pending) for a process that has one.
type Config struct {
	Store    Store
	Provider Provider
	Payers   Payers
	Clock    clock.Clock
	Log      *slog.Logger
	// StepTimeout bounds the provider steps a request makes after its refund is recorded
	// (default 20 s); what does not finish then is finished by the periodic job (ProcessDue).
	StepTimeout time.Duration
	// Jobs: a pending refund enqueues its AdvanceJob in the unit that records it (the job queue
	// must be set on the units; false in tests without one: ProcessDue alone finishes them).
	Jobs bool
}

// Service creates, reads and carries out refunds.
type Service struct {
	store       Store
	provider    Provider
	payers      Payers
	clock       clock.Clock
	log         *slog.Logger
	stepTimeout time.Duration
	jobs        bool
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	s := &Service{store: cfg.Store, provider: cfg.Provider, payers: cfg.Payers, clock: cfg.Clock, log: cfg.Log,
		stepTimeout: cfg.StepTimeout, jobs: cfg.Jobs}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.stepTimeout <= 0 {
		s.stepTimeout = 20 * time.Second
	}
	return s
}

// CreateInput is a refund request. Amount nil refunds what remains refundable.
type CreateInput struct {
	PaymentIntentID string
	Amount          *int64
	Reason          Reason
	Note            string
}

func (in CreateInput) validate() error {
	var errs validation.Collector
	if in.PaymentIntentID == "" {
		errs.Add("payment_intent_id", "required", "is required")
	}
	switch {
	case in.Reason == "":
		errs.Add("reason", "required", "is required")
	case !in.Reason.Valid():
		errs.Add("reason", "oneof", fmt.Sprintf("must be one of %v", Reasons))
	}
	if in.Amount != nil && *in.Amount <= 0 {
		errs.Add("amount", "min", "must be a positive number of cents")
	}
	if utf8.RuneCountInString(in.Note) > MaxNoteLen {
		errs.Add("note", "max", fmt.Sprintf("must be at most %d characters", MaxNoteLen))
	}
	return errs.Err()
}

// refundable reports whether a payment of method in status may be refunded.
func refundable(pi payments.Intent) bool {
	switch pi.Method {
	case payments.MethodCard:
		return pi.Status == payments.StatusSucceeded
	case payments.MethodSEPADebit, payments.MethodVHUInvoice:
		return pi.Status == payments.StatusSucceeded || pi.Status == payments.StatusScheduled
	}
	return false
}

func notRefundable(pi payments.Intent, why string) error {
	return detail.Wrap(fmt.Errorf("payment intent %s (%s, %s): %w", pi.ID, pi.Method, pi.Status, ErrNotRefundable), "%s", why)
}

func exceeds(pi payments.Intent, amount int64) error {
	remaining := pi.Amount - pi.AmountRefunded
	return detail.Wrap(fmt.Errorf("refund of %d on payment intent %s: %w", amount, pi.ID, ErrExceedsPayment),
		"The payment's remaining refundable amount is %d cents (amount %d, already refunded or being refunded %d).",
		max(remaining, 0), pi.Amount, pi.AmountRefunded)
}

// Create records a refund of a payment and carries it out as far as it can now: a card refund
// is recorded (the centre's balance debited) before the provider is asked, then the provider's
// steps run after the commit (what they do not finish, the periodic job does); a scheduled SEPA
// payment's or an invoice's refund succeeds in its unit of work. Only the order's centre, admin
// and service may refund (the HTTP layer keeps buyers out). Audited (refund.create).
// Errors: *validation.Error; payments.ErrNotFound (no such payment, or another centre's);
// ErrNotRefundable; ErrExceedsPayment.
func (s *Service) Create(ctx context.Context, who auth.Principal, in CreateInput) (Refund, error) {
	if err := in.validate(); err != nil {
		return Refund{}, err
	}
	t, err := s.store.Target(ctx, in.PaymentIntentID)
	if err != nil {
		return Refund{}, err
	}
	if !who.Privileged() && !(who.Role == auth.RoleCenter && who.Org == t.CenterID) {
		return Refund{}, payments.ErrNotFound
	}
	pi := t.Intent
	if !refundable(pi) {
		return Refund{}, notRefundable(pi, fmt.Sprintf("The payment is %s: only a succeeded payment (or a scheduled SEPA or invoice payment) can be refunded.", pi.Status))
	}
	amount := pi.Amount - pi.AmountRefunded
	if in.Amount != nil {
		amount = *in.Amount
	}
	if amount <= 0 || amount > pi.Amount-pi.AmountRefunded {
		return Refund{}, exceeds(pi, amount)
	}
	now := s.clock.Now()
	r := Refund{ID: id.New(id.Refund), PaymentIntentID: pi.ID, OrderID: pi.OrderID, BuyerID: pi.BuyerID, CenterID: t.CenterID,
		Method: string(pi.Method), Amount: amount, Currency: money.EUR, Reason: in.Reason, Note: in.Note,
		Status: StatusPending, Stage: StageRecorded, NotBefore: now, CreatedAt: now, UpdatedAt: now}
	err = s.store.InTx(ctx, func(tx Tx) error {
		disputed, err := tx.PaymentDisputed(ctx, pi.ID)
		if err != nil {
			return err
		}
		if disputed {
			return notRefundable(pi, "The payment is disputed (see GET /v1/disputes): a disputed payment cannot be refunded.")
		}
		switch {
		case pi.Method == payments.MethodVHUInvoice:
			err = s.credit(ctx, tx, t, &r)
		case pi.Method == payments.MethodSEPADebit && pi.Status == payments.StatusScheduled && t.CollectionID == "":
			err = s.lower(ctx, tx, t, &r)
		default:
			err = s.record(ctx, tx, t, &r)
		}
		if err != nil {
			return err
		}
		created, err := tx.CurrentRefund(ctx, r.ID)
		if err != nil {
			return err
		}
		if created.Status == StatusPending && s.jobs {
			if err := tx.Enqueue(ctx, AdvanceJob{RefundID: r.ID}); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "refund.create", Actor: actor(who), TargetID: r.ID, After: created, At: now})
	})
	if err != nil {
		return Refund{}, err
	}
	if r.Status == StatusPending && r.Stage == StageRecorded {
		s.advanceDetached(ctx, r.ID)
	}
	return s.store.Refund(ctx, r.ID)
}

func actor(who auth.Principal) txn.Actor {
	return txn.Actor{Subject: who.Subject, Role: string(who.Role), Org: who.Org, APIKeyID: who.APIKeyID}
}

// reserve reserves r's amount on the payment in tx, or says why not.
func reserve(ctx context.Context, tx Tx, pi payments.Intent, r Refund, statuses ...payments.Status) error {
	ok, err := tx.Reserve(ctx, pi.ID, r.Amount, statuses, r.CreatedAt)
	if err != nil || ok {
		return err
	}
	cur, err := tx.CurrentIntent(ctx, pi.ID)
	if err != nil {
		return err
	}
	if !refundable(cur) {
		return notRefundable(cur, fmt.Sprintf("The payment is %s: it cannot be refunded.", cur.Status))
	}
	return exceeds(cur, r.Amount)
}

// record writes a refund the provider must make (card; SEPA collected or in a collection): the
// amount reserved, the refund pending and, once the centre earned the payment, the ledger
// transaction that debits the centre.
func (s *Service) record(ctx context.Context, tx Tx, t Target, r *Refund) error {
	pi := t.Intent
	statuses := []payments.Status{payments.StatusSucceeded}
	if pi.Method == payments.MethodSEPADebit {
		statuses = append(statuses, payments.StatusScheduled)
	}
	if err := reserve(ctx, tx, pi, *r, statuses...); err != nil {
		return err
	}
	cur, err := tx.CurrentIntent(ctx, pi.ID)
	if err != nil {
		return err
	}
	if pi.Method == payments.MethodSEPADebit && cur.Status == payments.StatusScheduled {
		// Its collection was created before the refund: refunded once collected.
		r.Stage = StageAwaitingCollection
		return tx.InsertRefund(ctx, *r)
	}
	if pi.Method == payments.MethodSEPADebit {
		r.NotBefore = later(r.NotBefore, t.CollectionSubmittedAt.Add(SEPARefundDelay))
	}
	if err := s.post(ctx, tx, t, r); err != nil {
		return err
	}
	return tx.InsertRefund(ctx, *r)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// post computes r's share of the payment's fee and writes its ledger transaction: the centre
// gives back the amount less that share, the platform the share, to the buyer's card or bank.
func (s *Service) post(ctx context.Context, tx Tx, t Target, r *Refund) error {
	before, feeBefore, lowered, err := tx.RefundedBefore(ctx, r.PaymentIntentID)
	if err != nil {
		return err
	}
	r.Fee = FeeShare(t.Fee, t.Intent.Amount-lowered, r.Amount, before, feeBefore)
	r.Posted = true
	external := ledger.ExternalCard
	if t.Intent.Method == payments.MethodSEPADebit {
		external = ledger.ExternalSEPA
	}
	postings := []ledger.Posting{{Account: external, Amount: r.Amount}}
	if net := r.Amount - r.Fee; net != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.Center(r.CenterID), Amount: -net})
	}
	if r.Fee != 0 {
		postings = append(postings, ledger.Posting{Account: ledger.PlatformFees, Amount: -r.Fee})
	}
	return tx.Post(ctx, ledger.Transaction{Kind: string(balances.TypeRefund), SourceID: r.ID, Postings: postings, At: r.UpdatedAt})
}

// lower refunds a scheduled SEPA payment that no collection took yet: its amount to collect and
// the buyer's outstanding drop in this unit; the refund succeeds at once. When the month's
// collection took the payment meanwhile, the refund waits for it instead (record).
func (s *Service) lower(ctx context.Context, tx Tx, t Target, r *Refund) error {
	pi := t.Intent
	ok, err := tx.LowerScheduled(ctx, pi.ID, pi.BuyerID, pi.CollectionMonth, r.Amount, r.CreatedAt)
	if err != nil {
		return err
	}
	if !ok {
		return s.record(ctx, tx, t, r)
	}
	if err := r.Succeed(StageLowered, r.CreatedAt); err != nil {
		return err
	}
	if err := tx.InsertRefund(ctx, *r); err != nil {
		return err
	}
	return s.succeeded(ctx, tx, *r)
}

// credit refunds an invoice payment with a credit line on the statement of the refund's month
// (the month payments made now count in); the refund succeeds at once.
func (s *Service) credit(ctx context.Context, tx Tx, t Target, r *Refund) error {
	pi := t.Intent
	if err := reserve(ctx, tx, pi, *r, payments.StatusScheduled, payments.StatusSucceeded); err != nil {
		return err
	}
	at, month, err := tx.PickMonth(ctx, r.CreatedAt)
	if err != nil {
		return err
	}
	if month == "" { // no month gates (unit tests): the Paris month of the refund
		at = r.CreatedAt
		month = at.In(paris()).Format("2006-01")
	}
	before, err := tx.SucceededTotal(ctx, pi.ID)
	if err != nil {
		return err
	}
	c := invoicing.CreditFor(statementOrder(t), before, r.Amount)
	c.RefundID, c.CreatedAt = r.ID, at
	stID, err := tx.AddStatementCredit(ctx, invoicing.Credit{StatementID: id.New(id.Statement), InvoicingAccountID: pi.InvoicingAccountID,
		BuyerID: pi.BuyerID, CenterID: t.CenterID, Month: month, StatementCredit: c})
	if err != nil {
		return err
	}
	r.StatementID = stID
	if err := r.Succeed(StageCredited, r.CreatedAt); err != nil {
		return err
	}
	if err := tx.InsertRefund(ctx, *r); err != nil {
		return err
	}
	return s.succeeded(ctx, tx, *r)
}

func statementOrder(t Target) invoicing.StatementOrder {
	o := t.Order
	so := invoicing.StatementOrder{OrderID: o.ID, TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total,
		Lines: make([]invoicing.StatementLine, len(o.Lines))}
	for i, l := range o.Lines {
		so.Lines[i] = invoicing.StatementLine{VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total}
	}
	return so
}

func paris() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.UTC
	}
	return loc
}

// succeeded emits refund.succeeded and, when the payment's succeeded refunds reach its amount,
// makes the order refunded (order.refunded).
func (s *Service) succeeded(ctx context.Context, tx Tx, r Refund) error {
	if err := s.emit(ctx, tx, "refund.succeeded", r.ID, r.UpdatedAt); err != nil {
		return err
	}
	total, err := tx.SucceededTotal(ctx, r.PaymentIntentID)
	if err != nil {
		return err
	}
	pi, err := tx.CurrentIntent(ctx, r.PaymentIntentID)
	if err != nil {
		return err
	}
	if total < pi.Amount {
		return nil
	}
	ok, err := tx.MarkOrderRefunded(ctx, r.OrderID, r.UpdatedAt)
	if err != nil || !ok {
		return err
	}
	return payments.EmitOrder(ctx, tx, "order.refunded", r.OrderID, r.UpdatedAt)
}

func (s *Service) emit(ctx context.Context, tx Tx, typ, refundID string, at time.Time) error {
	cur, err := tx.CurrentRefund(ctx, refundID)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, txn.Event{Type: typ, BuyerID: cur.BuyerID, CenterID: cur.CenterID, Object: cur, At: at})
}

// Refund returns a refund the caller may see (its buyer, its centre, admin, service).
// Errors: ErrNotFound.
func (s *Service) Refund(ctx context.Context, who auth.Principal, refundID string) (Refund, error) {
	r, err := s.store.Refund(ctx, refundID)
	if err != nil {
		return Refund{}, err
	}
	if who.Privileged() || (who.Role == auth.RoleBuyer && who.Org == r.BuyerID) || (who.Role == auth.RoleCenter && who.Org == r.CenterID) {
		return r, nil
	}
	return Refund{}, ErrNotFound
}

// Refunds lists the refunds the caller may see, newest first.
func (s *Service) Refunds(ctx context.Context, who auth.Principal, f Filter, p page.Request) (page.Page[Refund], error) {
	switch {
	case who.Role == auth.RoleBuyer:
		f.BuyerID, f.CenterID = who.Org, ""
	case who.Role == auth.RoleCenter:
		f.CenterID, f.BuyerID = who.Org, ""
	case who.Privileged():
	default:
		return page.Page[Refund]{Items: []Refund{}}, nil
	}
	if f.BuyerID == "" && f.CenterID == "" && !who.Privileged() {
		return page.Page[Refund]{Items: []Refund{}}, nil
	}
	return s.store.Refunds(ctx, f, p)
}

// advanceDetached runs a new refund's provider steps detached from the request (a client hanging
// up must not stop a refund half-way), within StepTimeout; an error leaves it to ProcessDue.
func (s *Service) advanceDetached(ctx context.Context, refundID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.stepTimeout)
	defer cancel()
	if err := s.Advance(ctx, refundID); err != nil {
		s.log.WarnContext(ctx, "refund left pending for the periodic job", slog.String("refund_id", refundID), slog.String("err", err.Error()))
	}
}

// dueBatch bounds one round of ProcessDue.
const dueBatch = 100

// ProcessDue carries out the pending refunds whose provider step is due by the clock: the safety
// net behind the requests (a crash, a provider outage), the SEPA refunds that wait for their
// collection or for the 8th day, the refunds that wait for the same-amount window. Several
// processes may run it at once: every provider call has an idempotency key derived from the
// refund, and every write is conditional. It returns how many refunds it finished.
func (s *Service) ProcessDue(ctx context.Context) (int, error) {
	due, err := s.store.Due(ctx, s.clock.Now(), dueBatch)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, r := range due {
		if err := s.Advance(ctx, r.ID); err != nil {
			if errors.Is(err, psp.ErrUnavailable) || ctx.Err() != nil {
				return done, err
			}
			s.log.WarnContext(ctx, "refund not advanced", slog.String("refund_id", r.ID), slog.String("err", err.Error()))
			continue
		}
		got, err := s.store.Refund(ctx, r.ID)
		if err == nil && got.Status != StatusPending {
			done++
		}
	}
	return done, nil
}
