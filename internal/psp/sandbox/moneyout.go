package sandbox

import (
	"context"
	"errors"

	"github.com/vhupay/vhupay/internal/psp"
)

// The sandbox's share of the money-out port (psp.MoneyOut): centres as owner users, transfers
// between wallets with the platform's fee, and wallet balances. The sandbox asks for no strong
// customer authentication: owners are active at once and their wallets are read without one.
var (
	_ psp.Owners    = (*Provider)(nil)
	_ psp.Transfers = (*Provider)(nil)
	_ psp.Wallets   = (*Provider)(nil)
)

// The platform's own user and fee wallet (created by the sandbox's migration).
const (
	PlatformUserID = "sbx_user_platform"
	FeesWalletID   = "sbx_wallet_fees"
)

// Transfer result codes (MangoPay's, reference §2).
const (
	codeNotWalletOwner      = "001002"
	codeInsufficientBalance = "001001"
	codeNothingCredited     = "001014"
	codeSameWallet          = "101108"
	codePayerToPayer        = "002701"
	codeOwnerToPayer        = "002702"
)

// Transfer notifications.
const (
	eventTransferSucceeded = "TRANSFER_NORMAL_SUCCEEDED"
	eventTransferFailed    = "TRANSFER_NORMAL_FAILED"
)

// CreateOwner implements psp.Owners: an owner user, active at once; payouts are enabled when its
// payout account is added. The sandbox never requires the legal representative.
func (p *Provider) CreateOwner(ctx context.Context, req psp.OwnerRequest) (psp.Owner, error) {
	id, err := p.createUser(ctx, req.IdempotencyKey, User{Name: req.Name, Email: req.Email,
		CompanyNumber: req.CompanyNumber, Kind: req.Kind, Tag: req.Tag, Category: psp.CategoryOwner})
	if err != nil {
		return psp.Owner{}, err
	}
	return p.GetOwner(ctx, id)
}

// GetOwner implements psp.Owners. A user that is not an owner is psp.ErrNotFound.
func (p *Provider) GetOwner(ctx context.Context, userID string) (psp.Owner, error) {
	u, err := p.store.User(ctx, userID)
	if err != nil {
		return psp.Owner{}, unavailable("read owner", err)
	}
	if u.Category != psp.CategoryOwner {
		return psp.Owner{}, psp.ErrNotFound
	}
	return psp.Owner{ID: u.ID, Status: psp.OwnerActive, PayoutsEnabled: u.PayoutsEnabled}, nil
}

// EnrolOwner implements psp.Owners: the sandbox has no strong customer authentication, so there
// is nothing to enrol in (a *psp.RejectedError for an owner, psp.ErrNotFound otherwise).
func (p *Provider) EnrolOwner(ctx context.Context, userID string) (psp.PendingAction, error) {
	if _, err := p.GetOwner(ctx, userID); err != nil {
		return psp.PendingAction{}, err
	}
	return psp.PendingAction{}, paramError(map[string]string{"UserId": "The sandbox needs no enrolment."})
}

// CreateTransfer implements psp.Transfers. Refusals are failed transfers with MangoPay's result
// codes: 001002 the author does not own the debited wallet, 101108 the same wallet, 002701 payer
// to payer, 002702 owner to payer, 001014 nothing credited (fees ≥ amount), 001001 insufficient
// balance. A transfer that goes through moves its money at once: Amount out of the debited
// wallet, Amount − Fees into the credited one and Fees into the platform's fee wallet.
func (p *Provider) CreateTransfer(ctx context.Context, req psp.TransferRequest) (psp.Transfer, error) {
	var status psp.TransferStatus
	id, created, err := p.create(ctx, "transfer", req.IdempotencyKey, func(tx Store, id string) error {
		debited, derr := tx.Wallet(ctx, req.DebitedWalletID)
		credited, cerr := tx.Wallet(ctx, req.CreditedWalletID)
		fields := map[string]string{}
		for field, err := range map[string]error{"DebitedWalletId": derr, "CreditedWalletId": cerr} {
			if errors.Is(err, psp.ErrNotFound) {
				fields[field] = "The wallet does not exist."
			} else if err != nil {
				return err
			}
		}
		if req.Amount <= 0 {
			fields["DebitedFunds"] = "The amount must be positive."
		}
		if req.Fees < 0 {
			fields["Fees"] = "The fees cannot be negative."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		if err := p.knownUser(ctx, tx, req.AuthorID, "AuthorId"); err != nil {
			return err
		}
		from, err := tx.User(ctx, debited.OwnerID)
		if err != nil {
			return err
		}
		to, err := tx.User(ctx, credited.OwnerID)
		if err != nil {
			return err
		}
		now := p.clock.Now()
		t := Transfer{ID: id, Status: psp.TransferFailed, AuthorID: req.AuthorID, DebitedWalletID: debited.ID,
			CreditedWalletID: credited.ID, Amount: req.Amount, Fees: req.Fees, Tag: req.Tag, CreatedAt: now}
		switch {
		case from.ID != req.AuthorID:
			t.ResultCode, t.ResultMessage = codeNotWalletOwner, "Author is not the wallet owner"
		case debited.ID == credited.ID:
			t.ResultCode, t.ResultMessage = codeSameWallet, "Transaction refused: the Debited Wallet and the Credited Wallet must be different"
		case from.Category == psp.CategoryPayer && to.Category == psp.CategoryPayer:
			t.ResultCode, t.ResultMessage = codePayerToPayer, "Users with category PAYER cannot make transfers to other users with category PAYER."
		case from.Category == psp.CategoryOwner && to.Category == psp.CategoryPayer:
			t.ResultCode, t.ResultMessage = codeOwnerToPayer, "Users with category PAYER cannot receive transfers from users with category OWNER."
		case req.Amount <= req.Fees:
			t.ResultCode, t.ResultMessage = codeNothingCredited, "CreditedFunds must be more than 0 (DebitedFunds can not equal Fees)"
		default:
			ok, err := tx.DebitWallet(ctx, debited.ID, req.Amount)
			if err != nil {
				return err
			}
			if !ok {
				t.ResultCode, t.ResultMessage = codeInsufficientBalance, "Unsufficient wallet balance"
				break
			}
			if err := tx.CreditWallet(ctx, credited.ID, req.Amount-req.Fees); err != nil {
				return err
			}
			if req.Fees > 0 {
				if err := tx.CreditWallet(ctx, FeesWalletID, req.Fees); err != nil {
					return err
				}
			}
			t.Status, t.ResultCode, t.ResultMessage, t.ExecutedAt = psp.TransferSucceeded, codeSuccess, "Success", now
		}
		status = t.Status
		return tx.CreateTransfer(ctx, t)
	})
	if err != nil {
		return psp.Transfer{}, err
	}
	if created {
		event := eventTransferSucceeded
		if status == psp.TransferFailed {
			event = eventTransferFailed
		}
		p.emit(ctx, psp.Notification{Kind: psp.ResourceTransfer, ResourceID: id, Event: event})
	}
	return p.GetTransfer(ctx, id)
}

// GetTransfer implements psp.Transfers.
func (p *Provider) GetTransfer(ctx context.Context, transferID string) (psp.Transfer, error) {
	t, err := p.store.Transfer(ctx, transferID)
	if err != nil {
		return psp.Transfer{}, unavailable("read transfer", err)
	}
	out := psp.Transfer{ID: t.ID, Status: t.Status, AuthorID: t.AuthorID, DebitedWalletID: t.DebitedWalletID,
		CreditedWalletID: t.CreditedWalletID, Amount: t.Amount, Fees: t.Fees, ResultCode: t.ResultCode,
		ExecutedAt: t.ExecutedAt, Tag: t.Tag}
	if t.Status == psp.TransferFailed {
		out.Failure = psp.FailureProviderError // as the MangoPay client: a refused transfer is vhupay's to fix
	}
	return out, nil
}

// RefundTransfer implements psp.Transfers, as MangoPay refunds a transfer: Amount goes back to
// the debited wallet, Fees of it from the platform's fee wallet and the rest from the credited
// wallet (Amount 0: the whole transfer and its whole fee). The refund comes back succeeded, or
// failed: more than what is left of the transfer or its fee (005403), the credited wallet cannot
// give its part back (001001, a wallet never goes negative). An unknown transfer is
// psp.ErrNotFound; an author other than the transfer's, or a transfer that did not succeed, a
// *psp.RejectedError.
func (p *Provider) RefundTransfer(ctx context.Context, req psp.TransferRefundRequest) (psp.Refund, error) {
	var events []psp.Notification
	id, _, err := p.create(ctx, "refund", req.IdempotencyKey, func(tx Store, id string) error {
		events = nil
		t, err := tx.Transfer(ctx, req.TransferID)
		if err != nil {
			return err
		}
		if req.AuthorID != t.AuthorID {
			return paramError(map[string]string{"AuthorId": "The AuthorId must be the author of the initial transaction."})
		}
		if t.Status != psp.TransferSucceeded {
			return paramError(map[string]string{"TransferId": "The initial transaction has not succeeded."})
		}
		if req.Amount < 0 || req.Fees < 0 || req.Fees > req.Amount {
			return paramError(map[string]string{"DebitedFunds": "The amount and the fees must be positive, the fees at most the amount."})
		}
		amount, fees := req.Amount, req.Fees
		if amount == 0 {
			amount, fees = t.Amount, t.Fees
		}
		r := Refund{ID: id, InitialKind: psp.RefundOfTransfer, PayInID: t.ID, AuthorID: req.AuthorID, Amount: amount, Fees: fees,
			Tag: req.Tag, CreatedAt: p.clock.Now(), Status: psp.RefundFailed}
		ok, err := tx.AddTransferRefunded(ctx, t.ID, amount, fees)
		if err != nil {
			return err
		}
		if !ok {
			r.ResultCode, r.ResultMessage = codeRefundExceeds, "The refund cannot exceed initial transaction amount"
		} else if debited, err := tx.DebitWallet(ctx, t.CreditedWalletID, amount-fees); err != nil {
			return err
		} else if !debited {
			r.ResultCode, r.ResultMessage = codeInsufficientBalance, "Unsufficient wallet balance"
			if _, err := tx.AddTransferRefunded(ctx, t.ID, -amount, -fees); err != nil {
				return err
			}
		} else {
			if fees > 0 {
				if err := tx.CreditWallet(ctx, FeesWalletID, -fees); err != nil {
					return err
				}
			}
			if err := tx.CreditWallet(ctx, t.DebitedWalletID, amount); err != nil {
				return err
			}
			r.Status, r.ResultCode, r.ResultMessage = psp.RefundSucceeded, codeSuccess, "Success"
		}
		event := "TRANSFER_REFUND_FAILED"
		if r.Status == psp.RefundSucceeded {
			event = "TRANSFER_REFUND_SUCCEEDED"
		}
		events = append(events, psp.Notification{Kind: psp.ResourceRefund, ResourceID: id, Event: event})
		return tx.CreateRefund(ctx, r)
	})
	if err != nil {
		return psp.Refund{}, err
	}
	p.emit(ctx, events...)
	return p.GetRefund(ctx, id)
}

// GetWallet implements psp.Wallets.
func (p *Provider) GetWallet(ctx context.Context, walletID string) (psp.Wallet, error) {
	w, err := p.store.Wallet(ctx, walletID)
	if err != nil {
		return psp.Wallet{}, unavailable("read wallet", err)
	}
	return psp.Wallet{ID: w.ID, OwnerID: w.OwnerID, Balance: w.Balance}, nil
}

// GetOwnerWallet implements psp.Wallets: the sandbox asks for no authentication, present or not.
func (p *Provider) GetOwnerWallet(ctx context.Context, walletID string, _ psp.Presence) (psp.Wallet, error) {
	return p.GetWallet(ctx, walletID)
}

// GetFeesWallet implements psp.Wallets.
func (p *Provider) GetFeesWallet(ctx context.Context) (psp.Wallet, error) {
	return p.GetWallet(ctx, FeesWalletID)
}

// AdjustWallet adds amount (negative: takes it) to a wallet's balance, as no real provider would:
// the sandbox's way to make a reconciliation find a difference.
func (p *Provider) AdjustWallet(ctx context.Context, walletID string, amount int64) error {
	return unavailable("adjust wallet", p.store.CreditWallet(ctx, walletID, amount))
}

// FundGuarantee brings the platform's own money into the sandbox provider for a centre (what the
// platform's guarantee paid the centre for a failed debit): Amount − Fees into the credited
// wallet and Fees into the platform's fee wallet, at once, as if the platform's bank wire had
// arrived. It is recorded as a transfer authored by the platform with no debited wallet, made
// once per idempotency key. Errors: psp.ErrUnavailable, *psp.RejectedError.
func (p *Provider) FundGuarantee(ctx context.Context, req psp.GuaranteeFunding) (psp.Transfer, error) {
	id, _, err := p.create(ctx, "transfer", req.IdempotencyKey, func(tx Store, id string) error {
		credited, err := tx.Wallet(ctx, req.CreditedWalletID)
		if errors.Is(err, psp.ErrNotFound) {
			return paramError(map[string]string{"CreditedWalletId": "The wallet does not exist."})
		}
		if err != nil {
			return err
		}
		if req.Amount <= 0 || req.Fees < 0 || req.Fees > req.Amount {
			return paramError(map[string]string{"DebitedFunds": "The amount must be positive and cover the fees."})
		}
		if net := req.Amount - req.Fees; net > 0 {
			if err := tx.CreditWallet(ctx, credited.ID, net); err != nil {
				return err
			}
		}
		if req.Fees > 0 {
			if err := tx.CreditWallet(ctx, FeesWalletID, req.Fees); err != nil {
				return err
			}
		}
		now := p.clock.Now()
		return tx.CreateTransfer(ctx, Transfer{ID: id, Status: psp.TransferSucceeded, AuthorID: PlatformUserID,
			CreditedWalletID: credited.ID, Amount: req.Amount, Fees: req.Fees, ResultCode: codeSuccess, ResultMessage: "Success",
			Tag: req.Tag, CreatedAt: now, ExecutedAt: now})
	})
	if err != nil {
		return psp.Transfer{}, err
	}
	return p.GetTransfer(ctx, id)
}
