// Package payments holds payment intents: one attempt to pay an order by card, SEPA debit or
// end-of-month invoice. intent.go is the pure domain of an intent (no I/O); its state changes go
// through guarded methods.
package payments

import (
	"github.com/vhupay/vhupay/internal/detail"

	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Method is how an intent pays.
type Method string

// The payment methods.
const (
	MethodCard       Method = "card"
	MethodSEPADebit  Method = "sepa_debit"
	MethodVHUInvoice Method = "vhu_invoice"
)

// Valid reports whether m is one of the three methods.
func (m Method) Valid() bool {
	switch m {
	case MethodCard, MethodSEPADebit, MethodVHUInvoice:
		return true
	}
	return false
}

// Deferred reports whether m is collected later (sepa_debit, vhu_invoice): an accepted payment
// is scheduled in one unit of work, with no provider call.
func (m Method) Deferred() bool { return m == MethodSEPADebit || m == MethodVHUInvoice }

// Status is where an intent stands.
//
//	requires_action → succeeded | failed | canceled  (card, waiting for 3-D Secure)
//	processing      → succeeded | failed             (card, waiting for the provider)
//	scheduled       → succeeded | failed             (SEPA or invoice, collected later)
//
// succeeded, failed and canceled are final.
type Status string

// The statuses of an intent.
const (
	StatusRequiresAction Status = "requires_action"
	StatusProcessing     Status = "processing"
	StatusScheduled      Status = "scheduled"
	StatusSucceeded      Status = "succeeded"
	StatusFailed         Status = "failed"
	StatusCanceled       Status = "canceled"
)

// Valid reports whether s is one of the six statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusRequiresAction, StatusProcessing, StatusScheduled, StatusSucceeded, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Final reports whether s is succeeded, failed or canceled: an intent there never changes again.
func (s Status) Final() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCanceled
}

// ErrorCode is the code of an intent's last error.
type ErrorCode string

// The last-error codes of the API contract.
const (
	CodeCardDeclined         ErrorCode = "card_declined"
	CodeAuthenticationFailed ErrorCode = "authentication_failed" // cancelled on the bank page, or 3-D Secure failed
	CodeCardBlocked          ErrorCode = "card_blocked"          // the third wrong authentication code
	CodeExpired              ErrorCode = "expired"               // left in requires_action too long
)

// NextActionType names what the client must do next.
type NextActionType string

// NextActionRedirectToURL: send the buyer's browser to RedirectToURL.URL.
const NextActionRedirectToURL NextActionType = "redirect_to_url"

// NextAction is what the client must do for a requires_action intent.
type NextAction struct {
	Type          NextActionType
	RedirectToURL RedirectToURL
}

// RedirectToURL is the bank's 3-D Secure page (URL) and where the bank sends the browser back
// afterwards (ReturnURL, with ?payment_intent=<id> added).
type RedirectToURL struct {
	URL       string
	ReturnURL string
}

// LastError says why an intent failed or expired.
type LastError struct {
	Code    ErrorCode
	Message string
}

// Intent is one attempt to pay an order. Amount is in euro cents. Which of CardID, MandateID with
// CollectionMonth ("2026-11"), or InvoicingAccountID is set depends on Method. ProviderPayInID is
// the provider's pay-in for a card intent; it is never shown to clients.
type Intent struct {
	ID      string
	OrderID string // "" for a recovery payment
	// CollectionID is the failed SEPA collection a recovery card payment pays ("" otherwise).
	CollectionID       string
	BuyerID            string
	Amount             int64
	Currency           string
	Method             Method
	Status             Status
	NextAction         *NextAction // set only in requires_action
	LastError          *LastError  // set only in failed, or canceled by expiry
	CardID             string
	MandateID          string
	CollectionMonth    string
	InvoicingAccountID string
	ProviderPayInID    string
	// AmountRefunded is what the intent's refunds hold (pending or succeeded), in cents; a
	// scheduled sepa_debit intent collects Amount − AmountRefunded.
	AmountRefunded int64
	// RequestKey fingerprints the Idempotency-Key of the request that created a card intent
	// (empty without one): the same request retried resumes this intent (see Service.Create).
	RequestKey string
	// ReturnURL is the client's return URL of a card intent, kept for a pay-in found on resume
	// that asks for 3-D Secure.
	ReturnURL string
	CreatedAt time.Time
	UpdatedAt time.Time
}

var (
	// ErrInvalidTransition: the intent's status does not allow the change (invalid_transition).
	ErrInvalidTransition = errors.New("invalid payment intent status transition")
	// ErrNotCancelable: only a requires_action intent can be cancelled (intent_not_cancelable).
	ErrNotCancelable = errors.New("payment intent is not cancelable")
	// ErrInvalidReturnURL: a return_url that vhupay will not send a browser to.
	ErrInvalidReturnURL = errors.New("invalid return URL")
)

// IsOpen reports whether the intent may still end either way: requires_action or processing.
func (pi *Intent) IsOpen() bool {
	return pi.Status == StatusRequiresAction || pi.Status == StatusProcessing
}

// ConfirmsOrder reports whether the intent secures its order's payment: scheduled (SEPA or invoice
// accepted for later collection) or succeeded.
func (pi *Intent) ConfirmsOrder() bool {
	return pi.Status == StatusScheduled || pi.Status == StatusSucceeded
}

// Schedule records that a deferred method (sepa_debit, vhu_invoice) accepted a new intent: it
// will be collected later. "" (a new intent) → scheduled at at. From any other status it returns
// ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) Schedule(at time.Time) error {
	if err := pi.require(""); err != nil {
		return err
	}
	pi.Status = StatusScheduled
	pi.UpdatedAt = at
	return nil
}

// Charge records that a new card intent is sent to the provider: "" → processing at at. From any
// other status it returns ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) Charge(at time.Time) error {
	if err := pi.require(""); err != nil {
		return err
	}
	pi.Status = StatusProcessing
	pi.UpdatedAt = at
	return nil
}

// RequireAction records that the provider asks the buyer for 3-D Secure: processing →
// requires_action at at, with a next action that redirects to url and back to returnURL. From
// any other status it returns ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) RequireAction(url, returnURL string, at time.Time) error {
	if err := pi.require(StatusProcessing); err != nil {
		return err
	}
	pi.Status = StatusRequiresAction
	pi.NextAction = &NextAction{Type: NextActionRedirectToURL, RedirectToURL: RedirectToURL{URL: url, ReturnURL: returnURL}}
	pi.UpdatedAt = at
	return nil
}

// Abandon records that a card intent's charge never reached the provider (or was refused before
// any pay-in existed): processing → canceled at at, with no next action and no last error. From
// any other status it returns ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) Abandon(at time.Time) error {
	if err := pi.require(StatusProcessing); err != nil {
		return err
	}
	pi.Status = StatusCanceled
	pi.NextAction = nil
	pi.LastError = nil
	pi.UpdatedAt = at
	return nil
}

// Orphan records that a pay-in succeeded for an intent whose order can no longer keep the money
// (cancelled, or paid otherwise meanwhile): succeeded — not yet stored as such — → canceled, with
// no next action and no last error; the pay-in is refunded. From any other status it returns
// ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) Orphan() error {
	if err := pi.require(StatusSucceeded); err != nil {
		return err
	}
	pi.Status = StatusCanceled
	pi.NextAction = nil
	pi.LastError = nil
	return nil
}

// MarkSucceeded records that the money is secured: requires_action, processing or scheduled →
// succeeded at at, with no next action and no last error. From any other status it returns
// ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) MarkSucceeded(at time.Time) error {
	if err := pi.require(StatusRequiresAction, StatusProcessing, StatusScheduled); err != nil {
		return err
	}
	pi.Status = StatusSucceeded
	pi.NextAction = nil
	pi.LastError = nil
	pi.UpdatedAt = at
	return nil
}

// MarkFailed records a refusal: requires_action, processing or scheduled → failed at at, with
// last_error {code, message} and no next action. Codes are not restricted to the Code* constants
// (a failed SEPA collection may give its own). From any other status it returns
// ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) MarkFailed(code ErrorCode, message string, at time.Time) error {
	if err := pi.require(StatusRequiresAction, StatusProcessing, StatusScheduled); err != nil {
		return err
	}
	pi.Status = StatusFailed
	pi.NextAction = nil
	pi.LastError = &LastError{Code: code, Message: message}
	pi.UpdatedAt = at
	return nil
}

// CheckCancelable returns nil when the client may cancel the intent (it is requires_action),
// ErrNotCancelable (naming its status) otherwise. The cancellation itself is the store's
// conditional update (IntentStore.CancelIntent).
func (pi *Intent) CheckCancelable() error {
	if pi.Status != StatusRequiresAction {
		return detail.Wrap(fmt.Errorf("payment intent %s is %s: %w", pi.ID, pi.Status, ErrNotCancelable),
			"The payment intent is %s: only one waiting for 3-D Secure (requires_action) can be cancelled.", pi.Status)
	}
	return nil
}

// Expire ends an intent the buyer abandoned in requires_action: → canceled at at, with last_error
// {expired}. Whether it is old enough is the caller's to decide. From any other status it returns
// ErrInvalidTransition and leaves the intent unchanged.
func (pi *Intent) Expire(at time.Time) error {
	if err := pi.require(StatusRequiresAction); err != nil {
		return err
	}
	pi.Status = StatusCanceled
	pi.NextAction = nil
	pi.LastError = &LastError{Code: CodeExpired, Message: "3-D Secure authentication was not completed in time"}
	pi.UpdatedAt = at
	return nil
}

func (pi *Intent) require(from ...Status) error {
	for _, s := range from {
		if pi.Status == s {
			return nil
		}
	}
	wanted := make([]string, len(from))
	for i, s := range from {
		wanted[i] = string(s)
	}
	return detail.Wrap(fmt.Errorf("payment intent %s is %s: %w", pi.ID, pi.Status, ErrInvalidTransition),
		"The payment intent is %s; this needs it %s. Read it (GET /v1/payment-intents/{id}) for its outcome.", pi.Status, strings.Join(wanted, " or "))
}

// MaxReturnURLLength bounds a return_url (our choice).
const MaxReturnURLLength = 2048

// ValidateReturnURL returns nil when raw is a place vhupay may send the buyer's browser back to:
// an absolute https URL with a host, or an http URL whose host is localhost (any case) or 127.0.0.1
// (any port, for development). Otherwise it returns an error wrapping ErrInvalidReturnURL that says
// why. Refused: other schemes (javascript:, data:, ftp:, ...), a missing host, user info
// ("https://user@host" hides the real host), a fragment, spaces or control characters, an invalid
// port, and more than MaxReturnURLLength bytes.
//
// Fragments are refused because the bank returns the browser to return_url?payment_intent=<id>:
// with a fragment the added query lands before it, where a hash-routed page would not see it. A
// front end using hash routing gives a path instead.
func ValidateReturnURL(raw string) error {
	invalid := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidReturnURL, why) }
	if raw == "" {
		return invalid("it is empty")
	}
	if len(raw) > MaxReturnURLLength {
		return invalid(fmt.Sprintf("it is longer than %d bytes", MaxReturnURLLength))
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return invalid("it contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("it is not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return invalid("its scheme must be https")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return invalid("it has no host")
	}
	if u.User != nil {
		return invalid("it must not contain user information")
	}
	if strings.Contains(raw, "#") {
		return invalid("it must not contain a fragment (#...)")
	}
	if port := u.Port(); port != "" {
		if err := validPort(port); err != nil {
			return invalid(err.Error())
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return invalid("its port is empty")
	}
	if u.Scheme == "http" && !isLoopbackName(u.Hostname()) {
		return invalid("http is allowed only on localhost and 127.0.0.1; use https")
	}
	return nil
}

// isLoopbackName reports whether host is localhost (any case) or 127.0.0.1.
func isLoopbackName(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1"
}

func validPort(port string) error {
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return errors.New("its port is not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return errors.New("its port is above 65535")
		}
	}
	if n == 0 {
		return errors.New("its port is 0")
	}
	return nil
}

// ReturnURLFor returns returnURL with payment_intent=<intentID> added to its query: where the bank
// sends the browser after 3-D Secure. Existing parameters are kept (re-encoded, sorted by key); an
// existing payment_intent is replaced. It returns an error wrapping ErrInvalidReturnURL when
// ValidateReturnURL refuses returnURL.
func ReturnURLFor(returnURL, intentID string) (string, error) {
	if err := ValidateReturnURL(returnURL); err != nil {
		return "", err
	}
	u, err := url.Parse(returnURL)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidReturnURL, err) // unreachable: validated above
	}
	q := u.Query()
	q.Set("payment_intent", intentID)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
