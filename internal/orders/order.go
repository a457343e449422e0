// Package orders holds the Order aggregate: a buyer's order of parts from one centre, its priced
// lines and its status. order.go is pure domain (no I/O); state changes go through guarded methods.
package orders

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/validation"
)

// Status is where an order stands. An order starts payment_pending; it becomes confirmed when a
// payment is secured, or cancelled when the buyer deletes it. Both are final.
type Status string

// The statuses of an order.
const (
	StatusPaymentPending Status = "payment_pending"
	StatusConfirmed      Status = "confirmed"
	StatusCancelled      Status = "cancelled"
	// StatusRefunded: the whole amount was refunded (a partly refunded order stays confirmed).
	StatusRefunded Status = "refunded"
)

// Valid reports whether s is one of the three statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPaymentPending, StatusConfirmed, StatusCancelled, StatusRefunded:
		return true
	}
	return false
}

// DeliveryMode is how the buyer gets the parts.
type DeliveryMode string

// The delivery modes.
const (
	DeliveryModeDelivery DeliveryMode = "delivery"
	DeliveryModePickup   DeliveryMode = "pickup"
)

// Valid reports whether m is delivery or pickup.
func (m DeliveryMode) Valid() bool { return m == DeliveryModeDelivery || m == DeliveryModePickup }

// DeliveryNoteKind says whether the part was delivered (BL, bon de livraison) or picked up
// (BR, bon de retrait).
type DeliveryNoteKind string

// The kinds of delivery note.
const (
	DeliveryNoteBL DeliveryNoteKind = "BL"
	DeliveryNoteBR DeliveryNoteKind = "BR"
)

// Valid reports whether k is BL or BR.
func (k DeliveryNoteKind) Valid() bool { return k == DeliveryNoteBL || k == DeliveryNoteBR }

// Bounds of an order, from the API contract where it sets them, else our choice.
const (
	MinLines                   = 1
	MaxLines                   = 100
	MinQuantity                = 1
	MaxQuantity                = 1000
	MinUnitPriceExclVAT        = 1           // cents
	MaxUnitPriceExclVAT        = 100_000_000 // cents: 1,000,000.00 EUR
	MaxReferenceLength         = 100         // characters (runes), our choice
	MaxLabelLength             = 500         // characters (runes), our choice
	MaxExternalReferenceLength = 100         // characters (runes), our choice
	MaxDeliveryNoteNumberLen   = 100         // characters (runes), our choice
)

// Errors returned by the guarded state changes. Each maps to the API error code of the same meaning.
var (
	// ErrNotDeletable: only a payment_pending order can be deleted (order_not_deletable).
	ErrNotDeletable = errors.New("order is not deletable")
	// ErrNotPayable: only a payment_pending order can be paid (order_not_payable).
	ErrNotPayable = errors.New("order is not payable")
	// ErrNotConfirmed: delivery notes go on confirmed orders only (order_not_confirmed).
	ErrNotConfirmed = errors.New("order is not confirmed")
	// ErrInvalidTransition: the order's status is not one this package knows (a zero Order or a
	// corrupt row), so no change is allowed from it.
	ErrInvalidTransition = errors.New("invalid order status transition")
)

// Line is a priced order line. Totals are computed by NewOrder: TotalExclVAT = UnitPriceExclVAT ×
// Quantity, TotalVAT = VAT on TotalExclVAT at VATRate rounded half up, Total = their sum.
type Line struct {
	Reference        string
	Label            string
	Quantity         int
	UnitPriceExclVAT int64 // cents
	VATRate          int   // basis points
	TotalExclVAT     int64
	TotalVAT         int64
	Total            int64
}

// PaymentSummary is the order's current payment intent, attached by the payments service.
type PaymentSummary struct {
	IntentID string
	Method   string
	Status   string
}

// DeliveryNote is a BL or BR number the selling centre attached to a confirmed order.
type DeliveryNote struct {
	Kind      DeliveryNoteKind
	Number    string
	CreatedAt time.Time
}

// Order is a buyer's order of parts from one centre. Amounts are euro cents; TotalExclVAT and
// TotalVAT are the sums of the lines' values, Total = TotalExclVAT + TotalVAT.
type Order struct {
	ID                string
	BuyerID           string
	CenterID          string
	Status            Status
	DeliveryMode      DeliveryMode
	ExternalReference string // optional
	Lines             []Line
	TotalExclVAT      int64
	TotalVAT          int64
	Total             int64
	Currency          string          // always money.EUR
	Payment           *PaymentSummary // nil until a payment intent exists; set by the service layer
	// AmountRefunded is what the refunds of its payment hold (pending or succeeded), in cents.
	AmountRefunded int64
	DeliveryNotes  []DeliveryNote // nil when none
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// NewOrderInput is what a buyer (or a service acting for it) asks for.
type NewOrderInput struct {
	BuyerID           string
	CenterID          string
	DeliveryMode      DeliveryMode
	ExternalReference string
	Lines             []LineInput
	// SignedCart is a cart signed by the marketplace back end (Service.Create reads it: its lines
	// replace Lines; CenterID must be its centre). NewOrder ignores it.
	SignedCart string
}

// LineInput is one requested line. A nil VATRate means money.DefaultVATRate (20 %).
type LineInput struct {
	Reference        string
	Label            string
	Quantity         int
	UnitPriceExclVAT int64
	VATRate          *int
}

// NewOrder validates in and returns a payment_pending order with its line and order totals
// computed, CreatedAt = UpdatedAt = now and Currency EUR. Texts are kept as given.
//
// When in breaks a rule it returns a *validation.Error listing every broken field, named by its
// JSON path in the contract ("center_id", "lines", "lines[2].quantity", ...) with codes:
// "required" (missing or blank), "min"/"max" (number or count out of bounds, text too long) and
// "oneof" (delivery_mode, vat_rate). That the centre exists is the service's to check.
func NewOrder(in NewOrderInput, id string, now time.Time) (Order, error) {
	var errs validation.Collector
	requireText(&errs, "buyer_id", in.BuyerID, 0)
	requireText(&errs, "center_id", in.CenterID, 0)
	switch {
	case in.DeliveryMode == "":
		errs.Add("delivery_mode", "required", "is required")
	case !in.DeliveryMode.Valid():
		errs.Add("delivery_mode", "oneof", `must be "delivery" or "pickup"`)
	}
	if n := utf8.RuneCountInString(in.ExternalReference); n > MaxExternalReferenceLength {
		errs.Add("external_reference", "max", fmt.Sprintf("must be at most %d characters", MaxExternalReferenceLength))
	}
	switch n := len(in.Lines); {
	case n < MinLines:
		errs.Add("lines", "min", fmt.Sprintf("must have at least %d line", MinLines))
	case n > MaxLines:
		errs.Add("lines", "max", fmt.Sprintf("must have at most %d lines", MaxLines))
	}

	lines := make([]Line, 0, len(in.Lines))
	for i, li := range in.Lines {
		path := "lines[" + strconv.Itoa(i) + "]."
		requireText(&errs, path+"reference", li.Reference, MaxReferenceLength)
		requireText(&errs, path+"label", li.Label, MaxLabelLength)
		switch {
		case li.Quantity < MinQuantity:
			errs.Add(path+"quantity", "min", fmt.Sprintf("must be at least %d", MinQuantity))
		case li.Quantity > MaxQuantity:
			errs.Add(path+"quantity", "max", fmt.Sprintf("must be at most %d", MaxQuantity))
		}
		switch {
		case li.UnitPriceExclVAT < MinUnitPriceExclVAT:
			errs.Add(path+"unit_price_excl_vat", "min", fmt.Sprintf("must be at least %d cent", MinUnitPriceExclVAT))
		case li.UnitPriceExclVAT > MaxUnitPriceExclVAT:
			errs.Add(path+"unit_price_excl_vat", "max", fmt.Sprintf("must be at most %d cents", MaxUnitPriceExclVAT))
		}
		rate := money.DefaultVATRate
		if li.VATRate != nil {
			rate = *li.VATRate
			if !money.ValidVATRate(rate) {
				errs.Add(path+"vat_rate", "oneof", "must be one of 0, 550, 1000, 2000 (basis points)")
			}
		}
		lines = append(lines, Line{
			Reference:        li.Reference,
			Label:            li.Label,
			Quantity:         li.Quantity,
			UnitPriceExclVAT: li.UnitPriceExclVAT,
			VATRate:          rate,
		})
	}
	if err := errs.Err(); err != nil {
		return Order{}, err
	}

	o := Order{
		ID:                id,
		BuyerID:           in.BuyerID,
		CenterID:          in.CenterID,
		Status:            StatusPaymentPending,
		DeliveryMode:      in.DeliveryMode,
		ExternalReference: in.ExternalReference,
		Lines:             lines,
		Currency:          money.EUR,
		CreatedAt:         now,
		UpdatedAt:         now,
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		// Within the bounds above a line is at most 1.2e11 cents and an order 1.2e13: no overflow.
		l.TotalExclVAT, l.TotalVAT, l.Total = money.LineTotals(l.UnitPriceExclVAT, l.Quantity, l.VATRate)
		o.TotalExclVAT += l.TotalExclVAT
		o.TotalVAT += l.TotalVAT
	}
	o.Total = o.TotalExclVAT + o.TotalVAT
	return o, nil
}

// requireText adds "required" when s is empty or blank and, when maxLen > 0, "max" when s is longer
// than maxLen characters.
func requireText(errs *validation.Collector, field, s string, maxLen int) {
	switch {
	case strings.TrimSpace(s) == "":
		errs.Add(field, "required", "is required")
	case maxLen > 0 && utf8.RuneCountInString(s) > maxLen:
		errs.Add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	}
}

// CheckPayable returns nil when a payment may start on the order (it is payment_pending),
// ErrNotPayable when it is confirmed or cancelled, ErrInvalidTransition for an unknown status.
func (o *Order) CheckPayable() error { return o.requirePending(ErrNotPayable) }

// CheckDeletable returns nil when the order may be deleted (it is payment_pending),
// ErrNotDeletable when it is confirmed or cancelled, ErrInvalidTransition for an unknown status.
func (o *Order) CheckDeletable() error { return o.requirePending(ErrNotDeletable) }

// Cancel deletes the order as the buyer sees it: payment_pending → cancelled at at. It returns
// ErrNotDeletable from confirmed or cancelled (a second delete is refused too) and
// ErrInvalidTransition from an unknown status; the order is unchanged on error. Cancelling the
// order's open payment intents is the service's job.
func (o *Order) Cancel(at time.Time) error {
	if err := o.CheckDeletable(); err != nil {
		return err
	}
	o.Status = StatusCancelled
	o.UpdatedAt = at
	return nil
}

// Confirm records that a payment is secured: payment_pending → confirmed at at. It returns
// ErrNotPayable from confirmed or cancelled and ErrInvalidTransition from an unknown status; the
// order is unchanged on error.
func (o *Order) Confirm(at time.Time) error {
	if err := o.CheckPayable(); err != nil {
		return err
	}
	o.Status = StatusConfirmed
	o.UpdatedAt = at
	return nil
}

// AddDeliveryNote attaches a BL or BR number to a confirmed order and returns the note. It returns
// a *validation.Error on "kind" (required, oneof) or "number" (required, max), else ErrNotConfirmed
// when the order is not confirmed; the order is unchanged on error. That the number is unique for
// the centre is the storage's to enforce.
func (o *Order) AddDeliveryNote(kind DeliveryNoteKind, number string, at time.Time) (DeliveryNote, error) {
	var errs validation.Collector
	switch {
	case kind == "":
		errs.Add("kind", "required", "is required")
	case !kind.Valid():
		errs.Add("kind", "oneof", `must be "BL" or "BR"`)
	}
	requireText(&errs, "number", number, MaxDeliveryNoteNumberLen)
	if err := errs.Err(); err != nil {
		return DeliveryNote{}, err
	}
	if o.Status != StatusConfirmed {
		return DeliveryNote{}, ErrNotConfirmed
	}
	n := DeliveryNote{Kind: kind, Number: number, CreatedAt: at}
	o.DeliveryNotes = append(o.DeliveryNotes, n)
	o.UpdatedAt = at
	return n, nil
}

// MarkRefunded records that refunds gave back the whole amount: confirmed → refunded at at. From
// any other status it returns ErrInvalidTransition and leaves the order unchanged. (Storage makes
// the same move with a conditional update; this is the rule it follows.)
func (o *Order) MarkRefunded(at time.Time) error {
	if o.Status != StatusConfirmed {
		return fmt.Errorf("order %s in status %q: %w", o.ID, o.Status, ErrInvalidTransition)
	}
	o.Status = StatusRefunded
	o.UpdatedAt = at
	return nil
}

func (o *Order) requirePending(refusal error) error {
	switch o.Status {
	case StatusPaymentPending:
		return nil
	case StatusConfirmed, StatusCancelled, StatusRefunded:
		if errors.Is(refusal, ErrNotPayable) {
			return detail.Wrap(refusal, "The order is %s, not payment_pending: it cannot be paid. Read it (GET /v1/orders/{id}) and show its status and payment.", o.Status)
		}
		return detail.Wrap(refusal, "The order is %s: only a payment_pending order can be deleted.", o.Status)
	default:
		return fmt.Errorf("order %s in status %q: %w", o.ID, o.Status, ErrInvalidTransition)
	}
}
