package collections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/sepa"
)

// Provider is what collections need of the payment provider.
type Provider interface {
	CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error)
	GetPayIn(ctx context.Context, payInID string) (psp.PayIn, error)
	GetRepudiation(ctx context.Context, repudiationID string) (psp.Repudiation, error)
}

// Payers gives each buyer's provider user and wallet.
type Payers interface {
	// Ensure returns the buyer's payer, creating it at the provider when missing.
	Ensure(ctx context.Context, buyerID string) (payers.Payer, error)
}

// Buyers finds buyers.
type Buyers interface {
	// Buyer returns the buyer or parties.ErrNotFound.
	Buyer(ctx context.Context, id string) (parties.Buyer, error)
}

// SEPA is what collections need of the SEPA service (*sepa.Service).
type SEPA interface {
	// CheckScore asks the partner for the buyer's score now and records the outcome.
	CheckScore(ctx context.Context, buyerID string) (sepa.Score, error)
	// CheckScores is CheckScore for many buyers, workers partner calls at a time, the outcomes
	// recorded together: each buyer's CheckScore error, and the error that stopped the batch.
	CheckScores(ctx context.Context, buyerIDs []string, workers int) (map[string]error, error)
	// CeilingPolicy is the ceiling rule.
	CeilingPolicy() sepa.CeilingPolicy
	// CeilingReviewInput reads what a buyer's ceiling review depends on besides its history.
	CeilingReviewInput(ctx context.Context, buyerID string, monthlyTotals []int64, unpaidInWindow bool) (sepa.ReviewInput, error)
	// CeilingReviewInputs is CeilingReviewInput for many buyers, read set-based; the buyers
	// without a SEPA profile are absent.
	CeilingReviewInputs(ctx context.Context, buyerIDs []string,
		history func(buyerID string) (monthlyTotals []int64, unpaidInWindow bool)) (map[string]sepa.ReviewInput, error)
}

// Progress is a month close step's durable checkpoint (monthclose.Progress).
type Progress interface {
	Checkpoint() string
	Save(ctx context.Context, checkpoint string) error
	Report(ctx context.Context, done, total int) error
}

// Config configures a Service. Zero fields take the defaults.
type Config struct {
	Store    Store
	Buyers   Buyers
	SEPA     SEPA
	Payers   Payers
	Provider Provider // nil: no payment provider (submissions return psp.ErrUnavailable)
	Clock    clock.Clock
	Log      *slog.Logger
	// Workers bounds the concurrent provider or partner calls of a step (4 by default).
	Workers int
	// Batch is how many buyers or collections a step reads, and records, at once (200 by
	// default: at a paced provider's rate a batch's results wait for its last call; the app sets
	// 1,000 with the unpaced sandbox).
	Batch int
	// PollAfter: the safety net reads a submitted collection's pay-in once it is this old
	// (6 hours by default; notifications normally settle it earlier).
	PollAfter time.Duration
	// PollEvery: the safety net reads the same pay-in at most this often (1 hour by default).
	PollEvery time.Duration
	// CreditorID is the platform's SEPA creditor identifier (SCI) given in pre-notifications
	// (VHUPAY_SEPA_CREDITOR_ID).
	CreditorID string
	// CreditorName is the creditor's name in pre-notifications ("vhupay" by default).
	CreditorName string
	// RetryAfter is how long after its failure for insufficient funds a debit is presented
	// again (VHUPAY_SEPA_RETRY_AFTER, 7 days by default).
	RetryAfter time.Duration
}

// DefaultRetryAfter is DOMAIN-2.md's delay before a re-presentation.
const DefaultRetryAfter = 7 * 24 * time.Hour

// Service creates, submits and settles collections, refreshes the SEPA buyers' scores and
// reviews their ceilings at month close.
type Service struct {
	store    Store
	buyers   Buyers
	sepa     SEPA
	payers   Payers
	provider Provider
	clock    clock.Clock
	log      *slog.Logger
	cfg      Config
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.PollAfter <= 0 {
		cfg.PollAfter = 6 * time.Hour
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Hour
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.CreditorName == "" {
		cfg.CreditorName = "vhupay"
	}
	return &Service{store: cfg.Store, buyers: cfg.Buyers, sepa: cfg.SEPA, payers: cfg.Payers, provider: cfg.Provider, clock: cfg.Clock,
		log: cfg.Log, cfg: cfg}
}

// errNoProvider is returned when no payment provider is configured.
var errNoProvider = fmt.Errorf("%w: no payment provider is configured", psp.ErrUnavailable)

// Collection returns a collection the caller may see: a buyer its own, an operator any.
// Errors: ErrNotFound.
func (s *Service) Collection(ctx context.Context, who auth.Principal, id string) (Collection, error) {
	c, err := s.store.Collection(ctx, id)
	if err != nil {
		return Collection{}, err
	}
	if who.Role == auth.RoleBuyer && c.BuyerID != who.Org {
		return Collection{}, ErrNotFound
	}
	return c, nil
}

// Collections lists a buyer's collections newest first: a buyer its own (buyerID is ignored),
// an operator those of buyerID. Errors: ErrNotFound (an unknown buyer).
func (s *Service) Collections(ctx context.Context, who auth.Principal, buyerID string, p page.Request) (page.Page[Collection], error) {
	if who.Role == auth.RoleBuyer {
		buyerID = who.Org
	}
	if buyerID == "" {
		return page.Page[Collection]{}, ErrNotFound
	}
	if _, err := s.buyers.Buyer(ctx, buyerID); err != nil {
		if errors.Is(err, parties.ErrNotFound) {
			return page.Page[Collection]{}, ErrNotFound
		}
		return page.Page[Collection]{}, err
	}
	return s.store.Collections(ctx, buyerID, p)
}

// forEach runs fn on every item with at most workers calls at once. It stops starting new
// calls after the first error or when ctx ends, waits for the calls under way and returns the
// first error (ctx's error when it ended first).
func forEach[T any](ctx context.Context, workers int, items []T, fn func(ctx context.Context, item T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, workers)
	for _, item := range items {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := fn(ctx, item); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}
