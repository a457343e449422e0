package sepa

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/validation"
)

// NewBankAccount is the input of AddBankAccount. IBAN is the raw input; it is parsed, handed to
// the provider and forgotten.
type NewBankAccount struct {
	OwnerName    string
	OwnerAddress parties.Address
	IBAN         string
	BIC          string // optional
}

// AddBankAccount registers a bank account of the calling buyer at the provider and keeps its
// provider id, country, last 4 characters, masked IBAN and fingerprint — never the IBAN. The
// buyer's first active account becomes its default.
//
// Errors: *validation.Error on "iban" (with the reason: format, country, length, checksum, or
// refused by the provider) or "bic"; ErrBankAccountExists when one of the buyer's active accounts
// has this IBAN (a deleted account's IBAN may be added again); ErrNotFound for an unknown buyer;
// psp.ErrUnavailable, in which case nothing is stored.
func (s *Service) AddBankAccount(ctx context.Context, who auth.Principal, in NewBankAccount) (BankAccount, error) {
	var col validation.Collector
	iban, err := ParseIBAN(in.IBAN)
	if err != nil {
		col.Add("iban", ibanCode(err), strings.TrimPrefix(err.Error(), "iban: "))
	}
	bic := NormalizeBIC(in.BIC)
	if bic != "" && !ValidBIC(bic) {
		col.Add("bic", "bic", "must be a BIC: 4 letters or digits, a 2-letter country, 2 letters or digits, and optionally 3 more (8 or 11 characters)")
	}
	if err := col.Err(); err != nil {
		return BankAccount{}, err
	}
	buyer, err := s.buyerOf(ctx, who, "")
	if err != nil {
		return BankAccount{}, err
	}
	if s.provider == nil {
		return BankAccount{}, errNoProvider
	}
	fingerprint := iban.Fingerprint(s.cfg.FingerprintKey)
	uses, active, err := s.store.FingerprintUses(ctx, buyer.ID, fingerprint)
	if err != nil {
		return BankAccount{}, err
	}
	if active {
		return BankAccount{}, ErrBankAccountExists // before the provider keeps a second copy
	}
	payer, err := s.payers.Ensure(ctx, buyer.ID)
	if err != nil {
		return BankAccount{}, err
	}
	now := s.clock.Now()
	if _, err := s.store.EnsureProfile(ctx, buyer.ID, s.cfg.Ceiling.Initial, now); err != nil {
		return BankAccount{}, err
	}
	// The key is the same for every retry of this addition (same buyer, IBAN and number of
	// earlier accounts with it), so a retry after a timeout finds the account the provider made;
	// re-adding a deleted IBAN makes a new one.
	registered, err := s.provider.CreateBankAccount(ctx, psp.BankAccountRequest{
		IdempotencyKey: fmt.Sprintf("ba-%s-%s-%d", buyer.ID, fingerprint[:24], uses),
		UserID:         payer.UserID,
		OwnerName:      in.OwnerName,
		OwnerAddress: psp.Address{Line1: in.OwnerAddress.Line1, Line2: in.OwnerAddress.Line2, City: in.OwnerAddress.City,
			PostalCode: in.OwnerAddress.PostalCode, Country: in.OwnerAddress.Country},
		IBAN: iban.Reveal(),
		BIC:  bic,
		Tag:  buyer.ID,
	})
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) {
		return BankAccount{}, validation.Field("iban", "refused", "the payment provider refused this bank account")
	}
	if err != nil {
		return BankAccount{}, fmt.Errorf("register bank account of %s: %w", buyer.ID, err)
	}
	return s.store.AddBankAccount(ctx, BankAccount{
		ID: id.New(id.BankAccount), BuyerID: buyer.ID, ProviderID: registered.ID, OwnerName: in.OwnerName,
		Country: iban.Country(), Last4: iban.Last4(), MaskedIBAN: iban.Masked(), Fingerprint: fingerprint, BIC: bic,
		Active: true, CreatedAt: now, UpdatedAt: now,
	})
}

// ibanCode names why ParseIBAN refused an IBAN, as a field error code.
func ibanCode(err error) string {
	switch {
	case errors.Is(err, ErrIBANCountry):
		return "iban_country"
	case errors.Is(err, ErrIBANLength):
		return "iban_length"
	case errors.Is(err, ErrIBANChecksum):
		return "iban_checksum"
	default:
		return "iban_format"
	}
}

// BankAccount returns a bank account the caller may see (a buyer sees its own). Errors:
// ErrNotFound.
func (s *Service) BankAccount(ctx context.Context, who auth.Principal, id string) (BankAccount, error) {
	a, err := s.store.BankAccount(ctx, id)
	if err != nil {
		return BankAccount{}, err
	}
	if !sees(who, a.BuyerID) {
		return BankAccount{}, ErrNotFound
	}
	return a, nil
}

// BankAccounts lists bank accounts newest first, deleted ones included: a buyer's own; for an
// operator, those of buyerID, or every buyer's when buyerID is "".
func (s *Service) BankAccounts(ctx context.Context, who auth.Principal, buyerID string, p page.Request) (page.Page[BankAccount], error) {
	if who.Role == auth.RoleBuyer {
		buyerID = who.Org
	}
	return s.store.BankAccounts(ctx, buyerID, p)
}

// SetDefaultBankAccount makes one of the caller's active accounts its default (and no other),
// atomically. Errors: ErrNotFound, ErrInvalidTransition (a deleted account).
func (s *Service) SetDefaultBankAccount(ctx context.Context, who auth.Principal, id string) (BankAccount, error) {
	if _, err := s.BankAccount(ctx, who, id); err != nil {
		return BankAccount{}, err
	}
	return s.store.SetDefaultBankAccount(ctx, id, s.clock.Now())
}

// DeleteBankAccount deletes one of the caller's bank accounts: its mandates are cancelled at the
// provider (signed ones; unsigned ones are only marked cancelled here, since the provider
// cannot cancel them), the account is deactivated at the provider, then marked inactive here
// with its mandates cancelled. When it was the default, the newest other active account becomes
// the default. Deleting a deleted account does nothing.
//
// Errors: ErrNotFound; psp.ErrUnavailable, in which case nothing changes here (provider
// cancellations already made stay made; a retry completes the deletion).
func (s *Service) DeleteBankAccount(ctx context.Context, who auth.Principal, id string) error {
	a, err := s.BankAccount(ctx, who, id)
	if err != nil || !a.Active {
		return err
	}
	if s.provider == nil {
		return errNoProvider
	}
	mandates, err := s.store.MandatesOfBankAccount(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, m := range mandates {
		if err := s.cancelAtProvider(ctx, m); err != nil {
			return err
		}
	}
	payer, err := s.payers.Ensure(ctx, a.BuyerID)
	if err != nil {
		return err
	}
	_, err = s.provider.DeactivateBankAccount(ctx, payer.UserID, a.ProviderID)
	if err != nil && !errors.Is(err, psp.ErrNotFound) {
		return fmt.Errorf("deactivate bank account %s: %w", a.ID, err)
	}
	return s.store.DeactivateBankAccount(ctx, a.ID, s.clock.Now())
}
