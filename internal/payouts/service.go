package payouts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// Tx is the unit of work of payouts.
type Tx interface {
	txn.Tx
	// CenterAvailable locks the centre's balance until the unit ends (so that concurrent payouts
	// of one centre are taken one after the other) and returns its available balance.
	CenterAvailable(ctx context.Context, centerID string) (int64, error)
	// ActivePayoutAccount returns the centre's active payout account or ErrNoPayoutAccount.
	ActivePayoutAccount(ctx context.Context, centerID string) (Account, error)
	// InsertPayout inserts p; it reports false, inserting nothing, when p is an automatic payout
	// of a run that paid the centre already.
	InsertPayout(ctx context.Context, p Payout) (bool, error)
	// LockPayout reads a payout and locks it until the unit ends. Errors: ErrNotFound.
	LockPayout(ctx context.Context, id string) (Payout, error)
	// UpdatePayout writes p's status, failure code, provider id, arrival date and updated_at when
	// the stored payout is in status from (conditional); it reports whether it did.
	UpdatePayout(ctx context.Context, p Payout, from Status) (bool, error)
	// AddPayoutAccount makes a the centre's one active payout account (the previous one becomes
	// inactive) and sets the centre's payouts_enabled; it returns the previous account, if any.
	AddPayoutAccount(ctx context.Context, a Account, payoutsEnabled bool) (previous *Account, err error)
}

// Store keeps payouts and payout accounts.
type Store interface {
	txn.Runner[Tx]
	// Payout returns one or ErrNotFound.
	Payout(ctx context.Context, id string) (Payout, error)
	// Payouts lists payouts newest first.
	Payouts(ctx context.Context, f Filter, p page.Request) (page.Page[Payout], error)
	// PayoutAccount returns one or ErrNotFound.
	PayoutAccount(ctx context.Context, id string) (Account, error)
	// PayoutAccounts lists a centre's payout accounts ("" every centre's), newest first.
	PayoutAccounts(ctx context.Context, centerID string, p page.Request) (page.Page[Account], error)
	// PayoutAccountUses counts the centre's payout accounts (active or not) with this fingerprint
	// and reports whether the active one has it.
	PayoutAccountUses(ctx context.Context, centerID, fingerprint string) (uses int, active bool, err error)
	// PendingPayouts lists up to limit pending payouts, oldest first.
	PendingPayouts(ctx context.Context, limit int) ([]Payout, error)
	// SetPayoutsEnabled sets payouts_enabled of the centre whose provider owner user is userID
	// (none: nothing).
	SetPayoutsEnabled(ctx context.Context, userID string, enabled bool) error
	// PayoutCandidates lists the centres with an active payout account and payouts enabled whose
	// available balance is at least minimum.
	PayoutCandidates(ctx context.Context, minimum int64) ([]string, error)
	// ClaimRun records the weekly run of slot unless it is recorded; it reports whether the run is
	// to be made (new, or left running by a process that stopped).
	ClaimRun(ctx context.Context, slot string, at time.Time) (bool, error)
	// FinishRun marks a run finished with the number of payouts it made.
	FinishRun(ctx context.Context, slot string, payouts int, at time.Time) error
}

// Centers reads centres.
type Centers interface {
	Center(ctx context.Context, id string) (parties.Center, error)
}

// Payees gives the centres' owner users and wallets at the provider (balances.Transfers).
type Payees interface {
	EnsurePayee(ctx context.Context, centerID string) (balances.Payee, error)
}

// Provider is what payouts need of the payment provider.
type Provider interface {
	GetOwner(ctx context.Context, userID string) (psp.Owner, error)
	CreatePayoutAccount(ctx context.Context, req psp.PayoutAccountRequest) (psp.PayoutAccount, error)
	GetPayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error)
	DeactivatePayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error)
	CreatePayout(ctx context.Context, req psp.PayoutRequest) (psp.Payout, error)
	GetPayout(ctx context.Context, payoutID string) (psp.Payout, error)
}

// Config configures the Service.
type Config struct {
	Store    Store
	Centers  Centers
	Payees   Payees
	Provider Provider // nil: no payout leaves (they stay pending)
	Clock    clock.Clock
	Log      *slog.Logger
	// FingerprintKey keys the IBAN fingerprints (a secret).
	FingerprintKey []byte
	// Minimum is the smallest available balance an automatic payout pays (cents; default 1000).
	Minimum int64
}

// Service manages payout accounts and payouts.
type Service struct {
	cfg Config
	log *slog.Logger
}

// DefaultMinimum is VHUPAY_PAYOUT_MINIMUM's default: 10.00 EUR.
const DefaultMinimum = 1000

// NewService returns a Service.
func NewService(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Minimum <= 0 {
		cfg.Minimum = DefaultMinimum
	}
	return &Service{cfg: cfg, log: cfg.Log}
}

// NewAccount is the input of AddAccount; IBAN is parsed, handed to the provider and forgotten.
type NewAccount struct {
	OwnerName    string
	OwnerAddress parties.Address
	IBAN         string
	BIC          string
}

// AddAccount registers the calling centre's payout account at the provider and makes it the
// centre's one active account (the previous one becomes inactive, here and at the provider).
// The centre's payouts_enabled follows the provider's answer (the sandbox enables payouts with
// the account). Errors: *validation.Error ("iban", "bic"), ErrAccountExists, ErrNotFound (the
// caller is not a centre), psp.ErrUnavailable, psp.ErrRepresentativeRequired.
func (s *Service) AddAccount(ctx context.Context, who auth.Principal, in NewAccount) (Account, error) {
	if who.Role != auth.RoleCenter || who.Org == "" {
		return Account{}, ErrNotFound
	}
	var col validation.Collector
	iban, err := sepa.ParseIBAN(in.IBAN)
	if err != nil {
		col.Add("iban", ibanCode(err), strings.TrimPrefix(err.Error(), "iban: "))
	}
	bic := sepa.NormalizeBIC(in.BIC)
	if bic != "" && !sepa.ValidBIC(bic) {
		col.Add("bic", "bic", "must be a BIC: 4 letters or digits, a 2-letter country, 2 letters or digits, and optionally 3 more (8 or 11 characters)")
	}
	if err := col.Err(); err != nil {
		return Account{}, err
	}
	if s.cfg.Provider == nil {
		return Account{}, fmt.Errorf("add payout account: no payment provider: %w", psp.ErrUnavailable)
	}
	centerID := who.Org
	fingerprint := iban.Fingerprint(s.cfg.FingerprintKey)
	uses, active, err := s.cfg.Store.PayoutAccountUses(ctx, centerID, fingerprint)
	if err != nil {
		return Account{}, err
	}
	if active {
		return Account{}, ErrAccountExists
	}
	payee, err := s.cfg.Payees.EnsurePayee(ctx, centerID)
	if err != nil {
		return Account{}, err
	}
	registered, err := s.cfg.Provider.CreatePayoutAccount(ctx, psp.PayoutAccountRequest{
		IdempotencyKey: fmt.Sprintf("pa-%s-%s-%d", centerID, fingerprint[:24], uses),
		UserID:         payee.UserID, OwnerName: in.OwnerName,
		OwnerAddress: psp.Address{Line1: in.OwnerAddress.Line1, Line2: in.OwnerAddress.Line2, City: in.OwnerAddress.City,
			PostalCode: in.OwnerAddress.PostalCode, Country: in.OwnerAddress.Country},
		IBAN: iban.Reveal(), BIC: bic, Tag: centerID,
	})
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) {
		return Account{}, validation.Field("iban", "refused", "the payment provider refused this bank account")
	}
	if err != nil {
		return Account{}, fmt.Errorf("register payout account of %s: %w", centerID, err)
	}
	if registered.Status == psp.PayoutAccountPending {
		// The provider answers a repeated key with its first answer: read the account's state now
		// (confirmed since, or still waiting).
		current, err := s.cfg.Provider.GetPayoutAccount(ctx, payee.UserID, registered.ID)
		if err != nil {
			return Account{}, fmt.Errorf("read payout account of %s: %w", centerID, err)
		}
		registered.Status = current.Status
		if current.PendingAction != nil {
			registered.PendingAction = current.PendingAction
		}
	}
	switch {
	case registered.Status == psp.PayoutAccountPending && registered.PendingAction != nil:
		// MangoPay: the centre's representative must confirm the recipient on the provider's
		// page. Asked again with the same key once confirmed, the provider answers it active.
		return Account{}, &psp.PendingActionError{Action: *registered.PendingAction}
	case registered.Status == psp.PayoutAccountInactive:
		return Account{}, validation.Field("iban", "refused", "the payment provider refused this bank account")
	}
	owner, err := s.cfg.Provider.GetOwner(ctx, payee.UserID)
	if err != nil {
		return Account{}, fmt.Errorf("read owner of %s: %w", centerID, err)
	}
	now := s.cfg.Clock.Now()
	a := Account{ID: id.New(id.BankAccount), CenterID: centerID, ProviderID: registered.ID, OwnerName: in.OwnerName,
		Country: iban.Country(), Last4: iban.Last4(), MaskedIBAN: iban.Masked(), Fingerprint: fingerprint, BIC: bic,
		Active: true, CreatedAt: now, UpdatedAt: now}
	var previous *Account
	err = s.cfg.Store.InTx(ctx, func(tx Tx) error {
		var err error
		previous, err = tx.AddPayoutAccount(ctx, a, owner.PayoutsEnabled)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	if previous != nil && previous.ProviderID != "" {
		// Outside the unit of work; a failure leaves the old account registered but unused.
		if _, err := s.cfg.Provider.DeactivatePayoutAccount(ctx, payee.UserID, previous.ProviderID); err != nil {
			s.log.WarnContext(ctx, "previous payout account not deactivated at the provider",
				slog.String("bank_account_id", previous.ID), slog.String("err", err.Error()))
		}
	}
	return a, nil
}

func ibanCode(err error) string {
	switch {
	case errors.Is(err, sepa.ErrIBANCountry):
		return "iban_country"
	case errors.Is(err, sepa.ErrIBANLength):
		return "iban_length"
	case errors.Is(err, sepa.ErrIBANChecksum):
		return "iban_checksum"
	default:
		return "iban_format"
	}
}

// ApplyOwner applies a provider owner's current state (a notification: KYB validated, category
// changed): the centre it belongs to gets its payouts_enabled. An owner vhupay does not know is
// not an error.
func (s *Service) ApplyOwner(ctx context.Context, userID string) error {
	if s.cfg.Provider == nil {
		return nil
	}
	owner, err := s.cfg.Provider.GetOwner(ctx, userID)
	if errors.Is(err, psp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.cfg.Store.SetPayoutsEnabled(ctx, userID, owner.PayoutsEnabled)
}

// Account returns a payout account the caller may see (a centre its own, admin and service any).
// Errors: ErrNotFound.
func (s *Service) Account(ctx context.Context, who auth.Principal, id string) (Account, error) {
	a, err := s.cfg.Store.PayoutAccount(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if !sees(who, a.CenterID) {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// Accounts lists payout accounts newest first: a centre's own; for admin and service those of
// centerID, or every centre's.
func (s *Service) Accounts(ctx context.Context, who auth.Principal, centerID string, p page.Request) (page.Page[Account], error) {
	if who.Role == auth.RoleCenter {
		centerID = who.Org
	}
	return s.cfg.Store.PayoutAccounts(ctx, centerID, p)
}

func sees(who auth.Principal, centerID string) bool {
	return who.Privileged() || (who.Role == auth.RoleCenter && who.Org != "" && who.Org == centerID)
}

// centerOf resolves the centre a caller pays out: a centre itself (centerID empty or itself),
// admin and service the one named. Errors: *validation.Error ("center_id"), ErrNotFound.
func (s *Service) centerOf(ctx context.Context, who auth.Principal, centerID string) (string, error) {
	switch {
	case who.Role == auth.RoleCenter && who.Org != "":
		if centerID != "" && centerID != who.Org {
			return "", ErrNotFound
		}
		return who.Org, nil
	case who.Privileged():
		if centerID == "" {
			return "", validation.Field("center_id", "required", "is required for admin and service")
		}
		if _, err := s.cfg.Centers.Center(ctx, centerID); errors.Is(err, parties.ErrNotFound) {
			return "", ErrNotFound
		} else if err != nil {
			return "", err
		}
		return centerID, nil
	}
	return "", ErrNotFound
}

// Create pays a centre out: amount (nil: all of its available balance) is recorded as a pending
// payout and debited from its balance in one unit of work, then asked of the provider. The
// provider's refusal fails the payout (the money is back); a provider that does not answer leaves
// it pending for the submit round. Audited as payout.create. Errors: *validation.Error ("amount",
// "center_id"), ErrNotFound, ErrInsufficientBalance, ErrNoPayoutAccount.
func (s *Service) Create(ctx context.Context, who auth.Principal, centerID string, amount *int64) (Payout, error) {
	if amount != nil && *amount <= 0 {
		return Payout{}, validation.Field("amount", "min", "must be a positive number of cents")
	}
	center, err := s.centerOf(ctx, who, centerID)
	if err != nil {
		return Payout{}, err
	}
	c, err := s.cfg.Centers.Center(ctx, center)
	if errors.Is(err, parties.ErrNotFound) {
		return Payout{}, ErrNotFound
	} else if err != nil {
		return Payout{}, err
	}
	p, _, err := s.record(ctx, center, c.PayoutsEnabled, amount, "", who.Actor())
	if err != nil {
		return Payout{}, err
	}
	if err := s.submit(ctx, p); err != nil {
		s.log.WarnContext(ctx, "payout recorded, not made at the provider yet", slog.String("payout_id", p.ID),
			slog.String("err", err.Error()))
	}
	return s.cfg.Store.Payout(ctx, p.ID)
}

// record writes a pending payout and its ledger transaction under the centre's balance lock.
// runSlot names an automatic payout's run; then a balance below the minimum is no payout
// (recorded false, no error), and so is a run that paid the centre already.
// enabled is the centre's payouts_enabled: a centre with a payout account that the provider has
// not verified yet (KYB) is refused before anything is recorded, as the provider would refuse the
// payout.
func (s *Service) record(ctx context.Context, centerID string, enabled bool, amount *int64, runSlot string, actor txn.Actor) (Payout, bool, error) {
	now := s.cfg.Clock.Now()
	var p Payout
	recorded := false
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		available, err := tx.CenterAvailable(ctx, centerID)
		if err != nil {
			return err
		}
		account, err := tx.ActivePayoutAccount(ctx, centerID)
		if err != nil {
			return err
		}
		if !enabled {
			return detail.Wrap(ErrNoPayoutAccount, "payouts are not enabled for this centre yet: the provider has not verified the company (KYB); its payout account receives payouts once it has (payouts_enabled on GET /v1/balance)")
		}
		want := available
		if amount != nil {
			want = *amount
		}
		if runSlot != "" && available < s.cfg.Minimum {
			return nil
		}
		if want <= 0 || want > available {
			return ErrInsufficientBalance
		}
		p = Payout{ID: id.New(id.Payout), CenterID: centerID, Amount: want, BankAccountID: account.ID, Status: StatusPending,
			Automatic: runSlot != "", RunSlot: runSlot, ArrivalDate: ArrivalDate(now), CreatedAt: now, UpdatedAt: now}
		ok, err := tx.InsertPayout(ctx, p)
		if err != nil || !ok {
			return err
		}
		if err := tx.Post(ctx, p.Posted()); err != nil {
			return err
		}
		recorded = true
		return tx.Audit(ctx, txn.AuditEntry{Action: "payout.create", Actor: actor, TargetID: p.ID, After: p, At: now})
	})
	return p, recorded, err
}

// ArrivalDate is when a payout made at t is expected in the bank: the next Paris day.
func ArrivalDate(t time.Time) string {
	return t.In(clock.Paris()).AddDate(0, 0, 1).Format(time.DateOnly)
}

// payoutReference is what the centre's bank statement shows (at most 12 characters).
const payoutReference = "VHUPAY"

// submit asks the provider for a recorded payout (its id is the idempotency key, so a resumed
// submission finds the payout made before) and applies the answer. Errors: psp.ErrUnavailable,
// storage errors; a refusal fails the payout (not an error).
func (s *Service) submit(ctx context.Context, p Payout) error {
	if s.cfg.Provider == nil {
		return fmt.Errorf("submit payout %s: no payment provider: %w", p.ID, psp.ErrUnavailable)
	}
	payee, err := s.cfg.Payees.EnsurePayee(ctx, p.CenterID)
	if err != nil {
		return err
	}
	account, err := s.cfg.Store.PayoutAccount(ctx, p.BankAccountID)
	if err != nil {
		return err
	}
	got, err := s.cfg.Provider.CreatePayout(ctx, psp.PayoutRequest{IdempotencyKey: p.ID, AuthorID: payee.UserID,
		DebitedWalletID: payee.WalletID, PayoutAccountID: account.ProviderID, Amount: p.Amount, Reference: payoutReference, Tag: p.ID})
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected):
		s.log.ErrorContext(ctx, "the provider refused a payout", slog.String("payout_id", p.ID), slog.String("code", rejected.Code))
		_, err = s.finish(ctx, p.ID, psp.Payout{Status: psp.PayoutFailed, Failure: psp.FailureProviderError})
		return err
	case err != nil:
		return err
	}
	_, err = s.finish(ctx, p.ID, got)
	return err
}

// finish applies the provider's payout to vhupay's: its id is kept; succeeded makes it paid,
// failed makes it failed with the money back, each with its event, in one unit of work. A payout
// already past that status is left as it is. It reports whether the status changed.
func (s *Service) finish(ctx context.Context, payoutID string, got psp.Payout) (bool, error) {
	changed := false
	err := s.cfg.Store.InTx(ctx, func(tx Tx) error {
		changed = false
		p, err := tx.LockPayout(ctx, payoutID)
		if err != nil {
			return err
		}
		if p.Status != StatusPending {
			return nil
		}
		from := p.Status
		now := s.cfg.Clock.Now()
		if got.ID != "" {
			p.ProviderPayoutID = got.ID
		}
		event := ""
		switch got.Status {
		case psp.PayoutSucceeded:
			if err := p.Move(StatusPaid, "", now); err != nil {
				return err
			}
			if !got.ExecutedAt.IsZero() {
				p.ArrivalDate = got.ExecutedAt.In(clock.Paris()).Format(time.DateOnly)
			}
			event = "payout.paid"
		case psp.PayoutFailed:
			failure := string(got.Failure)
			if failure == "" {
				failure = string(psp.FailureProviderError)
			}
			if err := p.Move(StatusFailed, failure, now); err != nil {
				return err
			}
			if err := tx.Post(ctx, p.Reversed(now)); err != nil {
				return err
			}
			event = "payout.failed"
		default:
			p.UpdatedAt = now
		}
		ok, err := tx.UpdatePayout(ctx, p, from)
		if err != nil {
			return err
		}
		if !ok { // changed meanwhile (the row is locked: not expected): nothing of this is written
			return ErrInvalidTransition
		}
		if event == "" {
			return nil
		}
		changed = true
		return tx.Emit(ctx, txn.Event{Type: event, CenterID: p.CenterID, Object: p, At: now})
	})
	return changed, err
}

// ApplyPayout applies a provider payout's current state (a notification): the payout it names
// (its Tag is vhupay's payout id) is made paid or failed. A payout vhupay does not know is not an
// error. Errors: psp.ErrUnavailable, storage errors.
func (s *Service) ApplyPayout(ctx context.Context, providerPayoutID string) error {
	if s.cfg.Provider == nil {
		return nil
	}
	got, err := s.cfg.Provider.GetPayout(ctx, providerPayoutID)
	if errors.Is(err, psp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !id.HasPrefix(got.Tag, id.Payout) {
		return nil
	}
	_, err = s.finish(ctx, got.Tag, got)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ApplyReturn applies a payout the bank sent back after it was paid (MangoPay: a refund of the
// payout): the payout becomes returned and the money is back in the centre's balance, with the
// event payout.returned. An unknown payout, or one not paid, is left as it is.
func (s *Service) ApplyReturn(ctx context.Context, providerPayoutID string, failure psp.FailureCode) error {
	if s.cfg.Provider == nil {
		return nil
	}
	got, err := s.cfg.Provider.GetPayout(ctx, providerPayoutID)
	if errors.Is(err, psp.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !id.HasPrefix(got.Tag, id.Payout) {
		return nil
	}
	if failure == "" {
		failure = psp.FailureAccountClosed
	}
	return s.cfg.Store.InTx(ctx, func(tx Tx) error {
		p, err := tx.LockPayout(ctx, got.Tag)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		from := p.Status
		now := s.cfg.Clock.Now()
		if p.Status == StatusPending { // the paid answer was missed: it was paid first
			if err := p.Move(StatusPaid, "", now); err != nil {
				return err
			}
		}
		if err := p.Move(StatusReturned, string(failure), now); err != nil {
			return nil // failed or returned already
		}
		if err := tx.Post(ctx, p.Reversed(now)); err != nil {
			return err
		}
		ok, err := tx.UpdatePayout(ctx, p, from)
		if err != nil {
			return err
		}
		if !ok { // changed meanwhile (the row is locked: not expected): nothing of this is written
			return ErrInvalidTransition
		}
		return tx.Emit(ctx, txn.Event{Type: "payout.returned", CenterID: p.CenterID, Object: p, At: now})
	})
}

// roundBatch bounds the pending payouts one round reads.
const roundBatch = 100

// Resume is the safety net of payouts, run every few seconds: each pending payout the provider
// has not answered yet is asked again with the same idempotency key (a crash between the record
// and the provider's call, or an outage), and each one the provider has is read again (a missed
// notification). It returns how many payouts it ended. A provider outage stops the round.
func (s *Service) Resume(ctx context.Context) (int, error) {
	if s.cfg.Provider == nil {
		return 0, nil
	}
	pending, err := s.cfg.Store.PendingPayouts(ctx, roundBatch)
	if err != nil {
		return 0, err
	}
	ended := 0
	for _, p := range pending {
		if p.ProviderPayoutID == "" {
			if err := s.submit(ctx, p); err != nil {
				if errors.Is(err, psp.ErrUnavailable) || ctx.Err() != nil {
					return ended, err
				}
				s.log.WarnContext(ctx, "a payout waits", slog.String("payout_id", p.ID), slog.String("err", err.Error()))
			}
			continue
		}
		got, err := s.cfg.Provider.GetPayout(ctx, p.ProviderPayoutID)
		if err != nil {
			if errors.Is(err, psp.ErrUnavailable) || ctx.Err() != nil {
				return ended, err
			}
			s.log.WarnContext(ctx, "a payout's state not read", slog.String("payout_id", p.ID), slog.String("err", err.Error()))
			continue
		}
		changed, err := s.finish(ctx, p.ID, got)
		if err != nil {
			return ended, err
		}
		if changed {
			ended++
		}
	}
	return ended, nil
}

// Payout returns a payout the caller may see. Errors: ErrNotFound.
func (s *Service) Payout(ctx context.Context, who auth.Principal, id string) (Payout, error) {
	p, err := s.cfg.Store.Payout(ctx, id)
	if err != nil {
		return Payout{}, err
	}
	if !sees(who, p.CenterID) {
		return Payout{}, ErrNotFound
	}
	return p, nil
}

// Payouts lists payouts newest first: a centre's own; admin and service every centre's, or
// those of f.CenterID. Errors: *validation.Error ("status").
func (s *Service) Payouts(ctx context.Context, who auth.Principal, f Filter, p page.Request) (page.Page[Payout], error) {
	switch f.Status {
	case "", StatusPending, StatusPaid, StatusFailed, StatusReturned:
	default:
		return page.Page[Payout]{}, validation.Field("status", "oneof", "must be one of pending, paid, failed, returned")
	}
	switch {
	case who.Role == auth.RoleCenter && who.Org != "":
		if f.CenterID != "" && f.CenterID != who.Org {
			return page.Page[Payout]{Items: []Payout{}}, nil
		}
		f.CenterID = who.Org
	case who.Privileged():
	default:
		return page.Page[Payout]{}, ErrNotFound
	}
	return s.cfg.Store.Payouts(ctx, f, p)
}
