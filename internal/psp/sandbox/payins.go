package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

var (
	languagePattern   = regexp.MustCompile(`^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`)
	descriptorPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,10}$`)
	colorDepths       = map[int]bool{1: true, 4: true, 8: true, 15: true, 16: true, 24: true, 30: true, 32: true, 48: true}
)

// Hook event names, MangoPay's.
const (
	eventPayInSucceeded   = "PAYIN_NORMAL_SUCCEEDED"
	eventPayInFailed      = "PAYIN_NORMAL_FAILED"
	eventRefundSucceeded  = "PAYIN_REFUND_SUCCEEDED"
	eventRefundFailed     = "PAYIN_REFUND_FAILED"
	eventMandateSubmitted = "MANDATE_SUBMITTED"
	eventMandateActivated = "MANDATE_ACTIVATED"
	eventMandateFailed    = "MANDATE_FAILED"
)

func payInEvent(id string, status psp.PayInStatus) psp.Notification {
	event := eventPayInSucceeded
	if status == psp.PayInFailed {
		event = eventPayInFailed
	}
	return psp.Notification{Kind: psp.ResourcePayIn, ResourceID: id, Event: event}
}

// CreateCardPayIn implements psp.PayIns, as MangoPay's direct card pay-in with SecureMode
// NO_CHOICE. Invalid fields (unknown author, card or wallet; BrowserInfo, return URL or statement
// descriptor out of MangoPay's bounds) are a *psp.RejectedError. Otherwise the pay-in comes back:
//   - failed at once: card not the author's (001023), card inactive or blocked (101410,
//     card_blocked, as MangoPay answers for a deactivated card), amount not positive (001013),
//     amount DeclinedAmount (101101, card_declined);
//   - succeeded at once for the frictionless test card;
//   - created with SecureModeNeeded and RedirectURL (the 3-D Secure page) for every other card.
func (p *Provider) CreateCardPayIn(ctx context.Context, req psp.CardPayInRequest) (psp.PayIn, error) {
	var events []psp.Notification
	id, _, err := p.create(ctx, "payin", req.IdempotencyKey, func(tx Store, id string) error {
		events = nil // a retried transaction starts over
		fields := map[string]string{}
		b := req.BrowserInfo
		if !languagePattern.MatchString(b.Language) {
			fields["BrowserInfo.Language"] = "The Language field is invalid."
		}
		if !colorDepths[b.ColorDepth] {
			fields["BrowserInfo.ColorDepth"] = "The ColorDepth field is invalid."
		}
		if b.UserAgent == "" || len(b.UserAgent) > 255 {
			fields["BrowserInfo.UserAgent"] = "The UserAgent field is required (at most 255 characters)."
		}
		if b.AcceptHeader == "" {
			fields["BrowserInfo.AcceptHeader"] = "The AcceptHeader field is required."
		}
		if req.IPAddress == "" {
			fields["IpAddress"] = "The IpAddress field is required."
		}
		if req.SecureModeReturnURL == "" || len(req.SecureModeReturnURL) > 255 {
			fields["SecureModeReturnURL"] = "The SecureModeReturnURL field is required (at most 255 characters)."
		}
		if req.StatementDescriptor != "" && !descriptorPattern.MatchString(req.StatementDescriptor) {
			fields["StatementDescriptor"] = "The StatementDescriptor field is invalid."
		}
		if _, err := tx.User(ctx, req.AuthorID); errors.Is(err, psp.ErrNotFound) {
			fields["AuthorId"] = "The user does not exist."
		} else if err != nil {
			return err
		}
		card, err := tx.Card(ctx, req.CardID)
		if errors.Is(err, psp.ErrNotFound) {
			fields["CardId"] = "The card does not exist."
		} else if err != nil {
			return err
		}
		if _, err := tx.Wallet(ctx, req.CreditedWalletID); errors.Is(err, psp.ErrNotFound) {
			fields["CreditedWalletId"] = "The wallet does not exist."
		} else if err != nil {
			return err
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		now := p.clock.Now()
		pi := PayIn{ID: id, Method: psp.PayInCard, Status: psp.PayInCreated, AuthorID: req.AuthorID,
			CreditedWalletID: req.CreditedWalletID, CardID: card.ID, Amount: req.Amount, ReturnURL: req.SecureModeReturnURL,
			StatementDescriptor: req.StatementDescriptor, Tag: req.Tag, CreatedAt: now, UpdatedAt: now}
		code, message := "", ""
		switch {
		case card.UserID != req.AuthorID:
			code, message = codeNotCardOwner, "Author is not the card owner"
		case !card.Active:
			code, message = codeCardInactive, "The card is not active"
		case req.Amount <= 0:
			code, message = codeInvalidAmount, "Invalid transaction amount"
		case req.Amount == DeclinedAmount:
			code, message = codeDoNotHonor, "Transaction refused by the bank (Do not honor)"
		case card.Class == CardFrictionless || card.Class == CardDispute:
			code, message = codeSuccess, "Success"
		default:
			pi.SecureModeNeeded = true
		}
		if err := tx.CreatePayIn(ctx, pi); err != nil {
			return err
		}
		if code == "" {
			return nil
		}
		status, err := p.finishPayIn(ctx, tx, pi, code, message, now)
		if err != nil {
			return err
		}
		events = append(events, payInEvent(id, status))
		return nil
	})
	if err != nil {
		return psp.PayIn{}, err
	}
	p.emit(ctx, events...)
	return p.GetPayIn(ctx, id)
}

// finishPayIn ends a created pay-in with a result code ("000000" succeeds), inside tx: a success
// credits the wallet, settles an unknown card as valid and activates a submitted mandate; a failure
// settles an unknown card as invalid. It returns the final status, or ErrFinished when the pay-in
// was not created any more.
func (p *Provider) finishPayIn(ctx context.Context, tx Store, pi PayIn, code, message string, at time.Time) (psp.PayInStatus, error) {
	status := psp.PayInFailed
	if code == codeSuccess {
		status = psp.PayInSucceeded
	}
	ok, err := tx.FinishPayIn(ctx, pi.ID, status, code, message, at)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrFinished
	}
	if pi.CardID != "" {
		validity := psp.CardValidityInvalid
		if status == psp.PayInSucceeded {
			validity = psp.CardValidityValid
		}
		if err := tx.SettleCardValidity(ctx, pi.CardID, validity); err != nil {
			return "", err
		}
	}
	if status == psp.PayInSucceeded {
		if err := tx.CreditWallet(ctx, pi.CreditedWalletID, pi.Amount); err != nil {
			return "", err
		}
	}
	return status, nil
}

// CreateDirectDebitPayIn implements psp.PayIns, as MangoPay's direct-debit pay-in. An unknown
// mandate or wallet, or a statement descriptor over 100 characters, is a *psp.RejectedError.
// Otherwise the pay-in comes back created (ChargeDate the next day) and settles when Settle runs
// 2 days later; like MangoPay it comes back failed at once when the author is not the mandate's
// owner (001024) or the mandate is neither submitted nor active (001833, mandate_cancelled).
func (p *Provider) CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	var events []psp.Notification
	var made PayIn // the pay-in as this call created it, while it stays created
	// The caller records the pay-in in a transaction that commits after this one and waits for
	// the disk (collections' MarkSubmitted…): this one need not (see WithRelaxedCommit).
	id, created, err := p.create(WithRelaxedCommit(ctx), "payin", req.IdempotencyKey, func(tx Store, id string) error {
		events, made = nil, PayIn{}
		fields := map[string]string{}
		m, err := tx.Mandate(ctx, req.MandateID)
		if errors.Is(err, psp.ErrNotFound) {
			fields["MandateId"] = "The mandate does not exist."
		} else if err != nil {
			return err
		}
		if _, err := tx.Wallet(ctx, req.CreditedWalletID); errors.Is(err, psp.ErrNotFound) {
			fields["CreditedWalletId"] = "The wallet does not exist."
		} else if err != nil {
			return err
		}
		if len(req.StatementDescriptor) > 100 {
			fields["StatementDescriptor"] = "The StatementDescriptor field is too long."
		}
		if req.Amount <= 0 {
			fields["DebitedFunds"] = "The DebitedFunds amount must be positive."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		now := p.clock.Now()
		day := now.UTC()
		pi := PayIn{ID: id, Method: psp.PayInDirectDebit, Status: psp.PayInCreated, AuthorID: req.AuthorID,
			CreditedWalletID: req.CreditedWalletID, MandateID: m.ID, Amount: req.Amount, StatementDescriptor: req.StatementDescriptor,
			Tag: req.Tag, CreatedAt: now, UpdatedAt: now, ChargeDate: time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, time.UTC)}
		if err := tx.CreatePayIn(ctx, pi); err != nil {
			return err
		}
		code, message := "", ""
		switch {
		case m.UserID != req.AuthorID:
			code, message = codeNotMandateOwner, "Author is not the Mandate owner"
		case m.Status != psp.MandateSubmitted && m.Status != psp.MandateActive:
			code, message = codeMandateStatus, "The Status of this Mandate does not allow for payments"
		default:
			made = pi
			return nil
		}
		status, err := p.finishPayIn(ctx, tx, pi, code, message, now)
		if err != nil {
			return err
		}
		events = append(events, payInEvent(id, status))
		return nil
	})
	if err != nil {
		return psp.PayIn{}, err
	}
	p.emit(ctx, events...)
	if created && made.ID == id {
		// The month close submits one debit per buyer: no need to read back what was just written.
		return p.toPayIn(made), nil
	}
	return p.GetPayIn(ctx, id)
}

var _ psp.DirectDebitBatcher = (*Provider)(nil)

// CreateDirectDebitPayIns implements psp.DirectDebitBatcher: the month close's debits of a batch
// in one transaction of the store (under WithRelaxedCommit, as CreateDirectDebitPayIn), with a
// handful of set-based statements instead of one transaction per debit. Each request behaves as
// CreateDirectDebitPayIn: the requests the batch cannot make as plain created pay-ins — without an
// idempotency key or with one used before (a replayed batch: the pay-in made then comes back), a
// key repeated in the batch, a refusal (unknown mandate or wallet, descriptor, amount), a debit
// that fails at once (author not the mandate's owner, mandate neither submitted nor active) — go
// through CreateDirectDebitPayIn one at a time, after the transaction.
func (p *Provider) CreateDirectDebitPayIns(ctx context.Context, reqs []psp.DirectDebitPayInRequest) ([]psp.DirectDebitResult, error) {
	out := make([]psp.DirectDebitResult, len(reqs))
	var single []int // the requests left to CreateDirectDebitPayIn
	err := p.store.InTx(WithRelaxedCommit(ctx), func(tx Store) error {
		single = nil // a retried transaction starts over
		clear(out)
		mandateIDs := make([]string, 0, len(reqs))
		walletIDs := make([]string, 0, len(reqs))
		for _, r := range reqs {
			mandateIDs = append(mandateIDs, r.MandateID)
			walletIDs = append(walletIDs, r.CreditedWalletID)
		}
		mandates, err := tx.Mandates(ctx, mandateIDs)
		if err != nil {
			return err
		}
		wallets, err := tx.WalletsExist(ctx, walletIDs)
		if err != nil {
			return err
		}
		now := p.clock.Now()
		day := now.UTC()
		chargeDate := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, time.UTC)
		var (
			fast    []int // plain created pay-ins, if their keys are new
			keys    []string
			ids     []string
			inBatch = map[string]bool{}
		)
		for i, r := range reqs {
			m, known := mandates[r.MandateID]
			plain := r.IdempotencyKey != "" && !inBatch[r.IdempotencyKey] && known && wallets[r.CreditedWalletID] &&
				len(r.StatementDescriptor) <= 100 && r.Amount > 0 && m.UserID == r.AuthorID &&
				(m.Status == psp.MandateSubmitted || m.Status == psp.MandateActive)
			if !plain {
				single = append(single, i)
				continue
			}
			inBatch[r.IdempotencyKey] = true
			fast = append(fast, i)
			keys = append(keys, r.IdempotencyKey)
			ids = append(ids, newID("payin"))
		}
		if len(fast) == 0 {
			return nil
		}
		claimed, err := tx.ClaimKeys(ctx, "payin", keys, ids, now)
		if err != nil {
			return err
		}
		made := make([]PayIn, 0, len(fast))
		for j, i := range fast {
			r := reqs[i]
			if !claimed[r.IdempotencyKey] {
				single = append(single, i) // a key used before: its pay-in, read back
				continue
			}
			made = append(made, PayIn{ID: ids[j], Method: psp.PayInDirectDebit, Status: psp.PayInCreated, AuthorID: r.AuthorID,
				CreditedWalletID: r.CreditedWalletID, MandateID: r.MandateID, Amount: r.Amount, StatementDescriptor: r.StatementDescriptor,
				Tag: r.Tag, CreatedAt: now, UpdatedAt: now, ChargeDate: chargeDate})
			out[i] = psp.DirectDebitResult{PayIn: p.toPayIn(made[len(made)-1])}
		}
		return tx.CreatePayIns(ctx, made)
	})
	if err != nil {
		return nil, unavailable("create direct-debit pay-ins", err)
	}
	slices.Sort(single)
	for _, i := range single {
		if err := ctx.Err(); err != nil {
			out[i].Err = fmt.Errorf("%w: %w", psp.ErrUnavailable, err)
			continue
		}
		out[i].PayIn, out[i].Err = p.CreateDirectDebitPayIn(ctx, reqs[i])
	}
	return out, nil
}

// GetPayIn implements psp.PayIns.
func (p *Provider) GetPayIn(ctx context.Context, payInID string) (psp.PayIn, error) {
	pi, err := p.store.PayIn(ctx, payInID)
	if err != nil {
		return psp.PayIn{}, unavailable("read pay-in", err)
	}
	return p.toPayIn(pi), nil
}

// FindCardPayIn implements psp.PayIns: the pay-in created with the idempotency key, as
// MangoPay's GET /responses/{key} gives the first answer to a key. A key never used, or used by
// a refused request, is psp.ErrNotFound.
func (p *Provider) FindCardPayIn(ctx context.Context, idempotencyKey string) (psp.PayIn, error) {
	id, found, err := p.store.KeyResource(ctx, "payin", idempotencyKey)
	if err != nil {
		return psp.PayIn{}, unavailable("read idempotency key", err)
	}
	if !found || id == "" {
		return psp.PayIn{}, psp.ErrNotFound
	}
	return p.GetPayIn(ctx, id)
}

// SucceededPayIns implements psp.PayIns: the pay-ins executed in [since, until).
func (p *Provider) SucceededPayIns(ctx context.Context, since, until time.Time) ([]string, error) {
	ids, err := p.store.SucceededPayIns(ctx, since, until)
	if err != nil {
		return nil, unavailable("list pay-ins", err)
	}
	return ids, nil
}

func (p *Provider) toPayIn(pi PayIn) psp.PayIn {
	out := psp.PayIn{ID: pi.ID, Method: pi.Method, Status: pi.Status, AuthorID: pi.AuthorID, CreditedWalletID: pi.CreditedWalletID,
		Amount: pi.Amount, CardID: pi.CardID, MandateID: pi.MandateID, ResultCode: pi.ResultCode,
		ExecutedAt: pi.ExecutedAt, ChargeDate: pi.ChargeDate, Tag: pi.Tag}
	if pi.Status == psp.PayInCreated && pi.SecureModeNeeded {
		out.SecureModeNeeded, out.RedirectURL = true, p.publicURL+secureModePath+pi.ID
	}
	if pi.Status == psp.PayInFailed {
		out.Failure = psp.PayInFailure(pi.Method, pi.ResultCode)
	}
	return out
}

// Settle settles the created direct-debit pay-ins submitted 2 or more days ago (by the clock), or
// all of them when force is set, and the payouts made 1 or more days ago (all with force; see
// settlePayouts), by their bank account's outcome class: succeeded (the wallet is
// credited and a submitted mandate becomes active), or failed with 001830 insufficient_funds or
// 001801 account_closed. A debit whose mandate was cancelled meanwhile fails with 001833
// (mandate_cancelled). It returns how many pay-ins this call settled; a pay-in settled by a
// concurrent call is skipped. Notifications are sent after each pay-in's change is committed.
//
// Calls run one at a time (in this process): a call returns only after a concurrent call's
// pay-ins were settled and their notifications sent. A clock move that settles (the test clock's
// PUT) thus answers after the outcome of a debit the background settlement took at the same
// moment is applied, as it does for the debits it settles itself.
func (p *Provider) Settle(ctx context.Context, force bool) (int, error) {
	p.settling.Lock()
	defer p.settling.Unlock()
	now := p.clock.Now()
	cutoff := now.Add(-settleAfter)
	if force {
		cutoff = now.Add(time.Hour) // anything already created
	}
	due, err := p.store.PendingDirectDebits(ctx, cutoff)
	if err != nil {
		return 0, unavailable("list pending direct debits", err)
	}
	settled := 0
	for _, pi := range due {
		events, err := p.settleOne(ctx, pi, now)
		if errors.Is(err, ErrFinished) {
			continue
		}
		if err != nil {
			return settled, unavailable("settle direct debit", err)
		}
		settled++
		p.emit(ctx, events...)
	}
	paid, err := p.settlePayouts(ctx, force)
	return settled + paid, err
}

func (p *Provider) settleOne(ctx context.Context, pi PayIn, now time.Time) ([]psp.Notification, error) {
	var events []psp.Notification
	err := p.store.InTx(ctx, func(tx Store) error {
		events = nil
		m, err := tx.Mandate(ctx, pi.MandateID)
		if err != nil {
			return err
		}
		account, err := tx.BankAccount(ctx, m.BankAccountID)
		if err != nil {
			return err
		}
		code, message := codeSuccess, "Success"
		outcome := account.Outcome
		if account.FailsOnce && outcome != DebitSucceeds {
			failed, err := tx.CountFailedDirectDebits(ctx, m.ID, pi.Tag)
			if err != nil {
				return err
			}
			if failed > 0 { // a re-presentation
				outcome = DebitSucceeds
			}
		}
		switch {
		case m.Status != psp.MandateSubmitted && m.Status != psp.MandateActive:
			code, message = codeMandateStatus, "The Status of this Mandate does not allow for payments"
		case outcome == DebitInsufficientFunds:
			code, message = codeInsufficientFunds, "Insufficient funds"
		case outcome == DebitAccountClosed:
			code, message = codeAccountClosed, "Account closed"
		}
		status, err := p.finishPayIn(ctx, tx, pi, code, message, now)
		if err != nil {
			return err
		}
		events = append(events, payInEvent(pi.ID, status))
		if status == psp.PayInSucceeded && m.Status == psp.MandateSubmitted {
			ok, err := tx.MoveMandate(ctx, m.ID, []psp.MandateStatus{psp.MandateSubmitted}, psp.MandateActive, "", "", now)
			if err != nil {
				return err
			}
			if ok {
				events = append(events, psp.Notification{Kind: psp.ResourceMandate, ResourceID: m.ID, Event: eventMandateActivated})
			}
		}
		return nil
	})
	if err == nil {
		p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp direct debit settled", slog.String("pay_in_id", pi.ID))
	}
	return events, err
}

// RefundPayIn implements psp.PayIns, with MangoPay's rules. An unknown pay-in is psp.ErrNotFound;
// an author other than the pay-in's, or a pay-in that has not succeeded, is a *psp.RejectedError.
// The refund comes back succeeded (the wallet is debited), or failed: everything refunded already
// (001401), more than what is left (005403), the same amount refunded in the last 24 hours
// (005407), a card payment older than 11 months (001403), a direct debit younger than 7 days (001405; Tag "ignore_mindate" skips the rule, as in
// MangoPay's sandbox).
func (p *Provider) RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error) {
	var events []psp.Notification
	id, _, err := p.create(ctx, "refund", req.IdempotencyKey, func(tx Store, id string) error {
		events = nil
		pi, err := tx.PayIn(ctx, req.PayInID)
		if err != nil {
			return err
		}
		if req.AuthorID != pi.AuthorID {
			return paramError(map[string]string{"AuthorId": "The AuthorId must be the author of the initial transaction."})
		}
		if pi.Status != psp.PayInSucceeded {
			return paramError(map[string]string{"PayInId": "The initial transaction has not succeeded."})
		}
		now := p.clock.Now()
		amount := req.Amount
		if amount == 0 {
			amount = pi.Amount - pi.Refunded
		}
		r := Refund{ID: id, InitialKind: psp.RefundOfPayIn, PayInID: pi.ID, AuthorID: req.AuthorID, Amount: amount, Tag: req.Tag, CreatedAt: now,
			Status: psp.RefundFailed}
		recent, err := tx.RefundedSince(ctx, pi.ID, amount, now.Add(-24*time.Hour))
		if err != nil {
			return err
		}
		isDisputed, err := disputed(ctx, tx, pi.ID)
		if err != nil {
			return err
		}
		switch {
		case isDisputed:
			r.ResultCode, r.ResultMessage = codeDisputed, "Due to repudiations against this transaction, you can not refund this amount."
		case pi.Refunded >= pi.Amount:
			r.ResultCode, r.ResultMessage = codeAlreadyRefunded, "Transaction has already been successfully refunded"
		case amount < 1 || pi.Refunded+amount > pi.Amount:
			r.ResultCode, r.ResultMessage = codeRefundExceeds, "The refund cannot exceed initial transaction amount"
		case recent:
			r.ResultCode, r.ResultMessage = codeRefundDuplicate, "Duplicated operation: you cannot reimburse the same amount more than once for a transaction during the same day."
		case pi.Method == psp.PayInCard && now.After(pi.CreatedAt.AddDate(0, 11, 0)):
			r.ResultCode, r.ResultMessage = codeRefundTooLate, "The transaction cannot be refunded (max 11 months)"
		case pi.Method == psp.PayInDirectDebit && now.Sub(pi.CreatedAt) < 7*24*time.Hour && req.Tag != "ignore_mindate":
			r.ResultCode, r.ResultMessage = codeRefundTooEarly, "The initial transaction occured less than 7 days ago"
		default:
			ok, err := tx.AddRefunded(ctx, pi.ID, amount)
			if err != nil {
				return err
			}
			if ok {
				r.Status, r.ResultCode, r.ResultMessage = psp.RefundSucceeded, codeSuccess, "Success"
				if err := tx.CreditWallet(ctx, pi.CreditedWalletID, -amount); err != nil {
					return err
				}
			} else {
				r.ResultCode, r.ResultMessage = codeRefundExceeds, "The refund cannot exceed initial transaction amount"
			}
		}
		event := eventRefundFailed
		if r.Status == psp.RefundSucceeded {
			event = eventRefundSucceeded
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

// GetRefund implements psp.PayIns.
func (p *Provider) GetRefund(ctx context.Context, refundID string) (psp.Refund, error) {
	r, err := p.store.Refund(ctx, refundID)
	if err != nil {
		return psp.Refund{}, unavailable("read refund", err)
	}
	out := psp.Refund{ID: r.ID, InitialKind: psp.RefundOfPayIn, InitialID: r.PayInID, PayInID: r.PayInID, Status: r.Status,
		Amount: r.Amount, ResultCode: r.ResultCode}
	if r.InitialKind == psp.RefundOfTransfer {
		out.PayInID = ""
		out.InitialKind = psp.RefundOfTransfer
	}
	if r.Status == psp.RefundFailed {
		out.Failure = psp.FailureProviderError // as the MangoPay client reports a failed refund
	}
	return out, nil
}

// GetRepudiation implements psp.PayIns. The sandbox never takes money back after a success, so
// there is no repudiation to read: always psp.ErrNotFound.
func (p *Provider) GetRepudiation(ctx context.Context, repudiationID string) (psp.Repudiation, error) {
	return psp.Repudiation{}, psp.ErrNotFound
}
