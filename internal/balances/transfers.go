package balances

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
)

// TransferStatus is where the provider transfer of an earning stands.
type TransferStatus string

// Transfer statuses.
const (
	TransferPending   TransferStatus = "pending" // recorded, not (known to be) made at the provider yet
	TransferSucceeded TransferStatus = "succeeded"
	TransferFailed    TransferStatus = "failed" // the provider refused it: operators must look
)

// Transfer moves a centre's earning at the provider, from the buyer's wallet to the centre's:
// Amount out of the buyer's wallet, Fees of it to the platform's fee wallet. It is recorded in
// the transaction that posts the earning, then made by the job queue (never inside a transaction)
// with its id as idempotency key, so that it is made exactly once however often it is retried.
type Transfer struct {
	ID                 string // tr_
	Kind               string // the earning's ledger kind: payment
	SourceID           string // the payment intent
	BuyerID            string
	CenterID           string
	Amount             int64
	Fees               int64
	Status             TransferStatus
	ProviderTransferID string
	ResultCode         string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// TransferFor is the transfer of a payment a centre earned from the buyer's funds.
func TransferFor(e Earning, at time.Time) Transfer {
	return Transfer{ID: id.New(id.Transfer), Kind: string(TypePayment), SourceID: e.IntentID, BuyerID: e.BuyerID,
		CenterID: e.CenterID, Amount: e.Amount, Fees: Fee(e.Amount, e.FeeRateBPS), Status: TransferPending,
		CreatedAt: at, UpdatedAt: at}
}

// GuaranteeTransferFor is the funding, at the provider, of a payment the platform's guarantee paid
// the centre (a failed SEPA debit): no buyer's wallet is debited; the platform wires the amount
// from its own bank, the fee part to its fee wallet and the rest to the centre's wallet.
func GuaranteeTransferFor(e Earning, at time.Time) Transfer {
	t := TransferFor(e, at)
	t.Kind, t.BuyerID = string(TypeSEPAGuarantee), ""
	return t
}

// GuaranteeFunder funds the centres' guaranteed earnings at the provider: money the platform
// brings from its bank (the sandbox credits it at once; a real provider needs the platform's
// bank wire, which vhupay does not make yet).
type GuaranteeFunder interface {
	FundGuarantee(ctx context.Context, req psp.GuaranteeFunding) (psp.Transfer, error)
}

// Payee is a centre at the provider: an owner user and its wallet.
type Payee struct {
	CenterID string
	UserID   string
	WalletID string
}

// ErrNoPayee is returned by TransferStore.Payee when the centre has none yet.
var ErrNoPayee = errors.New("no payee for this centre")

// TransferStore keeps payees and transfers.
type TransferStore interface {
	// Payee returns the centre's payee or ErrNoPayee.
	Payee(ctx context.Context, centerID string) (Payee, error)
	// SavePayee stores p unless the centre has one; it returns the stored payee.
	SavePayee(ctx context.Context, p Payee) (Payee, error)
	// PendingTransfers lists up to limit pending transfers, oldest first.
	PendingTransfers(ctx context.Context, limit int) ([]Transfer, error)
	// FinishTransfer records the provider's answer of a pending transfer (conditional: pending);
	// it reports whether it did.
	FinishTransfer(ctx context.Context, t Transfer) (bool, error)
}

// MoneyMover is what the transfers need of the provider.
type MoneyMover interface {
	CreateOwner(ctx context.Context, req psp.OwnerRequest) (psp.Owner, error)
	CreateWallet(ctx context.Context, req psp.WalletRequest) (psp.Wallet, error)
	CreateTransfer(ctx context.Context, req psp.TransferRequest) (psp.Transfer, error)
}

// Payers gives the buyers' identities at the provider.
type Payers interface {
	Ensure(ctx context.Context, buyerID string) (payers.Payer, error)
}

// Transfers makes the recorded transfers at the provider and creates the centres' payees.
type Transfers struct {
	store    TransferStore
	centers  Centers
	payers   Payers
	provider MoneyMover
	clock    clock.Clock
	log      *slog.Logger
}

// NewTransfers returns the transfers' worker. provider may be nil (no money moves).
func NewTransfers(store TransferStore, centers Centers, p Payers, provider MoneyMover, c clock.Clock, log *slog.Logger) *Transfers {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transfers{store: store, centers: centers, payers: p, provider: provider, clock: c, log: log}
}

// EnsurePayee returns the centre's payee, creating its owner user and wallet at the provider when
// missing (idempotency keys derived from the centre id, so concurrent callers create one).
// Errors: parties.ErrNotFound, psp.ErrRepresentativeRequired, psp.ErrUnavailable,
// *psp.RejectedError.
func (s *Transfers) EnsurePayee(ctx context.Context, centerID string) (Payee, error) {
	p, err := s.store.Payee(ctx, centerID)
	if err == nil || !errors.Is(err, ErrNoPayee) {
		return p, err
	}
	c, err := s.centers.Center(ctx, centerID)
	if err != nil {
		return Payee{}, err
	}
	o, err := s.provider.CreateOwner(ctx, psp.OwnerRequest{IdempotencyKey: "payee-user-" + c.ID, Name: c.Name,
		Kind: psp.CompanyBusiness, CompanyNumber: c.SIRET, Email: c.Email,
		Address: psp.Address{Line1: c.Address.Line1, Line2: c.Address.Line2, City: c.Address.City,
			PostalCode: c.Address.PostalCode, Country: c.Address.Country},
		Representative: representative(c.LegalRepresentative), TermsAccepted: true, Tag: c.ID})
	if err != nil {
		return Payee{}, fmt.Errorf("create provider owner for %s: %w", c.ID, err)
	}
	w, err := s.provider.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "payee-wallet-" + c.ID, OwnerID: o.ID,
		Description: "vhupay centre " + c.ID, Tag: c.ID})
	if err != nil {
		return Payee{}, fmt.Errorf("create provider wallet for %s: %w", c.ID, err)
	}
	return s.store.SavePayee(ctx, Payee{CenterID: c.ID, UserID: o.ID, WalletID: w.ID})
}

func representative(r *parties.Representative) psp.Representative {
	if r == nil {
		return psp.Representative{}
	}
	return psp.Representative{FirstName: r.FirstName, LastName: r.LastName, Birthday: r.Birthday,
		Nationality: r.Nationality, CountryOfResidence: r.CountryOfResidence, Email: r.Email}
}

// transferBatch bounds one round.
const transferBatch = 100

// Run makes the pending transfers at the provider, oldest first, and records each answer; it
// returns how many it finished. A provider that does not answer stops the round (the next round
// retries with the same idempotency keys); a transfer the provider refuses is recorded failed and
// logged for operators. Several processes may run it at once: the provider makes each transfer
// once, and the answer is recorded once.
func (s *Transfers) Run(ctx context.Context) (int, error) {
	if s.provider == nil {
		return 0, nil
	}
	pending, err := s.store.PendingTransfers(ctx, transferBatch)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, t := range pending {
		ok, err := s.make(ctx, t)
		switch {
		case errors.Is(err, psp.ErrUnavailable) || ctx.Err() != nil:
			return done, fmt.Errorf("transfer %s of %s %s: %w", t.ID, t.Kind, t.SourceID, err)
		case err != nil:
			// This transfer cannot be made yet (the centre's payee needs its legal representative,
			// say): it waits, and the others go on.
			s.log.WarnContext(ctx, "a centre's transfer waits", slog.String("transfer_id", t.ID),
				slog.String("center_id", t.CenterID), slog.String("err", err.Error()))
		case ok:
			done++
		}
	}
	return done, nil
}

func (s *Transfers) make(ctx context.Context, t Transfer) (bool, error) {
	if t.BuyerID == "" {
		return s.fund(ctx, t)
	}
	payer, err := s.payers.Ensure(ctx, t.BuyerID)
	if err != nil {
		return false, err
	}
	payee, err := s.EnsurePayee(ctx, t.CenterID)
	if err != nil {
		return false, err
	}
	got, err := s.provider.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: t.ID, AuthorID: payer.UserID,
		DebitedWalletID: payer.WalletID, CreditedWalletID: payee.WalletID, CreditedUserID: payee.UserID,
		Amount: t.Amount, Fees: t.Fees, Tag: t.SourceID})
	return s.finish(ctx, t, got, err)
}

// errNoFunder: the provider cannot be funded by vhupay (the guarantee's transfer waits).
var errNoFunder = errors.New("the provider offers no funding of the guarantee: the platform must wire it")

// fund makes a guaranteed earning's funding (GuaranteeTransferFor).
func (s *Transfers) fund(ctx context.Context, t Transfer) (bool, error) {
	funder, ok := s.provider.(GuaranteeFunder)
	if !ok {
		return false, errNoFunder
	}
	payee, err := s.EnsurePayee(ctx, t.CenterID)
	if err != nil {
		return false, err
	}
	got, err := funder.FundGuarantee(ctx, psp.GuaranteeFunding{IdempotencyKey: t.ID, CreditedWalletID: payee.WalletID,
		CreditedUserID: payee.UserID, Amount: t.Amount, Fees: t.Fees, Tag: t.SourceID})
	return s.finish(ctx, t, got, err)
}

func (s *Transfers) finish(ctx context.Context, t Transfer, got psp.Transfer, err error) (bool, error) {
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected):
		t.Status, t.ResultCode = TransferFailed, rejected.Code
	case err != nil:
		return false, err
	case got.Status == psp.TransferSucceeded:
		t.Status, t.ProviderTransferID, t.ResultCode = TransferSucceeded, got.ID, got.ResultCode
	case got.Status == psp.TransferFailed:
		t.Status, t.ProviderTransferID, t.ResultCode = TransferFailed, got.ID, got.ResultCode
	default:
		return false, nil // created, waiting at the provider: the next round reads it again
	}
	if t.Status == TransferFailed {
		s.log.ErrorContext(ctx, "the provider refused a centre's transfer", slog.String("transfer_id", t.ID),
			slog.String("source_id", t.SourceID), slog.String("center_id", t.CenterID), slog.String("result_code", t.ResultCode))
	}
	t.UpdatedAt = s.clock.Now()
	return s.store.FinishTransfer(ctx, t)
}
