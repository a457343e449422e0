package sepa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/scoring"
)

// Errors of the SEPA service, besides the rules' (ErrNotEligible, ErrCeilingExceeded) and the
// provider's (psp.ErrUnavailable, passed through).
var (
	// ErrNotFound: no such bank account or mandate, or one of another buyer.
	ErrNotFound = errors.New("not found")
	// ErrBankAccountExists: the buyer already has an active bank account with this IBAN.
	ErrBankAccountExists = errors.New("this IBAN is already one of your active bank accounts")
	// ErrInvalidTransition: the resource's state does not allow the operation (a mandate that
	// ended, a deleted account, a reinstatement of a buyer that is not suspended).
	ErrInvalidTransition = errors.New("the resource's status does not allow this operation")
	// ErrRateLimited is matched by every *RateLimitedError.
	ErrRateLimited = errors.New("too many requests: try again later")
	// ErrScoreUnavailable: the score partner could not answer. The attempt is recorded, which
	// extends the grace period of the last score (DOMAIN.md).
	ErrScoreUnavailable = errors.New("the score partner could not answer")
	// ErrCompanyUnknown: the score partner knows no company with the buyer's SIREN.
	ErrCompanyUnknown = errors.New("the score partner knows no company with this SIREN")
)

// RateLimitedError says how long to wait before asking again.
type RateLimitedError struct {
	RetryAfter time.Duration // > 0
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many requests: retry in %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// Provider is what the service needs of the payment provider.
type Provider interface {
	psp.BankAccounts
	psp.Mandates
}

// Payers gives each buyer's provider user.
type Payers interface {
	// Ensure returns the buyer's payer, creating it at the provider when missing.
	Ensure(ctx context.Context, buyerID string) (payers.Payer, error)
}

// Buyers finds buyers.
type Buyers interface {
	// Buyer returns the buyer or parties.ErrNotFound.
	Buyer(ctx context.Context, id string) (parties.Buyer, error)
}

// Config holds the service's secrets and policies. DefaultConfig gives DOMAIN.md's rules.
type Config struct {
	// FingerprintKey keys the IBAN fingerprints; it must be a secret.
	FingerprintKey []byte
	Ceiling        CeilingPolicy
	Score          ScorePolicy
	// ScoreRequestEvery is how often a buyer may ask for a score check itself: once per rolling
	// period (24 h by default). Operators and services are not limited.
	ScoreRequestEvery time.Duration
	// ManualCeilingMax bounds an operator's ceiling override (100,000,000 cents by default).
	ManualCeilingMax int64
}

// DefaultConfig returns DOMAIN.md's policies with the given fingerprint key.
func DefaultConfig(fingerprintKey []byte) Config {
	return Config{
		FingerprintKey:    fingerprintKey,
		Ceiling:           DefaultCeilingPolicy(),
		Score:             DefaultScorePolicy(),
		ScoreRequestEvery: 24 * time.Hour,
		ManualCeilingMax:  100_000_000,
	}
}

// Service manages bank accounts, mandates, score checks and each buyer's SEPA standing. Every
// method is safe for concurrent use by several processes: invariants hold through conditional
// updates and unique constraints in the store, and no provider or partner call happens inside a
// database transaction.
type Service struct {
	store    Store
	buyers   Buyers
	payers   Payers
	provider Provider
	partner  scoring.Partner
	clock    clock.Clock
	log      *slog.Logger
	cfg      Config
}

// NewService returns a Service. provider may be nil (no payment provider configured): the
// operations that need it then return psp.ErrUnavailable. It fails when a policy is invalid or
// the fingerprint key is empty.
func NewService(store Store, buyers Buyers, payers Payers, provider Provider, partner scoring.Partner,
	clk clock.Clock, log *slog.Logger, cfg Config) (*Service, error) {
	if len(cfg.FingerprintKey) == 0 {
		return nil, errors.New("sepa: the IBAN fingerprint key is empty")
	}
	if err := cfg.Ceiling.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Score.Validate(); err != nil {
		return nil, err
	}
	if cfg.ScoreRequestEvery <= 0 || cfg.ManualCeilingMax <= 0 {
		return nil, fmt.Errorf("%w: the score request period and the manual ceiling bound must be positive", ErrInvalidPolicy)
	}
	return &Service{store: store, buyers: buyers, payers: payers, provider: provider, partner: partner,
		clock: clk, log: log, cfg: cfg}, nil
}

// errNoProvider is returned when no payment provider is configured.
var errNoProvider = fmt.Errorf("%w: no payment provider is configured", psp.ErrUnavailable)

// buyerOf returns the buyer a caller acts for: a buyer acts for itself; an operator or a service
// names one (forBuyer). Errors: ErrNotFound (a buyer naming another buyer, or an unknown buyer).
func (s *Service) buyerOf(ctx context.Context, who auth.Principal, forBuyer string) (parties.Buyer, error) {
	id := forBuyer
	if who.Role == auth.RoleBuyer {
		if forBuyer != "" && forBuyer != who.Org {
			return parties.Buyer{}, ErrNotFound
		}
		id = who.Org
	}
	return s.buyer(ctx, id)
}

// buyer returns a buyer. Errors: ErrNotFound.
func (s *Service) buyer(ctx context.Context, id string) (parties.Buyer, error) {
	if id == "" {
		return parties.Buyer{}, ErrNotFound
	}
	b, err := s.buyers.Buyer(ctx, id)
	if errors.Is(err, parties.ErrNotFound) {
		return parties.Buyer{}, ErrNotFound
	}
	return b, err
}

// sees reports whether the caller may see a resource of buyerID: a buyer sees its own only.
func sees(who auth.Principal, buyerID string) bool {
	return who.Role != auth.RoleBuyer || who.Org == buyerID
}
