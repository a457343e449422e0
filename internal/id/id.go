// Package id makes the opaque, type-prefixed identifiers of vhupay's resources ("ord_0193…").
// The part after the prefix is a UUIDv7 in hex: time-ordered, so identifiers sort by creation,
// which keyset pagination relies on.
package id

import (
	"strings"

	"github.com/google/uuid"
)

// Prefixes of the resource kinds.
const (
	Buyer              = "byr"
	Center             = "ctr"
	Order              = "ord"
	PaymentIntent      = "pi"
	CardRegistration   = "cr"
	Card               = "card"
	BankAccount        = "ba"
	Mandate            = "mdt"
	Collection         = "col"
	InvoicingAccount   = "ina"
	Statement          = "stm"
	Event              = "evt"
	Refund             = "re"
	Dispute            = "dp"
	Payout             = "po"
	BalanceTransaction = "btx"
	WebhookEndpoint    = "we"
	WebhookDelivery    = "whd"
	Reconciliation     = "rec"
	APIKey             = "key"
	AuditEvent         = "aud"
	LedgerTransaction  = "ltx"
	Transfer           = "tr" // a centre's earning moved between wallets at the provider (internal)
)

// New returns a new identifier with the given prefix.
func New(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + strings.ReplaceAll(u.String(), "-", "")
}

// HasPrefix reports whether s is shaped like an identifier of that kind.
func HasPrefix(s, prefix string) bool {
	return strings.HasPrefix(s, prefix+"_") && len(s) == len(prefix)+1+32
}
