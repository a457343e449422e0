package sepa

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/validation"
)

// MaxMandateReturnURL bounds a mandate's return URL: vhupay appends "mandate_id=<id>" (48
// characters at most) and providers limit the whole (MangoPay: 220 characters).
const MaxMandateReturnURL = 170

// statusOf maps a provider mandate status to the contract's.
func statusOf(st psp.MandateStatus) MandateStatus {
	switch st {
	case psp.MandateSubmitted:
		return MandateSubmitted
	case psp.MandateActive:
		return MandateActive
	case psp.MandateFailed:
		return MandateFailed
	case psp.MandateExpired:
		return MandateExpired
	case psp.MandateCancelled:
		return MandateCancelled
	default:
		return MandatePendingSignature
	}
}

// CreateMandate starts a mandate on one of the caller's active bank accounts: the provider makes
// it and gives the signature page (SignatureURL), where the buyer's browser goes; the provider
// then sends the browser to returnURL with "mandate_id=<id>" added to its query. returnURL must
// already be a valid return URL (the edge checks it like a payment's).
//
// Errors: *validation.Error on "return_url" (too long, or refused by the provider); ErrNotFound;
// ErrInvalidTransition (a deleted account); psp.ErrUnavailable, in which case nothing is stored.
func (s *Service) CreateMandate(ctx context.Context, who auth.Principal, bankAccountID, returnURL string) (Mandate, error) {
	if len(returnURL) > MaxMandateReturnURL {
		return Mandate{}, validation.Field("return_url", "max", fmt.Sprintf("must have at most %d characters", MaxMandateReturnURL))
	}
	a, err := s.BankAccount(ctx, who, bankAccountID)
	if err != nil {
		return Mandate{}, err
	}
	if !a.Active {
		return Mandate{}, fmt.Errorf("%w: the bank account is deleted", ErrInvalidTransition)
	}
	if s.provider == nil {
		return Mandate{}, errNoProvider
	}
	now := s.clock.Now()
	if _, err := s.store.EnsureProfile(ctx, a.BuyerID, s.cfg.Ceiling.Initial, now); err != nil {
		return Mandate{}, err
	}
	mandateID := id.New(id.Mandate)
	back, err := withQuery(returnURL, "mandate_id", mandateID)
	if err != nil {
		return Mandate{}, validation.Field("return_url", "url", "must be a URL")
	}
	pm, err := s.provider.CreateMandate(ctx, psp.MandateRequest{
		IdempotencyKey: "mdt-" + mandateID, BankAccountID: a.ProviderID, ReturnURL: back, Culture: "FR", Tag: mandateID,
	})
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) {
		if _, ok := rejected.Fields["ReturnURL"]; ok {
			return Mandate{}, validation.Field("return_url", "refused", "the payment provider refused this return URL")
		}
		return Mandate{}, fmt.Errorf("%w: the payment provider refused a mandate on this account", ErrInvalidTransition)
	}
	if err != nil {
		return Mandate{}, fmt.Errorf("create mandate on %s: %w", a.ID, err)
	}
	m := Mandate{
		ID: mandateID, BuyerID: a.BuyerID, BankAccountID: a.ID, ProviderID: pm.ID, Status: MandatePendingSignature,
		Reference: pm.BankReference, SignatureURL: pm.RedirectURL, ReturnURL: returnURL, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.AddMandate(ctx, m); err != nil {
		return Mandate{}, err
	}
	if statusOf(pm.Status) != MandatePendingSignature {
		return s.apply(ctx, m, pm)
	}
	return m, nil
}

// withQuery sets key=value in raw's query, keeping the rest of the URL as written.
func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Mandate returns a mandate the caller may see (a buyer sees its own). A mandate waiting for its
// signature is first refreshed from the provider; when the provider does not answer, the stored
// state is returned. Errors: ErrNotFound.
func (s *Service) Mandate(ctx context.Context, who auth.Principal, id string) (Mandate, error) {
	m, err := s.store.Mandate(ctx, id)
	if err != nil {
		return Mandate{}, err
	}
	if !sees(who, m.BuyerID) {
		return Mandate{}, ErrNotFound
	}
	return s.refreshPending(ctx, m), nil
}

// Mandates lists mandates newest first: a buyer's own; for an operator, those of buyerID, or
// every buyer's when buyerID is "". Mandates waiting for their signature are refreshed first,
// as in Mandate.
func (s *Service) Mandates(ctx context.Context, who auth.Principal, buyerID string, p page.Request) (page.Page[Mandate], error) {
	if who.Role == auth.RoleBuyer {
		buyerID = who.Org
	}
	res, err := s.store.Mandates(ctx, buyerID, p)
	if err != nil {
		return res, err
	}
	for i, m := range res.Items {
		res.Items[i] = s.refreshPending(ctx, m)
	}
	return res, nil
}

// refreshPending re-reads a mandate waiting for its signature from the provider and applies its
// state; on failure it logs and returns m as stored.
func (s *Service) refreshPending(ctx context.Context, m Mandate) Mandate {
	if m.Status != MandatePendingSignature || s.provider == nil {
		return m
	}
	fresh, err := s.refresh(ctx, m)
	if err != nil {
		s.log.WarnContext(ctx, "mandate not refreshed from the provider", slog.String("mandate_id", m.ID), slog.String("err", err.Error()))
		return m
	}
	return fresh
}

// refresh re-reads m from the provider and applies its state.
func (s *Service) refresh(ctx context.Context, m Mandate) (Mandate, error) {
	pm, err := s.provider.GetMandate(ctx, m.ProviderID)
	if err != nil {
		return m, fmt.Errorf("read mandate %s: %w", m.ID, err)
	}
	return s.apply(ctx, m, pm)
}

// ApplyMandate re-reads the mandate with this provider id from the provider and applies its
// state here, for a provider notification (MANDATE_* events). It is idempotent and safe to run
// concurrently: each change is a conditional update from the state it was decided on, and a
// final state never changes. When the buyer's first mandate becomes signed (submitted or active)
// and the buyer has no score younger than 31 days, a score check runs after the change is stored
// (its failure is logged, not returned).
//
// Errors: ErrNotFound (no mandate of vhupay has this provider id: the notification is not ours),
// psp.ErrUnavailable (retry later).
func (s *Service) ApplyMandate(ctx context.Context, providerMandateID string) error {
	m, err := s.store.MandateByProviderID(ctx, providerMandateID)
	if err != nil {
		return err
	}
	if s.provider == nil {
		return errNoProvider
	}
	_, err = s.refresh(ctx, m)
	return err
}

// apply moves m to the provider's state pm when that is a forward move. A mandate cancelled here
// that the provider shows as signed (the buyer signed after cancelling, or after its account was
// deleted) is cancelled at the provider too.
func (s *Service) apply(ctx context.Context, m Mandate, pm psp.Mandate) (Mandate, error) {
	to := statusOf(pm.Status)
	for range 3 {
		if m.Status == MandateCancelled && to.Usable() {
			if _, err := s.provider.CancelMandate(ctx, pm.ID); err != nil {
				return m, fmt.Errorf("cancel mandate %s signed after its cancellation: %w", m.ID, err)
			}
			return m, nil
		}
		if !m.Status.canBecome(to) {
			return m, nil
		}
		updated, applied, firstSigned, err := s.store.ChangeMandate(ctx, MandateChange{
			MandateID: m.ID, From: []MandateStatus{m.Status}, To: to, Reference: pm.BankReference,
			Failure: string(pm.Failure), At: s.clock.Now(),
		})
		if err != nil {
			return m, err
		}
		m = updated
		if applied {
			if firstSigned {
				s.checkScoreAfterFirstSignature(ctx, m.BuyerID)
			}
			return m, nil
		}
		// Another request moved it first: decide again from what it stored.
	}
	return m, nil
}

// cancelAtProvider makes sure the provider will not debit on m: a signed mandate is cancelled
// there; an unsigned one is re-read first, since the buyer may have just signed it. A mandate the
// provider no longer knows, or that it already ended, needs nothing.
func (s *Service) cancelAtProvider(ctx context.Context, m Mandate) error {
	if m.Status.Final() {
		return nil
	}
	if m.Status == MandatePendingSignature {
		pm, err := s.provider.GetMandate(ctx, m.ProviderID)
		if errors.Is(err, psp.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read mandate %s: %w", m.ID, err)
		}
		if !statusOf(pm.Status).Usable() {
			return nil
		}
	}
	_, err := s.provider.CancelMandate(ctx, m.ProviderID)
	var rejected *psp.RejectedError
	switch {
	case err == nil, errors.Is(err, psp.ErrNotFound):
		return nil
	case errors.As(err, &rejected):
		// Refused: it may have ended already (failed, expired, cancelled by the bank).
		pm, rerr := s.provider.GetMandate(ctx, m.ProviderID)
		if rerr == nil && !statusOf(pm.Status).Usable() {
			return nil
		}
	}
	return fmt.Errorf("cancel mandate %s: %w", m.ID, err)
}

// CancelMandate cancels one of the caller's mandates (an operator may cancel any): a signed one
// at the provider first. Cancelling a cancelled mandate returns it unchanged.
//
// Errors: ErrNotFound; ErrInvalidTransition (a mandate that failed or expired); psp.ErrUnavailable.
func (s *Service) CancelMandate(ctx context.Context, who auth.Principal, id string) (Mandate, error) {
	m, err := s.store.Mandate(ctx, id)
	if err != nil {
		return Mandate{}, err
	}
	if !sees(who, m.BuyerID) {
		return Mandate{}, ErrNotFound
	}
	if m.Status == MandateCancelled {
		return m, nil
	}
	if m.Status.Final() {
		return Mandate{}, fmt.Errorf("%w: the mandate is %s", ErrInvalidTransition, m.Status)
	}
	if s.provider == nil {
		return Mandate{}, errNoProvider
	}
	if err := s.cancelAtProvider(ctx, m); err != nil {
		return Mandate{}, err
	}
	updated, applied, _, err := s.store.ChangeMandate(ctx, MandateChange{
		MandateID: m.ID, From: []MandateStatus{MandatePendingSignature, MandateSubmitted, MandateActive},
		To: MandateCancelled, Failure: string(psp.FailureMandateCancelled), At: s.clock.Now(),
	})
	if err != nil {
		return Mandate{}, err
	}
	if !applied && updated.Status != MandateCancelled {
		return Mandate{}, fmt.Errorf("%w: the mandate is %s", ErrInvalidTransition, updated.Status)
	}
	return updated, nil
}
