package balances

import (
	"context"
	"errors"
	"fmt"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Tx is the unit of work of the centres' money.
type Tx interface {
	txn.Tx
	// SetCenterFeeRate sets a centre's fee rate; parties.ErrNotFound when there is no such centre.
	SetCenterFeeRate(ctx context.Context, centerID string, bps int) error
}

// Store reads the ledger and writes fee rates.
type Store interface {
	txn.Runner[Tx]
	// LedgerAccounts lists the ledger's accounts with their balances, by account name.
	LedgerAccounts(ctx context.Context, p page.Request) (page.Page[AccountBalance], error)
	// TrialBalance sums every posting.
	TrialBalance(ctx context.Context) (TrialBalance, error)
	// CenterBalance returns a centre's available balance (its account's) and what is in transit.
	CenterBalance(ctx context.Context, centerID string) (Balance, error)
	// BalanceTransactions lists the postings to centres' accounts as balance transactions,
	// newest first.
	BalanceTransactions(ctx context.Context, f Filter, p page.Request) (page.Page[Transaction], error)
}

// Centers reads centres.
type Centers interface {
	// Center returns a centre or parties.ErrNotFound.
	Center(ctx context.Context, id string) (parties.Center, error)
}

// Service sets the centres' fee rates and reads their balances and the ledger.
type Service struct {
	store   Store
	centers Centers
	clock   clock.Clock
}

// NewService returns a Service.
func NewService(store Store, centers Centers, c clock.Clock) *Service {
	return &Service{store: store, centers: centers, clock: c}
}

// SetFee sets a centre's fee rate (admin only: the HTTP layer checks the role), for the payments
// it earns from now on; audited as center.fee_change. Errors: *validation.Error
// ("fee_rate_bps"), parties.ErrNotFound.
func (s *Service) SetFee(ctx context.Context, who auth.Principal, centerID string, bps int) (parties.Center, error) {
	if bps < 0 || bps > MaxFeeRateBPS {
		return parties.Center{}, validation.Field("fee_rate_bps", "range", "must be between 0 and 10000")
	}
	before, err := s.centers.Center(ctx, centerID)
	if err != nil {
		return parties.Center{}, err
	}
	after := before
	after.FeeRateBPS = bps
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.SetCenterFeeRate(ctx, centerID, bps); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "center.fee_change",
			Actor: txn.Actor{Subject: who.Subject, Role: string(who.Role), Org: who.Org}, TargetID: centerID,
			Before: before, After: after, At: s.clock.Now()})
	})
	if err != nil {
		return parties.Center{}, err
	}
	return s.centers.Center(ctx, centerID)
}

// centerOf resolves the centre a caller reads the money of: a centre its own (centerID empty or
// itself), admin and service the one named. Errors: *validation.Error ("center_id"),
// ErrCenterNotFound.
func (s *Service) centerOf(ctx context.Context, who auth.Principal, centerID string) (string, error) {
	switch {
	case who.Role == auth.RoleCenter && who.Org != "":
		if centerID != "" && centerID != who.Org {
			return "", ErrCenterNotFound
		}
		return who.Org, nil
	case who.Privileged():
		if centerID == "" {
			return "", validation.Field("center_id", "required", "is required for admin and service")
		}
		if _, err := s.centers.Center(ctx, centerID); errors.Is(err, parties.ErrNotFound) {
			return "", ErrCenterNotFound
		} else if err != nil {
			return "", err
		}
		return centerID, nil
	}
	return "", ErrCenterNotFound
}

// Balance returns a centre's balance. Errors: see centerOf.
func (s *Service) Balance(ctx context.Context, who auth.Principal, centerID string) (Balance, error) {
	id, err := s.centerOf(ctx, who, centerID)
	if err != nil {
		return Balance{}, err
	}
	b, err := s.store.CenterBalance(ctx, id)
	if err != nil {
		return Balance{}, err
	}
	c, err := s.centers.Center(ctx, id)
	if err != nil {
		return Balance{}, err
	}
	b.PayoutsEnabled = c.PayoutsEnabled
	return b, nil
}

// Transactions lists a centre's balance transactions, newest first. Errors: see centerOf;
// *validation.Error ("type").
func (s *Service) Transactions(ctx context.Context, who auth.Principal, f Filter, p page.Request) (page.Page[Transaction], error) {
	if f.Type != "" && !f.Type.Valid() {
		return page.Page[Transaction]{}, validation.Field("type", "oneof", fmt.Sprintf("must be one of %v", Types))
	}
	id, err := s.centerOf(ctx, who, f.CenterID)
	if err != nil {
		return page.Page[Transaction]{}, err
	}
	f.CenterID = id
	return s.store.BalanceTransactions(ctx, f, p)
}

// Accounts lists the ledger's accounts (admin).
func (s *Service) Accounts(ctx context.Context, p page.Request) (page.Page[AccountBalance], error) {
	return s.store.LedgerAccounts(ctx, p)
}

// TrialBalance sums the ledger (admin).
func (s *Service) TrialBalance(ctx context.Context) (TrialBalance, error) {
	return s.store.TrialBalance(ctx)
}
