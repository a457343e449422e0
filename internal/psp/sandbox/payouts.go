package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// The sandbox's payouts: a centre's payout account (a bank account of its owner user, which
// enables its payouts, as SANDBOX.md says), and bank wires from the centre's wallet to it that the
// bank pays one day later by the clock (at once with Settle's force), or refuses for the failing
// payout IBAN (account_closed), crediting the wallet back.
var (
	_ psp.PayoutAccounts = (*Provider)(nil)
	_ psp.Payouts        = (*Provider)(nil)
)

// FailingPayoutIBAN is the payout account whose payouts fail with account_closed (SANDBOX.md).
const FailingPayoutIBAN = "FR2730006000011234567890489"

// payoutSettleAfter is how long a payout waits before the bank pays it.
const payoutSettleAfter = 24 * time.Hour

// Payout result codes and notifications (MangoPay's).
const (
	codePayoutInsufficient = "121003" // insufficient wallet balance
	codePayoutNotOwner     = "121002" // the author does not own the wallet
	codePayoutInactive     = "121006" // the bank account is not active
	codePayoutAccountOwner = "121007" // the author does not own the bank account
	codePayoutRefused      = "121001" // the bank refused the wire (closed account)

	eventPayoutSucceeded = "PAYOUT_NORMAL_SUCCEEDED"
	eventPayoutFailed    = "PAYOUT_NORMAL_FAILED"
)

// CreatePayoutAccount implements psp.PayoutAccounts: a bank account of an owner user (the same
// checks as CreateBankAccount); the owner's payouts are enabled with it. A user that is not an
// owner is a *psp.RejectedError.
func (p *Provider) CreatePayoutAccount(ctx context.Context, req psp.PayoutAccountRequest) (psp.PayoutAccount, error) {
	u, err := p.store.User(ctx, req.UserID)
	if err != nil {
		return psp.PayoutAccount{}, unavailable("read owner", err)
	}
	if u.Category != psp.CategoryOwner {
		return psp.PayoutAccount{}, paramError(map[string]string{"UserId": "Only an OWNER user may have a payout account."})
	}
	b, err := p.CreateBankAccount(ctx, req)
	if err != nil {
		return psp.PayoutAccount{}, err
	}
	if err := p.store.SetPayoutsEnabled(ctx, req.UserID, true); err != nil {
		return psp.PayoutAccount{}, unavailable("enable payouts", err)
	}
	return p.GetPayoutAccount(ctx, req.UserID, b.ID)
}

// GetPayoutAccount implements psp.PayoutAccounts.
func (p *Provider) GetPayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error) {
	b, err := p.store.BankAccount(ctx, accountID)
	if err != nil {
		return psp.PayoutAccount{}, unavailable("read payout account", err)
	}
	if b.UserID != userID {
		return psp.PayoutAccount{}, psp.ErrNotFound
	}
	status := psp.PayoutAccountActive
	if !b.Active {
		status = psp.PayoutAccountInactive
	}
	return psp.PayoutAccount{ID: b.ID, UserID: b.UserID, Status: status}, nil
}

// DeactivatePayoutAccount implements psp.PayoutAccounts.
func (p *Provider) DeactivatePayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error) {
	if _, err := p.DeactivateBankAccount(ctx, userID, accountID); err != nil {
		return psp.PayoutAccount{}, err
	}
	return p.GetPayoutAccount(ctx, userID, accountID)
}

// CreatePayout implements psp.Payouts. The wallet is debited at once and the payout stays created
// until the bank answers (Settle); refusals are failed payouts with MangoPay's result codes:
// 121002 the author does not own the wallet, 121006 the account is inactive, 121007 the author
// does not own the account, 121003 insufficient balance.
func (p *Provider) CreatePayout(ctx context.Context, req psp.PayoutRequest) (psp.Payout, error) {
	var status psp.PayoutStatus
	id, created, err := p.create(ctx, "payout", req.IdempotencyKey, func(tx Store, id string) error {
		w, werr := tx.Wallet(ctx, req.DebitedWalletID)
		b, berr := tx.BankAccount(ctx, req.PayoutAccountID)
		fields := map[string]string{}
		for field, err := range map[string]error{"DebitedWalletId": werr, "BankAccountId": berr} {
			if errors.Is(err, psp.ErrNotFound) {
				fields[field] = "The resource does not exist."
			} else if err != nil {
				return err
			}
		}
		if req.Amount <= 0 {
			fields["DebitedFunds"] = "The amount must be positive."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		if err := p.knownUser(ctx, tx, req.AuthorID, "AuthorId"); err != nil {
			return err
		}
		po := Payout{ID: id, Status: psp.PayoutFailed, AuthorID: req.AuthorID, DebitedWalletID: w.ID, BankAccountID: b.ID,
			Amount: req.Amount, Tag: req.Tag, CreatedAt: p.clock.Now()}
		switch {
		case w.OwnerID != req.AuthorID:
			po.ResultCode, po.ResultMessage = codePayoutNotOwner, "The author is not the wallet owner"
		case !b.Active:
			po.ResultCode, po.ResultMessage = codePayoutInactive, "The associated bank account is not active"
		case b.UserID != req.AuthorID:
			po.ResultCode, po.ResultMessage = codePayoutAccountOwner, "The author is not the bank account owner"
		default:
			ok, err := tx.DebitWallet(ctx, w.ID, req.Amount)
			if err != nil {
				return err
			}
			if !ok {
				po.ResultCode, po.ResultMessage = codePayoutInsufficient, "Insufficient wallet balance"
				break
			}
			po.Status = psp.PayoutCreated
		}
		status = po.Status
		return tx.CreatePayout(ctx, po)
	})
	if err != nil {
		return psp.Payout{}, err
	}
	if created && status == psp.PayoutFailed {
		p.emit(ctx, psp.Notification{Kind: psp.ResourcePayout, ResourceID: id, Event: eventPayoutFailed})
	}
	return p.GetPayout(ctx, id)
}

// GetPayout implements psp.Payouts.
func (p *Provider) GetPayout(ctx context.Context, payoutID string) (psp.Payout, error) {
	po, err := p.store.Payout(ctx, payoutID)
	if err != nil {
		return psp.Payout{}, unavailable("read payout", err)
	}
	out := psp.Payout{ID: po.ID, Status: po.Status, AuthorID: po.AuthorID, DebitedWalletID: po.DebitedWalletID,
		PayoutAccountID: po.BankAccountID, Amount: po.Amount, ResultCode: po.ResultCode, ExecutedAt: po.ExecutedAt, Tag: po.Tag}
	switch {
	case po.Status != psp.PayoutFailed:
	case po.ResultCode == codePayoutRefused:
		out.Failure = psp.FailureAccountClosed
	default:
		out.Failure = psp.FailureProviderError
	}
	return out, nil
}

// settlePayouts answers, as the bank, the created payouts made payoutSettleAfter ago or more (all
// of them with force): paid, or refused for an account whose class is account_closed (the failing
// payout IBAN), the wallet credited back. Notifications follow each commit.
func (p *Provider) settlePayouts(ctx context.Context, force bool) (int, error) {
	now := p.clock.Now()
	cutoff := now.Add(-payoutSettleAfter)
	if force {
		cutoff = now.Add(time.Hour)
	}
	due, err := p.store.PendingPayouts(ctx, cutoff)
	if err != nil {
		return 0, unavailable("list pending payouts", err)
	}
	settled := 0
	for _, po := range due {
		event := eventPayoutSucceeded
		var done bool
		err := p.store.InTx(ctx, func(tx Store) error {
			b, err := tx.BankAccount(ctx, po.BankAccountID)
			if err != nil {
				return err
			}
			if b.Outcome == DebitAccountClosed {
				event = eventPayoutFailed
				if done, err = tx.FinishPayout(ctx, po.ID, psp.PayoutFailed, codePayoutRefused, "The bank wire has been refused", now); err != nil || !done {
					return err
				}
				return tx.CreditWallet(ctx, po.DebitedWalletID, po.Amount)
			}
			done, err = tx.FinishPayout(ctx, po.ID, psp.PayoutSucceeded, codeSuccess, "Success", now)
			return err
		})
		if err != nil {
			return settled, unavailable("settle payout", err)
		}
		if !done {
			continue
		}
		settled++
		p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp payout settled", slog.String("payout_id", po.ID), slog.String("event", event))
		p.emit(ctx, psp.Notification{Kind: psp.ResourcePayout, ResourceID: po.ID, Event: event})
	}
	return settled, nil
}
