// Package sandbox is vhupay's simulated payment provider: it implements psp.Provider the way
// MangoPay behaves (same flow, same kinds of statuses, the same result codes, mapped to neutral
// failures by the same table as the MangoPay client) and serves the pages a browser meets at a
// provider — the card tokenisation endpoint, the bank's 3-D Secure page and the mandate signature
// page (see Pages).
//
// All state lives in the database behind Store, so the sandbox survives a restart and several
// vhupay processes share it. Every state change is a conditional update, so two browsers posting at
// once cannot both win. Neither a card number nor a full IBAN is ever stored or logged: cards keep
// their alias (first 6 and last 4 digits), bank accounts their masked IBAN, and each keeps the
// behaviour class its test number or IBAN selects (SANDBOX.md).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
)

var _ psp.Provider = (*Provider)(nil)

// Provider is the simulated payment provider. It is safe for concurrent use, within one process
// or across several sharing a database.
type Provider struct {
	store     Store
	clock     clock.Clock
	publicURL string
	notify    func(ctx context.Context, n psp.Notification)
	log       *slog.Logger
	fpKey     []byte
	// settling makes Settle calls run one at a time (see Settle).
	settling sync.Mutex
}

// Option configures a Provider.
type Option func(*Provider)

// WithNotifier installs a function called, after the change is committed and never inside a
// transaction, for every change a real provider would send a hook about: pay-ins succeeded or
// failed, refunds succeeded or failed, mandates submitted, activated or failed (a cancelled or
// expired mandate is reported as failed, as MangoPay does). It runs on the goroutine that made the
// change (an API call, a page post, Settle): it should be quick, and it may call the Provider.
func WithNotifier(fn func(ctx context.Context, n psp.Notification)) Option {
	return func(p *Provider) { p.notify = fn }
}

// WithLogger sets the logger (slog.Default otherwise). Log lines never carry a card number, an
// IBAN, a tokenisation secret or a 3-D Secure code.
func WithLogger(log *slog.Logger) Option {
	return func(p *Provider) { p.log = log }
}

// WithFingerprintKey sets the key of the card fingerprints (an HMAC of the card number, so that
// the same card registered twice has the same fingerprint without the number being stored).
func WithFingerprintKey(key []byte) Option {
	return func(p *Provider) { p.fpKey = key }
}

// New returns the sandbox provider. publicURL is vhupay's public base URL ("https://pay.example"),
// under which Pages is mounted: it prefixes CardRegistrationURL and the redirect URLs.
func New(store Store, clock clock.Clock, publicURL string, opts ...Option) *Provider {
	p := &Provider{
		store: store, clock: clock, publicURL: strings.TrimRight(publicURL, "/"),
		log: slog.Default(), fpKey: []byte("vhupay sandbox card fingerprint"),
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Paths of the pages, below the public URL.
const (
	cardRegistrationPath = "/sandbox/psp/card-registrations/"
	secureModePath       = "/sandbox/psp/3ds/"
	mandatePath          = "/sandbox/psp/mandates/"
)

// Merchant is the name the bank pages show as the merchant and the mandate's creditor.
const Merchant = "vhupay marketplace"

// Test values (SANDBOX.md; the same as MangoPay's sandbox).
const (
	ChallengeCard    = "4970105181818183" // 3-D Secure challenge
	FrictionlessCard = "4970107111111119" // succeeds at once, no challenge
	DeclinedAmount   = 33305              // any card: failed at once, 101101 card_declined
	SecureCode       = "123456"           // the 3-D Secure code that succeeds
	MaxSecureTries   = 3                  // wrong codes before the bank blocks the card
)

// settleAfter is how long a direct debit waits before it settles.
const settleAfter = 48 * time.Hour

// mandateSignWindow is how long a created mandate waits for its signature (MangoPay: 1 hour,
// then FAILED 001807).
const mandateSignWindow = time.Hour

// refusalMemory is how long a key used on a refused create stays blocked (MangoPay's idempotency
// window).
const refusalMemory = 24 * time.Hour

// MangoPay result codes the sandbox gives (reference §3.5, §4.2).
const (
	codeSuccess             = "000000"
	codeDoNotHonor          = "101101" // card_declined
	codeAuthFailed          = "101301" // authentication_failed: cancelled on the bank page
	codeMaxAttempts         = "101111" // card_blocked: third wrong code
	codeCardInactive        = "101410" // card_blocked: card deactivated at the provider
	codeNotCardOwner        = "001023"
	codeNotMandateOwner     = "001024"
	codeInvalidAmount       = "001013"
	codeInsufficientFunds   = "001830"
	codeAccountClosed       = "001801"
	codeMandateStatus       = "001833" // mandate_cancelled
	codeMandateRefused      = "001804" // the buyer refused to sign (failed, mandate_cancelled)
	codeMandateCancelled    = "001806" // cancelled by the platform
	codeMandateNotConfirmed = "001807" // not signed within the hour (expired)
	codeBadRegistrationData = "105206"
	codeAlreadyRefunded     = "001401"
	codeRefundTooEarly      = "001405"
	codeRefundTooLate       = "001403"
	codeRefundExceeds       = "005403"
	codeRefundDuplicate     = "005407"
)

// Tokenisation error codes (the MangoPay card-registration kit's, reference §3.1).
const (
	TokenBadCredentials = "09101"  // data or accessKeyRef does not match the registration
	TokenDelayExceeded  = "02631"  // the registration is no longer waiting for a card
	TokenCardNumber     = "105202" // card number format (digits, length, Luhn)
	TokenExpiry         = "105203" // expiry date format, or in the past
	TokenCVX            = "105204" // CVV/CVX format
)

// ErrFinished is returned by the page actions when the pay-in or mandate is no longer waiting for
// the buyer (finished earlier, or by a concurrent post).
var ErrFinished = errors.New("sandbox: no longer waiting for the buyer")

func newID(kind string) string {
	return "sbx_" + kind + "_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
}

// unavailable wraps a storage failure: the provider "did not answer", like a MangoPay 5xx.
func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	var rejected *psp.RejectedError
	if errors.Is(err, psp.ErrNotFound) || errors.Is(err, psp.ErrUnavailable) || errors.Is(err, ErrFinished) || errors.As(err, &rejected) {
		return err
	}
	return fmt.Errorf("sandbox %s: %w: %w", op, psp.ErrUnavailable, err)
}

const paramErrorMessage = "One or several required parameters are missing or incorrect. An incorrect resource ID also raises this kind of error."

func paramError(fields map[string]string) *psp.RejectedError {
	return &psp.RejectedError{Code: "param_error", Message: paramErrorMessage, Fields: fields, Reference: newID("err")}
}

func (p *Provider) emit(ctx context.Context, ns ...psp.Notification) {
	for _, n := range ns {
		p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp event", slog.String("event", n.Event),
			slog.String("kind", string(n.Kind)), slog.String("resource_id", n.ResourceID))
		if p.notify != nil {
			p.notify(ctx, n)
		}
	}
}

// create runs a create under an idempotency key of a kind: the first call with a key inserts the
// resource (build, in the same transaction as the key's claim); later calls return the id it got,
// and calls after a refusal are refused again for 24 hours, as MangoPay does. created tells whether
// this call made the resource (and should send its notifications).
func (p *Provider) create(ctx context.Context, kind, key string, build func(tx Store, id string) error) (id string, created bool, err error) {
	id = newID(kind)
	now := p.clock.Now()
	err = p.store.InTx(ctx, func(tx Store) error {
		if key != "" {
			existing, claimed, err := tx.ClaimKey(ctx, kind, key, id, now)
			if err != nil {
				return err
			}
			if !claimed && existing == "" {
				reclaimed, err := tx.ReclaimRefusedKey(ctx, kind, key, id, now, now.Add(-refusalMemory))
				if err != nil {
					return err
				}
				if !reclaimed {
					return &psp.RejectedError{Code: "idempotent_creation_conflict",
						Message: "A resource has already been created with this Idempotency Key", Reference: newID("err")}
				}
				claimed = true
			}
			if !claimed {
				id = existing
				return nil
			}
		}
		created = true
		return build(tx, id)
	})
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) && rejected.Code != "idempotent_creation_conflict" && key != "" {
		// Remember the refusal: MangoPay blocks a key whatever the first call's outcome.
		if _, _, cerr := p.store.ClaimKey(ctx, kind, key, "", now); cerr != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "sandbox psp: remember refused key", slog.String("kind", kind), slog.Any("error", cerr))
		}
	}
	if err != nil {
		return "", false, unavailable("create "+kind, err)
	}
	return id, created, nil
}
