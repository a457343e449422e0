package disputes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Tx is the unit of work of a dispute's change: the txn.Tx hooks and the dispute's writes.
type Tx interface {
	txn.Tx
	// HoldPayment locks the disputed payment intent's row until the unit ends (a refund of it
	// waits, then sees the dispute) and returns what was refunded of it so far.
	HoldPayment(ctx context.Context, intentID string) (refunded int64, err error)
	// InsertDispute inserts d; ErrExists when its provider dispute is stored already.
	InsertDispute(ctx context.Context, d Dispute) error
	// SaveDispute writes d's status, evidence, provider action and times when the stored status
	// is one of from (a conditional update); it reports whether it did.
	SaveDispute(ctx context.Context, d Dispute, from ...Status) (bool, error)
}

// Filter narrows a listing; empty fields do not filter.
type Filter struct {
	BuyerID  string
	CenterID string
}

// Store keeps disputes.
type Store interface {
	txn.Runner[Tx]
	// Dispute returns a dispute or ErrNotFound; DisputeByProvider the one of a provider dispute.
	Dispute(ctx context.Context, id string) (Dispute, error)
	DisputeByProvider(ctx context.Context, providerDisputeID string) (Dispute, error)
	// Disputes lists disputes newest first.
	Disputes(ctx context.Context, f Filter, p page.Request) (page.Page[Dispute], error)
	// DueDisputes lists up to limit needs_response disputes whose due date is at or before now.
	DueDisputes(ctx context.Context, now time.Time, limit int) ([]Dispute, error)
	// PendingProviderActions lists up to limit disputes whose provider action is not none.
	PendingProviderActions(ctx context.Context, limit int) ([]Dispute, error)
	// ProviderActionDone sets the provider action of a dispute to none when it is still action
	// (conditional).
	ProviderActionDone(ctx context.Context, id string, action ProviderAction) error
	// Disputed reports whether a payment intent has a dispute (any status).
	Disputed(ctx context.Context, intentID string) (bool, error)
}

// Provider is what disputes need of the payment provider (psp.Disputes' share).
type Provider interface {
	GetDispute(ctx context.Context, disputeID string) (psp.Dispute, error)
	PayInDisputes(ctx context.Context, payInID string) ([]psp.Dispute, error)
	GetRepudiation(ctx context.Context, repudiationID string) (psp.Repudiation, error)
	SubmitDisputeEvidence(ctx context.Context, disputeID string, amount int64, docs []psp.DisputeDocument) (psp.Dispute, error)
	CloseDispute(ctx context.Context, disputeID string) (psp.Dispute, error)
}

// Intents finds the payment intent of a provider pay-in (payments.IntentStore's share).
type Intents interface {
	IntentByPayIn(ctx context.Context, providerPayInID string) (payments.Intent, error)
}

// Orders reads an order with its delivery notes.
type Orders interface {
	Order(ctx context.Context, id string) (orders.Order, error)
}

// Config holds the service's dependencies. Provider may be nil (no provider: notifications
// cannot be read, decisions are told later).
type Config struct {
	Store    Store
	Provider Provider
	Intents  Intents
	Orders   Orders
	Clock    clock.Clock
	Log      *slog.Logger
}

// Service records and answers disputes.
type Service struct{ cfg Config }

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// sees reports whether who may read d: its buyer, its centre, an admin.
func sees(who auth.Principal, d Dispute) bool {
	switch who.Role {
	case auth.RoleBuyer:
		return who.Org != "" && who.Org == d.BuyerID
	case auth.RoleCenter:
		return who.Org != "" && who.Org == d.CenterID
	case auth.RoleAdmin:
		return true
	}
	return false
}

// Get returns a dispute the caller may see. Errors: ErrNotFound.
func (s *Service) Get(ctx context.Context, who auth.Principal, disputeID string) (Dispute, error) {
	d, err := s.cfg.Store.Dispute(ctx, disputeID)
	if err != nil {
		return Dispute{}, err
	}
	if !sees(who, d) {
		return Dispute{}, ErrNotFound
	}
	return d, nil
}

// List lists the disputes the caller may see, newest first: a buyer's own, a centre's own, all
// for an admin.
func (s *Service) List(ctx context.Context, who auth.Principal, p page.Request) (page.Page[Dispute], error) {
	var f Filter
	switch who.Role {
	case auth.RoleBuyer:
		f.BuyerID = who.Org
	case auth.RoleCenter:
		f.CenterID = who.Org
	case auth.RoleAdmin:
	default:
		return page.Page[Dispute]{Items: []Dispute{}}, nil
	}
	if !who.Is(auth.RoleAdmin) && who.Org == "" {
		return page.Page[Dispute]{Items: []Dispute{}}, nil
	}
	return s.cfg.Store.Disputes(ctx, f, p)
}

// Disputed reports whether a payment intent has a dispute: a disputed payment cannot be
// refunded (payment_not_refundable).
func (s *Service) Disputed(ctx context.Context, intentID string) (bool, error) {
	return s.cfg.Store.Disputed(ctx, intentID)
}

// answerable returns the dispute the caller (its centre or an admin) may answer.
func (s *Service) answerable(ctx context.Context, who auth.Principal, disputeID string) (Dispute, error) {
	if !who.Is(auth.RoleCenter, auth.RoleAdmin) {
		return Dispute{}, ErrNotFound
	}
	return s.Get(ctx, who, disputeID)
}

// SubmitEvidence records the centre's answer — text and optionally the order's delivery note
// named by its number — and submits it to the provider: needs_response → under_review, before
// the due date. Audited (dispute.evidence). Errors: *validation.Error ("text",
// "delivery_note_id": not a delivery note of the order), ErrNotFound, ErrInvalidTransition.
func (s *Service) SubmitEvidence(ctx context.Context, who auth.Principal, disputeID, deliveryNoteID, text string) (Dispute, error) {
	text = strings.TrimSpace(text)
	deliveryNoteID = strings.TrimSpace(deliveryNoteID)
	switch {
	case text == "":
		return Dispute{}, validation.Field("text", "required", "is required")
	case !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxTextLen:
		return Dispute{}, validation.Field("text", "max", fmt.Sprintf("must be valid text of at most %d characters", MaxTextLen))
	}
	d, err := s.answerable(ctx, who, disputeID)
	if err != nil {
		return Dispute{}, err
	}
	if deliveryNoteID != "" {
		o, err := s.cfg.Orders.Order(ctx, d.OrderID)
		if err != nil {
			return Dispute{}, fmt.Errorf("order of dispute %s: %w", d.ID, err)
		}
		if _, ok := noteOf(o, deliveryNoteID); !ok {
			return Dispute{}, validation.Field("delivery_note_id", "unknown", "is not a delivery note of the disputed order")
		}
	}
	before := d
	if err := d.SubmitEvidence(Evidence{DeliveryNoteID: deliveryNoteID, Text: text, SubmittedAt: s.cfg.Clock.Now()}); err != nil {
		return Dispute{}, err
	}
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.SaveDispute(ctx, d, StatusNeedsResponse)
		if err != nil {
			return err
		}
		if !ok {
			return ErrInvalidTransition
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "dispute.evidence", Actor: who.Actor(), TargetID: d.ID,
			Before: before, After: d, At: d.UpdatedAt})
	})
	if err != nil {
		return Dispute{}, err
	}
	s.tell(ctx, d)
	return d, nil
}

// Accept records that the centre accepts the loss and tells the provider: needs_response →
// lost; the debit stays. Audited (dispute.accept); event dispute.closed. Errors: ErrNotFound,
// ErrInvalidTransition.
func (s *Service) Accept(ctx context.Context, who auth.Principal, disputeID string) (Dispute, error) {
	d, err := s.answerable(ctx, who, disputeID)
	if err != nil {
		return Dispute{}, err
	}
	before := d
	if err := d.Accept(s.cfg.Clock.Now()); err != nil {
		return Dispute{}, err
	}
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.SaveDispute(ctx, d, StatusNeedsResponse)
		if err != nil {
			return err
		}
		if !ok {
			return ErrInvalidTransition
		}
		if err := tx.Audit(ctx, txn.AuditEntry{Action: "dispute.accept", Actor: who.Actor(), TargetID: d.ID,
			Before: before, After: d, At: d.UpdatedAt}); err != nil {
			return err
		}
		return emit(ctx, tx, "dispute.closed", d)
	})
	if err != nil {
		return Dispute{}, err
	}
	s.tell(ctx, d)
	return d, nil
}

func emit(ctx context.Context, tx Tx, typ string, d Dispute) error {
	return tx.Emit(ctx, txn.Event{Type: typ, BuyerID: d.BuyerID, CenterID: d.CenterID, Object: d, At: d.UpdatedAt})
}

// expiryBatch bounds one round of ExpireDue.
const expiryBatch = 100

// ExpireDue makes lost every dispute still needs_response at its due date (the periodic job, on
// the clock): each in its own unit with its dispute.closed event, by a conditional update, so
// that concurrent rounds (or an answer racing the due date) close it once. It returns how many
// it closed.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.cfg.Clock.Now()
	due, err := s.cfg.Store.DueDisputes(ctx, now, expiryBatch)
	if err != nil {
		return 0, err
	}
	closed := 0
	for _, d := range due {
		if err := d.Expire(now); err != nil {
			continue
		}
		var ok bool
		err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
			var err error
			if ok, err = tx.SaveDispute(ctx, d, StatusNeedsResponse); err != nil || !ok {
				return err
			}
			return emit(ctx, tx, "dispute.closed", d)
		})
		if err != nil {
			return closed, fmt.Errorf("expire dispute %s: %w", d.ID, err)
		}
		if ok {
			closed++
			s.cfg.Log.InfoContext(ctx, "dispute lost: no answer by its due date", slog.String("dispute_id", d.ID))
		}
	}
	return closed, nil
}

// syncBatch bounds one round of SyncProvider.
const syncBatch = 50

// SyncProvider tells the provider the decisions recorded and not told yet (evidence to submit,
// acceptances to close): the retry behind the attempt each decision makes at once. It returns how
// many it told. A provider outage stops the round.
func (s *Service) SyncProvider(ctx context.Context) (int, error) {
	if s.cfg.Provider == nil {
		return 0, nil
	}
	pending, err := s.cfg.Store.PendingProviderActions(ctx, syncBatch)
	if err != nil {
		return 0, err
	}
	told := 0
	for _, d := range pending {
		if err := s.told(ctx, d); err != nil {
			return told, err
		}
		told++
	}
	return told, nil
}

// tell tells the provider a recorded decision, at once after it is committed; a failure leaves
// it to SyncProvider.
func (s *Service) tell(ctx context.Context, d Dispute) {
	if s.cfg.Provider == nil || d.ProviderAction == ActionNone {
		return
	}
	if err := s.told(ctx, d); err != nil {
		s.cfg.Log.WarnContext(ctx, "dispute decision not told to the provider yet", slog.String("dispute_id", d.ID),
			slog.String("action", string(d.ProviderAction)), slog.String("err", err.Error()))
	}
}

// told makes d's provider action and records it done. A refusal (the provider's deadline passed,
// the dispute closed meanwhile) is logged for operators and done: the provider's own decision
// arrives by notification.
func (s *Service) told(ctx context.Context, d Dispute) error {
	var err error
	switch d.ProviderAction {
	case ActionSubmit:
		var docs []psp.DisputeDocument
		if docs, err = s.documents(ctx, d); err != nil {
			return err
		}
		_, err = s.cfg.Provider.SubmitDisputeEvidence(ctx, d.ProviderDisputeID, d.Amount, docs)
	case ActionClose:
		_, err = s.cfg.Provider.CloseDispute(ctx, d.ProviderDisputeID)
	default:
		return nil
	}
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected), errors.Is(err, psp.ErrNotFound):
		s.cfg.Log.ErrorContext(ctx, "the provider refused a dispute's answer", slog.String("dispute_id", d.ID),
			slog.String("action", string(d.ProviderAction)), slog.String("err", err.Error()))
	case err != nil:
		return fmt.Errorf("tell the provider about dispute %s: %w", d.ID, err)
	}
	return s.cfg.Store.ProviderActionDone(ctx, d.ID, d.ProviderAction)
}

// documents is the evidence sent to the provider: one PDF with the centre's text and, when
// named, the order's delivery note (a delivery proof, the document that wins a dispute).
func (s *Service) documents(ctx context.Context, d Dispute) ([]psp.DisputeDocument, error) {
	if d.Evidence == nil {
		return nil, nil
	}
	o, err := s.cfg.Orders.Order(ctx, d.OrderID)
	if err != nil {
		return nil, fmt.Errorf("order of dispute %s: %w", d.ID, err)
	}
	note, hasNote := noteOf(o, d.Evidence.DeliveryNoteID)
	pdf, err := EvidencePDF(d, o, note, hasNote)
	if err != nil {
		return nil, err
	}
	kind := "other"
	if hasNote {
		kind = "delivery_proof"
	}
	// One key per answer: a reopened dispute's new answer is a new document.
	key := fmt.Sprintf("evidence-%s-%d", d.ID, d.Evidence.SubmittedAt.UnixMicro())
	return []psp.DisputeDocument{{IdempotencyKey: key, Kind: kind, Pages: [][]byte{pdf}, Tag: d.ID}}, nil
}

func noteOf(o orders.Order, number string) (orders.DeliveryNote, bool) {
	if number == "" {
		return orders.DeliveryNote{}, false
	}
	for _, n := range o.DeliveryNotes {
		if n.Number == number {
			return n, true
		}
	}
	return orders.DeliveryNote{}, false
}

// ApplyDispute re-reads a provider dispute and applies it, idempotently (the notifications'
// handler): a new one on a card payment is recorded needs_response and debits the centre
// (dispute.created); a final decision closes it, crediting the centre back when won (void counts
// as won: the funds came back) (dispute.closed). A dispute of no card payment is ignored.
// Errors: psp.ErrUnavailable, storage errors.
func (s *Service) ApplyDispute(ctx context.Context, providerDisputeID string) error {
	if s.cfg.Provider == nil {
		s.cfg.Log.WarnContext(ctx, "dispute notification ignored: the payment provider reads no disputes")
		return nil
	}
	pd, err := s.cfg.Provider.GetDispute(ctx, providerDisputeID)
	if errors.Is(err, psp.ErrNotFound) {
		s.cfg.Log.InfoContext(ctx, "unknown provider dispute ignored", slog.String("provider_dispute_id", providerDisputeID))
		return nil
	}
	if err != nil {
		return err
	}
	return s.apply(ctx, pd)
}

// apply applies a provider dispute just read.
func (s *Service) apply(ctx context.Context, pd psp.Dispute) error {
	d, err := s.cfg.Store.DisputeByProvider(ctx, pd.ID)
	if errors.Is(err, ErrNotFound) {
		d, err = s.open(ctx, pd)
		if errors.Is(err, ErrExists) {
			d, err = s.cfg.Store.DisputeByProvider(ctx, pd.ID)
		}
	}
	if err != nil || d.ID == "" {
		return err
	}
	return s.decide(ctx, d, pd)
}

// ApplyRepudiation applies a repudiation (money taken back after a pay-in succeeded): for a card
// payment it is a chargeback, whose disputes are read from the provider and applied as
// ApplyDispute does (a repudiation can arrive before its dispute's own notification). A
// repudiation of another payment, or unknown, is ignored (SEPA collections apply theirs).
func (s *Service) ApplyRepudiation(ctx context.Context, repudiationID string) error {
	if s.cfg.Provider == nil {
		s.cfg.Log.WarnContext(ctx, "dispute notification ignored: the payment provider reads no disputes")
		return nil
	}
	r, err := s.cfg.Provider.GetRepudiation(ctx, repudiationID)
	if errors.Is(err, psp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	pi, err := s.cfg.Intents.IntentByPayIn(ctx, r.PayInID)
	if errors.Is(err, payments.ErrNotFound) {
		return nil
	}
	if err != nil || pi.Method != payments.MethodCard {
		return err
	}
	ds, err := s.cfg.Provider.PayInDisputes(ctx, r.PayInID)
	if errors.Is(err, psp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, pd := range ds {
		if err := s.ApplyDispute(ctx, pd.ID); err != nil {
			return err
		}
	}
	return nil
}

// Lister lists the provider's disputes (MangoPay's GET /disputes; the sandbox, whose disputes
// are applied as they happen, has none).
type Lister interface {
	ListDisputes(ctx context.Context, q psp.DisputeQuery) (psp.DisputePage, error)
}

// PollWindow is how far back the polling safety net reads disputes.
const PollWindow = 45 * 24 * time.Hour

// maxPollPages bounds one round of Poll.
const maxPollPages = 20

// Poll is the safety net behind the dispute notifications (a hook MangoPay gave up on, a
// notification lost before it was kept): it lists the provider's disputes created in the last
// PollWindow and applies those vhupay does not hold final yet. It returns how many it applied. A
// provider without a listing polls nothing.
func (s *Service) Poll(ctx context.Context) (int, error) {
	lister, ok := s.cfg.Provider.(Lister)
	if !ok || s.cfg.Provider == nil {
		return 0, nil
	}
	q := psp.DisputeQuery{CreatedAfter: s.cfg.Clock.Now().Add(-PollWindow), Page: 1, PerPage: 100}
	applied := 0
	for ; q.Page <= maxPollPages; q.Page++ {
		page, err := lister.ListDisputes(ctx, q)
		if err != nil {
			return applied, err
		}
		for _, pd := range page.Disputes {
			d, err := s.cfg.Store.DisputeByProvider(ctx, pd.ID)
			if err == nil && (d.Status.Final() || pd.Status != psp.DisputeClosed) {
				continue // nothing new: recorded, and not decided since
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return applied, err
			}
			if err := s.apply(ctx, pd); err != nil {
				return applied, err
			}
			applied++
		}
		if !page.HasMore {
			break
		}
	}
	return applied, nil
}

// open records a new dispute of a card payment (returns the zero Dispute when pd disputes no
// card payment of vhupay's).
func (s *Service) open(ctx context.Context, pd psp.Dispute) (Dispute, error) {
	pi, err := s.cfg.Intents.IntentByPayIn(ctx, pd.PayInID)
	if errors.Is(err, payments.ErrNotFound) {
		s.cfg.Log.InfoContext(ctx, "dispute of no payment ignored", slog.String("provider_dispute_id", pd.ID), slog.String("pay_in_id", pd.PayInID))
		return Dispute{}, nil
	}
	if err != nil {
		return Dispute{}, err
	}
	if pi.Method != payments.MethodCard {
		s.cfg.Log.InfoContext(ctx, "dispute of a non-card payment left to its method", slog.String("provider_dispute_id", pd.ID),
			slog.String("payment_intent_id", pi.ID))
		return Dispute{}, nil
	}
	o, err := s.cfg.Orders.Order(ctx, pi.OrderID)
	if err != nil {
		return Dispute{}, fmt.Errorf("order of disputed payment %s: %w", pi.ID, err)
	}
	now := s.cfg.Clock.Now()
	due := now.Add(ResponseWindow)
	if !pd.EvidenceDueBy.IsZero() && pd.EvidenceDueBy.Before(due) {
		due = pd.EvidenceDueBy
	}
	amount := pd.Amount
	if amount <= 0 || amount > pi.Amount {
		amount = pi.Amount
	}
	reason := strings.ToLower(pd.Reason)
	if reason == "" {
		reason = "unknown"
	}
	d := Dispute{ID: id.New(id.Dispute), ProviderDisputeID: pd.ID, PaymentIntentID: pi.ID, OrderID: o.ID, BuyerID: pi.BuyerID,
		CenterID: o.CenterID, Amount: amount, Currency: pi.Currency, Reason: reason, Status: StatusNeedsResponse,
		EvidenceDueBy: due, ProviderAction: ActionNone, CreatedAt: now, UpdatedAt: now}
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		// What the centre still holds of the payment: the refunds made before the dispute were
		// taken from it already (a dispute on a refunded payment is recorded as such).
		refunded, err := tx.HoldPayment(ctx, pi.ID)
		if err != nil {
			return err
		}
		d.Debited = DebitFor(amount, pi.Amount, refunded)
		if err := tx.InsertDispute(ctx, d); err != nil {
			return err
		}
		if t, ok := Opened(d); ok {
			if err := tx.Post(ctx, t); err != nil {
				return err
			}
		}
		return emit(ctx, tx, "dispute.created", d)
	})
	if err != nil {
		return Dispute{}, err
	}
	s.cfg.Log.InfoContext(ctx, "dispute opened", slog.String("dispute_id", d.ID), slog.String("payment_intent_id", d.PaymentIntentID),
		slog.Int64("amount", d.Amount), slog.Int64("debited", d.Debited))
	return d, nil
}

// decide applies the provider's final decision to d, once; or its request for more evidence.
func (s *Service) decide(ctx context.Context, d Dispute, pd psp.Dispute) error {
	if pd.Status == psp.DisputeNeedsResponse && d.Status == StatusUnderReview && d.ProviderAction == ActionNone {
		return s.reopen(ctx, d, pd)
	}
	if pd.Status != psp.DisputeClosed || d.Status.Final() {
		if pd.Status == psp.DisputeClosed && d.Status == StatusLost && pd.Outcome != psp.DisputeLost {
			s.cfg.Log.ErrorContext(ctx, "the provider closed a dispute vhupay holds lost with another outcome",
				slog.String("dispute_id", d.ID), slog.String("outcome", string(pd.Outcome)))
		}
		return nil
	}
	from := d.Status
	if err := d.Decide(pd.Outcome != psp.DisputeLost, s.cfg.Clock.Now()); err != nil {
		return nil
	}
	return s.cfg.Store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.SaveDispute(ctx, d, from)
		if err != nil || !ok {
			return err // changed meanwhile: the next notification reads it again
		}
		if d.Status == StatusWon {
			if t, ok := WonBack(d); ok {
				if err := tx.Post(ctx, t); err != nil {
					return err
				}
			}
		}
		return emit(ctx, tx, "dispute.closed", d)
	})
}

// reopen makes an under_review dispute needs_response again: the provider asks for more
// evidence (its answer was told: a dispute whose answer is not told yet still waits for it there).
func (s *Service) reopen(ctx context.Context, d Dispute, pd psp.Dispute) error {
	now := s.cfg.Clock.Now()
	due := now.Add(ResponseWindow)
	if !pd.EvidenceDueBy.IsZero() && pd.EvidenceDueBy.Before(due) {
		due = pd.EvidenceDueBy
	}
	if err := d.Reopen(due, now); err != nil {
		return nil
	}
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		_, err := tx.SaveDispute(ctx, d, StatusUnderReview)
		return err
	})
	if err == nil {
		s.cfg.Log.InfoContext(ctx, "dispute reopened: the bank asks for more evidence", slog.String("dispute_id", d.ID),
			slog.Time("evidence_due_by", due))
	}
	return err
}
