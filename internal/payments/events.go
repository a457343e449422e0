package payments

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/txn"
)

// intentEventType is the event of an intent that has just reached status ("" for processing,
// which is not told).
func intentEventType(s Status) string {
	switch s {
	case StatusRequiresAction:
		return "payment_intent.requires_action"
	case StatusScheduled:
		return "payment_intent.scheduled"
	case StatusSucceeded:
		return "payment_intent.succeeded"
	case StatusFailed:
		return "payment_intent.failed"
	case StatusCanceled:
		return "payment_intent.canceled"
	}
	return ""
}

// EmitIntent emits, in tx, the payment_intent.* event of the status the intent has just reached,
// with the intent as its GET answers it after tx's writes. Call it once per transition, in the
// unit that makes it.
func EmitIntent(ctx context.Context, tx Tx, intentID string, at time.Time) error {
	pi, err := tx.CurrentIntent(ctx, intentID)
	if err != nil {
		return err
	}
	typ := intentEventType(pi.Status)
	if typ == "" {
		return nil
	}
	if pi.OrderID == "" { // a recovery payment: the buyer's alone
		return tx.Emit(ctx, txn.Event{Type: typ, BuyerID: pi.BuyerID, Object: pi, At: at})
	}
	o, err := tx.CurrentOrder(ctx, pi.OrderID)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, txn.Event{Type: typ, BuyerID: pi.BuyerID, CenterID: o.CenterID, Object: pi, At: at})
}

// EmitOrder emits, in tx, an order.* event with the order as its GET answers it after tx's writes.
func EmitOrder(ctx context.Context, tx Tx, typ, orderID string, at time.Time) error {
	o, err := tx.CurrentOrder(ctx, orderID)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, txn.Event{Type: typ, BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o, At: at})
}

// blockAndEmit blocks an active card and emits card.blocked when it did.
func blockAndEmit(ctx context.Context, tx Tx, cardID string, at time.Time) error {
	blocked, err := tx.BlockCard(ctx, cardID, at)
	if err != nil || !blocked {
		return err
	}
	c, err := tx.CurrentCard(ctx, cardID)
	if err != nil {
		return err
	}
	return tx.Emit(ctx, txn.Event{Type: "card.blocked", BuyerID: c.BuyerID, Object: c, At: at})
}

// cancelOpenIntents cancels the order's requires_action intents and emits their
// payment_intent.canceled.
func cancelOpenIntents(ctx context.Context, tx Tx, orderID string, at time.Time) error {
	ids, err := tx.CancelOpenIntents(ctx, orderID, at)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := EmitIntent(ctx, tx, id, at); err != nil {
			return err
		}
	}
	return nil
}
