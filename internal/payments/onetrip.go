package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/txn"
)

// OneTrip records a sepa_debit payment of an order in two round trips to the database and one
// commit: one read of everything the payment depends on, outside any transaction, then one
// statement of conditional writes (atomic, as every statement). Each write re-checks, at that
// instant, what the read found (the order unchanged since its version, the month still open,
// the buyer still eligible with the same mandate and the amount within the ceiling, the
// Idempotency-Key still free); when one no longer holds, the statement fails, nothing is
// written, and the payment takes the general path (Create's unit of work), which decides and
// words any refusal. PostgreSQL implements it (storage.DB.SEPAOneTrip); SQLite
// keeps the general path.
type OneTrip interface {
	// ReadOneTrip reads, in one round trip, the order (complete: lines and delivery notes, as its
	// GET), its version and whether it has open intents, the payment's instant and open month
	// (hint is the service clock's instant), and the default mandate of buyerID when the buyer
	// may pay by SEPA at hint ("" otherwise). An unknown order answers orders.ErrNotFound.
	ReadOneTrip(ctx context.Context, orderID, buyerID string, hint time.Time) (OneTripRead, error)
	// WriteOneTrip writes w in one statement: the month's gate held,
	// the reservation, the order's confirmation with the intent's insertion, the events with
	// their event outbox row (their fan-out) and the Idempotency-Key's record. It returns false, having written
	// nothing, when a condition read no longer holds; idempotency.ErrTaken, having written
	// nothing, when the key holds a record already.
	WriteOneTrip(ctx context.Context, w OneTripWrite) (bool, error)
}

// OneTripRead is what OneTrip.ReadOneTrip read.
type OneTripRead struct {
	OrderToPay
	// At is the payment's instant and Month the open month it counts in, as read.
	At    time.Time
	Month string
	// Guard is what the write re-checks about the instant (the test clock's offset).
	Guard int64
	// MandateID is the buyer's default mandate when the buyer may pay by SEPA as read.
	MandateID string
}

// OneTripWrite is a payment that OneTrip.WriteOneTrip records.
type OneTripWrite struct {
	Read   OneTripRead
	Intent Intent
	Events []txn.Event
	Answer idempotency.Record
}

// payOneTrip pays order in.OrderID by sepa_debit through s.oneTrip. ok is false when the
// payment must take the general path (nothing was written): an order that is not this buyer's,
// not payable, with open intents, a buyer not eligible as read, or a condition that changed
// between the read and the write.
func (s *Service) payOneTrip(ctx context.Context, buyerID string, in CreateInput) (Intent, bool, error) {
	read, err := s.oneTrip.ReadOneTrip(ctx, in.OrderID, buyerID, s.clock.Now())
	if errors.Is(err, orders.ErrNotFound) {
		return Intent{}, false, nil
	}
	if err != nil {
		return Intent{}, false, err
	}
	order := read.Order
	if order.BuyerID != buyerID || order.CheckPayable() != nil || read.HasOpenIntents || read.Version == "" ||
		read.MandateID == "" || read.Month == "" {
		return Intent{}, false, nil
	}
	at := read.At
	pi := Intent{ID: id.New(id.PaymentIntent), OrderID: order.ID, BuyerID: order.BuyerID, Amount: order.Total,
		Currency: money.EUR, Method: MethodSEPADebit, CreatedAt: at, UpdatedAt: at,
		MandateID: read.MandateID, CollectionMonth: read.Month}
	if err := pi.Schedule(at); err != nil {
		return Intent{}, false, err
	}
	// The order as its GET answers once this payment commits (what CurrentOrder would read in
	// the general path): confirmed, updated now, with this intent as its payment (the newest and
	// the one that confirms it: the order had no open intent, and its earlier ones ended).
	confirmed := order
	if err := confirmed.Confirm(at); err != nil {
		return Intent{}, false, nil
	}
	confirmed.Payment = &orders.PaymentSummary{IntentID: pi.ID, Method: string(pi.Method), Status: string(pi.Status)}
	w := OneTripWrite{Read: read, Intent: pi, Events: []txn.Event{
		{Type: intentEventType(pi.Status), BuyerID: pi.BuyerID, CenterID: order.CenterID, Object: pi, At: at},
		{Type: "order.confirmed", BuyerID: order.BuyerID, CenterID: order.CenterID, Object: confirmed, At: at},
	}}
	r, err := in.Answer.Render(pi)
	if err != nil {
		return Intent{}, false, fmt.Errorf("render the answer of intent %s: %w", pi.ID, err)
	}
	w.Answer = in.Answer.Record
	w.Answer.Done, w.Answer.Response = true, r
	done, err := s.oneTrip.WriteOneTrip(ctx, w)
	if err != nil || !done {
		return Intent{}, false, err
	}
	return pi, true, nil
}
