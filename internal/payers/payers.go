// Package payers keeps each buyer's identity at the payment provider: a legal user and an EUR
// wallet, created lazily the first time a payment feature needs them, exactly once even when
// several requests or processes ask at the same time (the provider calls carry idempotency keys
// derived from the buyer id, and the database keeps one row per buyer).
package payers

import (
	"context"
	"errors"
	"fmt"

	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/psp"
)

// Payer is a buyer at the provider.
type Payer struct {
	BuyerID  string
	UserID   string
	WalletID string
}

// ErrNotFound is returned by Store.Payer when the buyer has no payer yet.
var ErrNotFound = errors.New("no payer for this buyer")

// Store keeps payers.
type Store interface {
	// Payer returns the buyer's payer or ErrNotFound.
	Payer(ctx context.Context, buyerID string) (Payer, error)
	// SavePayer stores p unless the buyer already has one; it returns the stored payer.
	SavePayer(ctx context.Context, p Payer) (Payer, error)
}

// Buyers finds buyers.
type Buyers interface {
	Buyer(ctx context.Context, id string) (parties.Buyer, error)
}

// Service ensures payers.
type Service struct {
	store    Store
	buyers   Buyers
	provider psp.Users
}

// NewService returns a Service.
func NewService(store Store, buyers Buyers, provider psp.Users) *Service {
	return &Service{store: store, buyers: buyers, provider: provider}
}

// Ensure returns the buyer's payer, creating the provider user and wallet when missing. The
// provider user is created with the buyer's legal representative: a provider that needs one
// (MangoPay) refuses a buyer without it with psp.ErrRepresentativeRequired, before any payment.
// Errors: parties.ErrNotFound (no such buyer), psp.ErrRepresentativeRequired,
// psp.ErrUnavailable, *psp.RejectedError.
func (s *Service) Ensure(ctx context.Context, buyerID string) (Payer, error) {
	p, err := s.store.Payer(ctx, buyerID)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Payer{}, err
	}
	b, err := s.buyers.Buyer(ctx, buyerID)
	if err != nil {
		return Payer{}, err
	}
	u, err := s.provider.CreateLegalUser(ctx, psp.LegalUserRequest{
		IdempotencyKey: "payer-user-" + b.ID,
		Name:           b.Name,
		Kind:           psp.CompanyBusiness,
		CompanyNumber:  b.SIREN,
		Email:          b.Email,
		Address: psp.Address{Line1: b.Address.Line1, Line2: b.Address.Line2, City: b.Address.City,
			PostalCode: b.Address.PostalCode, Country: b.Address.Country},
		Representative: representative(b.LegalRepresentative),
		TermsAccepted:  true,
		Tag:            b.ID,
	})
	if err != nil {
		return Payer{}, fmt.Errorf("create provider user for %s: %w", b.ID, err)
	}
	w, err := s.provider.CreateWallet(ctx, psp.WalletRequest{
		IdempotencyKey: "payer-wallet-" + b.ID,
		OwnerID:        u.ID,
		Description:    "vhupay buyer " + b.ID,
		Tag:            b.ID,
	})
	if err != nil {
		return Payer{}, fmt.Errorf("create provider wallet for %s: %w", b.ID, err)
	}
	return s.store.SavePayer(ctx, Payer{BuyerID: b.ID, UserID: u.ID, WalletID: w.ID})
}

// representative is the port's form of a party's legal representative (empty when unknown).
func representative(r *parties.Representative) psp.Representative {
	if r == nil {
		return psp.Representative{}
	}
	return psp.Representative{FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Birthday: r.Birthday,
		Nationality: r.Nationality, CountryOfResidence: r.CountryOfResidence}
}
