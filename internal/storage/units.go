package storage

import (
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
)

// The capabilities' units of work: storage's one unit (a database transaction with the txn.Tx
// hooks) with each capability's writes bound to it. A capability that writes inside another's
// unit extends that unit's type (a SEPA payment is a payment: sepaUnit embeds paymentsUnit), so
// the compiler checks every binding and nothing is unwrapped at run time.
type (
	// paymentsUnit implements payments.Tx (payments.go).
	paymentsUnit struct{ *unit }
	// sepaUnit implements sepa.Tx: a payment with the SEPA reservation (sepa_debit.go).
	sepaUnit struct{ paymentsUnit }
	// invoicingUnit implements invoicing.Tx: a payment listed on a statement (invoicing.go).
	invoicingUnit struct{ paymentsUnit }
)

var (
	_ payments.Tx  = paymentsUnit{}
	_ sepa.Tx      = sepaUnit{}
	_ invoicing.Tx = invoicingUnit{}
)

// PaymentUnits runs the units of work of card payments and of every intent's later changes.
func (db *DB) PaymentUnits() txn.Runner[payments.Tx] {
	return runner[payments.Tx]{db: db, bind: func(u *unit) payments.Tx { return paymentsUnit{u} }}
}

// SEPAUnits runs the units of work of sepa_debit payments.
func (db *DB) SEPAUnits() txn.Runner[sepa.Tx] {
	return runner[sepa.Tx]{db: db, bind: func(u *unit) sepa.Tx { return sepaUnit{paymentsUnit{u}} }}
}

// InvoicingUnits runs the units of work of vhu_invoice payments.
func (db *DB) InvoicingUnits() txn.Runner[invoicing.Tx] {
	return runner[invoicing.Tx]{db: db, bind: func(u *unit) invoicing.Tx { return invoicingUnit{paymentsUnit{u}} }}
}
