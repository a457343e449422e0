package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"math/big"
	"strings"

	"github.com/vhupay/vhupay/internal/iban"
	"github.com/vhupay/vhupay/internal/psp"
)

// Test IBANs whose debits fail (SANDBOX.md); any other valid IBAN succeeds. An account of class
// account_closed also refuses payouts (the failing payout IBAN is one).
var ibanOutcomes = map[string]DebitOutcome{
	"FR9230006000011234567890289": DebitInsufficientFunds,
	"FR1130006000011234567890389": DebitAccountClosed,
	FailingPayoutIBAN:             DebitAccountClosed,
}

// debitOutcome is the outcome class of an account: its IBAN's, or insufficient funds for an owner
// whose name starts with "Penniless" (MangoPay's sandbox mock name).
func debitOutcome(compactIBAN, ownerName string) DebitOutcome {
	if o, ok := ibanOutcomes[compactIBAN]; ok {
		return o
	}
	if strings.HasPrefix(strings.TrimSpace(ownerName), "Penniless") {
		return DebitInsufficientFunds
	}
	return DebitSucceeds
}

// CreateBankAccount implements psp.BankAccounts. An unknown user is psp.ErrNotFound (MangoPay
// answers 404 on the user in the path). A missing owner name or address (line 1, city, country)
// or an IBAN that is not real (length, characters, mod 97) is a *psp.RejectedError whose Fields
// name "IBAN" without its value. Only the masked IBAN, its country and last 4 characters, and the
// account's debit outcome class are kept.
func (p *Provider) CreateBankAccount(ctx context.Context, req psp.BankAccountRequest) (psp.BankAccount, error) {
	iban := strings.ToUpper(strings.ReplaceAll(req.IBAN, " ", ""))
	id, _, err := p.create(ctx, "bankaccount", req.IdempotencyKey, func(tx Store, id string) error {
		if _, err := tx.User(ctx, req.UserID); err != nil {
			return err
		}
		fields := map[string]string{}
		if strings.TrimSpace(req.OwnerName) == "" || len(req.OwnerName) > 255 {
			fields["OwnerName"] = "The OwnerName field is required (at most 255 characters)."
		}
		a := req.OwnerAddress
		if a.Line1 == "" {
			fields["OwnerAddress.AddressLine1"] = "The AddressLine1 field is required."
		}
		if a.City == "" {
			fields["OwnerAddress.City"] = "The City field is required."
		}
		if len(a.Country) != 2 {
			fields["OwnerAddress.Country"] = "The Country field is invalid."
		}
		if !validIBAN(iban) {
			fields["IBAN"] = "The IBAN is not valid."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		return tx.CreateBankAccount(ctx, BankAccount{ID: id, UserID: req.UserID, OwnerName: req.OwnerName,
			MaskedIBAN: psp.MaskIBAN(iban), Country: iban[:2], Last4: iban[len(iban)-4:], BIC: req.BIC,
			Outcome: debitOutcome(iban, req.OwnerName), Active: true, Tag: req.Tag, CreatedAt: p.clock.Now()})
	})
	if err != nil {
		return psp.BankAccount{}, err
	}
	b, err := p.store.BankAccount(ctx, id)
	if err != nil {
		return psp.BankAccount{}, unavailable("read bank account", err)
	}
	return psp.BankAccount{ID: b.ID, UserID: b.UserID, Active: b.Active}, nil
}

// validIBAN checks an upper-case IBAN without spaces (shape and mod 97) with vhupay's one check.
func validIBAN(s string) bool { return iban.Valid(s) }

func isUpperAlpha(s string) bool {
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// DeactivateBankAccount implements psp.BankAccounts: an account of another user is
// psp.ErrNotFound; deactivating an inactive account succeeds. Its mandates are left as they are.
func (p *Provider) DeactivateBankAccount(ctx context.Context, userID, bankAccountID string) (psp.BankAccount, error) {
	b, err := p.store.BankAccount(ctx, bankAccountID)
	if err != nil {
		return psp.BankAccount{}, unavailable("read bank account", err)
	}
	if b.UserID != userID {
		return psp.BankAccount{}, psp.ErrNotFound
	}
	if err := p.store.DeactivateBankAccount(ctx, bankAccountID); err != nil {
		return psp.BankAccount{}, unavailable("deactivate bank account", err)
	}
	return psp.BankAccount{ID: b.ID, UserID: b.UserID, Active: false}, nil
}

var cultures = map[string]bool{"DE": true, "EN": true, "ES": true, "FR": true, "IT": true, "NL": true, "PL": true}

// CreateMandate implements psp.Mandates, as MangoPay's web mandate: an unknown or inactive bank
// account, a ReturnURL missing or over 220 characters or an unsupported Culture is a
// *psp.RejectedError. The mandate comes back created with RedirectURL, the signature page.
func (p *Provider) CreateMandate(ctx context.Context, req psp.MandateRequest) (psp.Mandate, error) {
	id, _, err := p.create(ctx, "mandate", req.IdempotencyKey, func(tx Store, id string) error {
		fields := map[string]string{}
		b, err := tx.BankAccount(ctx, req.BankAccountID)
		switch {
		case errors.Is(err, psp.ErrNotFound), err == nil && !b.Active:
			fields["BankAccountId"] = "The bank account does not exist or is not active."
		case err != nil:
			return err
		}
		if req.ReturnURL == "" || len(req.ReturnURL) > 220 {
			fields["ReturnURL"] = "The ReturnURL field is required (at most 220 characters)."
		}
		culture := strings.ToUpper(req.Culture)
		if culture == "" {
			culture = "FR"
		}
		if !cultures[culture] {
			fields["Culture"] = "The Culture field is invalid."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		now := p.clock.Now()
		return tx.CreateMandate(ctx, Mandate{ID: id, UserID: b.UserID, BankAccountID: b.ID, Status: psp.MandateCreated,
			ReturnURL: req.ReturnURL, Culture: culture, BankReference: bankReference(), Tag: req.Tag, CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return psp.Mandate{}, err
	}
	return p.GetMandate(ctx, id)
}

// bankReference makes a mandate reference (RUM): "SBX" and 20 random upper-case letters and digits.
func bankReference() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := []byte("SBX")
	for range 20 {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b = append(b, alphabet[n.Int64()])
	}
	return string(b)
}

// GetMandate implements psp.Mandates. A mandate left unsigned for an hour ends expired (MangoPay's
// FAILED 001807) when read.
func (p *Provider) GetMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	m, err := p.mandate(ctx, mandateID)
	if err != nil {
		return psp.Mandate{}, unavailable("read mandate", err)
	}
	return p.toMandate(m), nil
}

// mandate reads a mandate, first expiring it (and notifying) when it waited too long for its
// signature. It must not run inside a transaction.
func (p *Provider) mandate(ctx context.Context, id string) (Mandate, error) {
	s := p.store
	m, err := s.Mandate(ctx, id)
	if err != nil {
		return Mandate{}, err
	}
	now := p.clock.Now()
	if m.Status != psp.MandateCreated || now.Sub(m.CreatedAt) < mandateSignWindow {
		return m, nil
	}
	ok, err := s.MoveMandate(ctx, id, []psp.MandateStatus{psp.MandateCreated}, psp.MandateExpired, codeMandateNotConfirmed, "", now)
	if err != nil {
		return Mandate{}, err
	}
	if ok {
		p.emit(ctx, psp.Notification{Kind: psp.ResourceMandate, ResourceID: id, Event: eventMandateFailed})
	}
	return s.Mandate(ctx, id)
}

func (p *Provider) toMandate(m Mandate) psp.Mandate {
	out := psp.Mandate{ID: m.ID, UserID: m.UserID, BankAccountID: m.BankAccountID, Status: m.Status,
		RedirectURL: p.publicURL + mandatePath + m.ID, ReturnURL: m.ReturnURL, BankReference: m.BankReference,
		Scheme: m.Scheme, ResultCode: m.ResultCode}
	switch m.Status {
	case psp.MandateFailed, psp.MandateCancelled, psp.MandateExpired:
		// The same reading of MangoPay's FAILED result codes as the MangoPay client's.
		_, out.Failure = psp.MandateFailure(m.ResultCode)
	}
	return out
}

// CancelMandate implements psp.Mandates: a submitted or active mandate ends cancelled (MangoPay's
// FAILED 001806); a mandate in another state is a *psp.RejectedError. Direct debits still created
// on it fail when they settle (001833).
func (p *Provider) CancelMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	if _, err := p.mandate(ctx, mandateID); err != nil {
		return psp.Mandate{}, unavailable("read mandate", err)
	}
	ok, err := p.store.MoveMandate(ctx, mandateID, []psp.MandateStatus{psp.MandateSubmitted, psp.MandateActive},
		psp.MandateCancelled, codeMandateCancelled, "", p.clock.Now())
	if err != nil {
		return psp.Mandate{}, unavailable("cancel mandate", err)
	}
	if !ok {
		return psp.Mandate{}, paramError(map[string]string{"Status": "Only a SUBMITTED or ACTIVE mandate can be cancelled."})
	}
	p.emit(ctx, psp.Notification{Kind: psp.ResourceMandate, ResourceID: mandateID, Event: eventMandateFailed})
	return p.GetMandate(ctx, mandateID)
}

// SignMandate is the buyer signing on the signature page: a created mandate becomes submitted
// (scheme SEPA). ErrFinished when it is not waiting for a signature; psp.ErrNotFound.
func (p *Provider) SignMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	return p.answerMandate(ctx, mandateID, psp.MandateSubmitted, "", "SEPA", eventMandateSubmitted)
}

// RefuseMandate is the buyer refusing on the signature page: a created mandate ends failed
// (001804, mandate_cancelled). ErrFinished when it is not waiting for a signature; psp.ErrNotFound.
func (p *Provider) RefuseMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	return p.answerMandate(ctx, mandateID, psp.MandateFailed, codeMandateRefused, "", eventMandateFailed)
}

func (p *Provider) answerMandate(ctx context.Context, id string, to psp.MandateStatus, code, scheme, event string) (psp.Mandate, error) {
	if _, err := p.mandate(ctx, id); err != nil {
		return psp.Mandate{}, unavailable("read mandate", err)
	}
	ok, err := p.store.MoveMandate(ctx, id, []psp.MandateStatus{psp.MandateCreated}, to, code, scheme, p.clock.Now())
	if err != nil {
		return psp.Mandate{}, unavailable("answer mandate", err)
	}
	if !ok {
		return psp.Mandate{}, ErrFinished
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp mandate answered", slog.String("mandate_id", id), slog.String("status", string(to)))
	p.emit(ctx, psp.Notification{Kind: psp.ResourceMandate, ResourceID: id, Event: event})
	return p.GetMandate(ctx, id)
}
