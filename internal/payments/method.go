package payments

import (
	"context"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/txn"
)

// MethodHandler pays orders by one method other than card (sepa_debit, vhu_invoice). It is
// registered in Config.Methods by the capability that owns the method, built with Handler.
type MethodHandler interface {
	// inTx runs fn in one unit of work of the method's own kind; accept runs the method's
	// decision (its Accept) inside it.
	inTx(ctx context.Context, order orders.Order, pi *Intent, fn func(tx Tx, accept func() error) error) error
}

// Accept decides whether the payment pi of order is accepted, inside the one unit of work tx that
// then confirms the order (when pi confirms it), cancels the order's earlier open intents and
// inserts pi; it must make no network call. U is the method's own unit: payments' Tx with the
// method's writes (sepa.Tx, invoicing.Tx).
//
// pi arrives with ID, OrderID, BuyerID, Amount, Currency, Method, CreatedAt and UpdatedAt set,
// CollectionMonth set to the month the payment counts in (see Tx.PickMonth: the Europe/Paris
// month of CreatedAt, or a later one when that month's close has begun) and an empty Status. On
// acceptance Accept moves pi with its guarded transitions (Schedule, or MarkSucceeded when the
// money is already secured), sets its method's fields (MandateID, keeping CollectionMonth; or
// InvoicingAccountID, clearing CollectionMonth, which only SEPA intents show), writes its own rows through tx (conditional updates
// only; the SEPA reservation, for instance; and its events, ledger postings and audit entries
// through txn.Tx) and returns nil. A refusal returns the capability's own error (mapped to a
// problem by its HTTP error table); the unit is rolled back and nothing is written. If the order
// stopped being payable, the unit is rolled back after Accept returned (its writes included) and
// Create returns orders.ErrNotPayable.
type Accept[U Tx] func(ctx context.Context, tx U, order orders.Order, pi *Intent) error

// Handler returns the handler of a payment method whose decision accept runs in units of work of
// type U, which storage opens with units.
func Handler[U Tx](units txn.Runner[U], accept Accept[U]) MethodHandler {
	return method[U]{units: units, accept: accept}
}

type method[U Tx] struct {
	units  txn.Runner[U]
	accept Accept[U]
}

func (m method[U]) inTx(ctx context.Context, order orders.Order, pi *Intent, fn func(tx Tx, accept func() error) error) error {
	return m.units.InTx(ctx, func(tx U) error {
		return fn(tx, func() error { return m.accept(ctx, tx, order, pi) })
	})
}
