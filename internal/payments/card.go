package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/validation"
)

// A card payment is recorded before the card is charged:
//
//  1. one transaction writes the intent, processing, with no pay-in yet (the order must still be
//     payment_pending; it stays so, and cannot be cancelled, while the intent is open);
//  2. the provider is asked to charge the card, with an idempotency key derived from the intent
//     id (CardPayInKey) and the intent id as tag;
//  3. one transaction writes the answer (the pay-in id and the outcome: requires_action,
//     succeeded with the order confirmed, failed) with a conditional update from processing.
//
// A crash, a dropped connection or a lost answer between 2 and 3 leaves the intent processing
// with no pay-in. It is resumed (resume) by whoever reads it next — a GET of the intent, a new
// payment of its order, the provider's notification of the pay-in (found by its tag), the same
// request retried with its Idempotency-Key, or the periodic Reconcile — to exactly one outcome:
// the pay-in is looked up at the provider by the derived key and applied; when there is none and
// the intent has waited longer than Config.UnsentAfter, it is canceled (nothing was charged;
// a charge that still arrives later is refunded, since a canceled intent cannot keep money).

// CardPayInKey is the provider idempotency key of a card intent's pay-in: the intent id.
func CardPayInKey(intentID string) string { return intentID }

// RequestKey fingerprints a request's Idempotency-Key with the caller's scope, as kept on the card
// intent it creates (CreateInput.RequestKey).
func RequestKey(scope, key string) string {
	h := sha256.Sum256([]byte(scope + "\n" + key))
	return hex.EncodeToString(h[:])
}

// payByCard records the intent, then charges the card and records the answer.
func (s *Service) payByCard(ctx context.Context, pi Intent, in CardInput, requestKey string, browser psp.BrowserInfo, ip string) (Intent, error) {
	card, payer, err := s.cardAndPayer(ctx, pi.BuyerID, in.CardID)
	if err != nil {
		return Intent{}, err
	}
	pi.CardID, pi.ReturnURL, pi.RequestKey = card.ID, in.ReturnURL, requestKey
	if err := pi.Charge(pi.UpdatedAt); err != nil {
		return Intent{}, err
	}
	req, err := cardPayInRequest(pi, card, payer, browser, ip)
	if err != nil {
		return Intent{}, err
	}
	if err := s.write(ctx, &pi, false, ""); err != nil {
		return Intent{}, err
	}
	return s.charge(ctx, pi, req)
}

// cardPayInRequest is the provider request of a card intent's pay-in: the key derived from the
// intent, the intent id as tag, the client's return URL with ?payment_intent=<id>.
func cardPayInRequest(pi Intent, card Card, payer payers.Payer, browser psp.BrowserInfo, ip string) (psp.CardPayInRequest, error) {
	returnURL, err := ReturnURLFor(pi.ReturnURL, pi.ID)
	if err != nil {
		return psp.CardPayInRequest{}, validation.Field("return_url", "invalid", err.Error())
	}
	return psp.CardPayInRequest{
		IdempotencyKey: CardPayInKey(pi.ID), AuthorID: payer.UserID, CreditedWalletID: payer.WalletID, CardID: card.ProviderID,
		Amount: pi.Amount, SecureModeReturnURL: returnURL, BrowserInfo: browser, IPAddress: ip, Tag: pi.ID,
	}, nil
}

// cardAndPayer checks the card (the buyer's, active) and ensures the buyer's payer.
func (s *Service) cardAndPayer(ctx context.Context, buyerID, cardID string) (Card, payers.Payer, error) {
	if s.provider == nil {
		return Card{}, payers.Payer{}, ErrNoProvider
	}
	card, err := s.store.Card(ctx, cardID)
	if errors.Is(err, ErrCardNotFound) || (err == nil && card.BuyerID != buyerID) {
		return Card{}, payers.Payer{}, validation.Field("card_id", "unknown", "no such card for this buyer")
	}
	if err != nil {
		return Card{}, payers.Payer{}, err
	}
	switch card.Status {
	case CardBlocked:
		return Card{}, payers.Payer{}, ErrCardBlocked
	case CardInactive:
		return Card{}, payers.Payer{}, ErrCardInactive
	}
	payer, err := s.payers.Ensure(ctx, buyerID)
	if err != nil {
		return Card{}, payers.Payer{}, providerError(err)
	}
	return card, payer, nil
}

// charge asks the provider for the recorded intent's pay-in and records the answer. A refusal
// cancels the intent (nothing was charged). When the answer is lost (an outage, a timeout), the
// pay-in is looked up by the intent's key at once: found, it is applied; known to be absent (the
// provider keeps a failed first answer against the key, so the key is spent), the intent is
// canceled; a late charge is then refunded when it shows up. When the lookup fails too the intent
// stays processing, to be resumed.
func (s *Service) charge(ctx context.Context, pi Intent, req psp.CardPayInRequest) (Intent, error) {
	payIn, err := s.provider.CreateCardPayIn(ctx, req)
	if err == nil {
		return s.applyPayIn(ctx, pi, payIn)
	}
	var rejected *psp.RejectedError
	switch {
	case errors.As(err, &rejected) && rejected.Code != "idempotent_creation_conflict":
		s.cancelUnsent(context.WithoutCancel(ctx), pi)
	case errors.Is(err, psp.ErrUnavailable):
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refundTimeout)
		defer cancel()
		p, ferr := s.provider.FindCardPayIn(ctx, req.IdempotencyKey)
		switch {
		case ferr == nil:
			return s.applyPayIn(ctx, pi, p)
		case errors.Is(ferr, psp.ErrNotFound):
			s.cancelUnsent(ctx, pi)
		}
	}
	return Intent{}, providerError(err)
}

// resumeRequest resumes the card intent created by an earlier run of the same request (same
// Idempotency-Key and caller): it is refreshed and returned, and the card is charged with the
// intent's own key when the provider never received the charge. ok is false when no intent has
// that key.
func (s *Service) resumeRequest(ctx context.Context, buyerID string, in CreateInput, browser psp.BrowserInfo, ip string) (Intent, bool, error) {
	pi, err := s.store.IntentByRequestKey(ctx, in.RequestKey)
	if errors.Is(err, ErrNotFound) {
		return Intent{}, false, nil
	}
	if err != nil {
		return Intent{}, true, err
	}
	if (pi.Status == StatusCanceled && pi.ProviderPayInID == "") || s.clock.Now().Sub(pi.CreatedAt) > idempotency.Retention {
		return Intent{}, false, nil // never charged, or a key forgotten since: the request pays anew
	}
	if pi.BuyerID != buyerID || pi.OrderID != in.OrderID || pi.CollectionID != in.CollectionID || pi.Method != MethodCard || pi.CardID != in.Card.CardID {
		return Intent{}, true, fmt.Errorf("payment intent %s was created with this key: %w", pi.ID, idempotency.ErrReused)
	}
	if pi.Status != StatusProcessing || pi.ProviderPayInID != "" {
		if got, err := s.refresh(ctx, pi); err == nil {
			pi = got
		}
		return pi, true, nil
	}
	if s.provider == nil {
		return Intent{}, true, ErrNoProvider
	}
	p, err := s.provider.FindCardPayIn(ctx, CardPayInKey(pi.ID))
	if err == nil {
		got, err := s.applyPayIn(ctx, pi, p)
		return got, true, err
	}
	if !errors.Is(err, psp.ErrNotFound) {
		return Intent{}, true, providerError(err)
	}
	card, payer, err := s.cardAndPayer(ctx, pi.BuyerID, pi.CardID)
	if err != nil {
		return Intent{}, true, err
	}
	req, err := cardPayInRequest(pi, card, payer, browser, ip)
	if err != nil {
		return Intent{}, true, err
	}
	got, err := s.charge(ctx, pi, req)
	return got, true, err
}

// resume settles a processing card intent whose pay-in was never recorded: the pay-in created
// with the intent's key is applied; without one, the intent is canceled once it has waited longer
// than UnsentAfter (before that, the request that records it may still be running).
func (s *Service) resume(ctx context.Context, pi Intent) (Intent, error) {
	p, err := s.provider.FindCardPayIn(ctx, CardPayInKey(pi.ID))
	if err == nil {
		return s.applyPayIn(ctx, pi, p)
	}
	if !errors.Is(err, psp.ErrNotFound) {
		return pi, err
	}
	if s.clock.Now().Sub(pi.UpdatedAt) < s.unsentAfter {
		return pi, nil
	}
	return s.cancelUnsent(ctx, pi), nil
}

// cancelUnsent cancels a processing intent whose charge the provider never received or refused
// (conditional: still processing); it returns the intent as it stands.
func (s *Service) cancelUnsent(ctx context.Context, pi Intent) Intent {
	next := pi
	if err := next.Abandon(s.clock.Now()); err != nil {
		return pi
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.UpdateIntent(ctx, next, StatusProcessing)
		if err == nil && !ok {
			err = errStale
		}
		if err != nil {
			return err
		}
		return EmitIntent(ctx, tx, next.ID, next.UpdatedAt)
	})
	if err != nil {
		if !errors.Is(err, errStale) {
			s.log.WarnContext(ctx, "cancel a card intent never charged", slog.String("intent_id", pi.ID), slog.String("err", err.Error()))
		}
		if fresh, err := s.store.Intent(ctx, pi.ID); err == nil {
			return fresh
		}
		return pi
	}
	s.log.InfoContext(ctx, "canceled a card intent the provider never charged", slog.String("intent_id", pi.ID))
	return next
}

// providerError turns a provider refusal into ErrProviderRefused; other errors pass.
func providerError(err error) error {
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) {
		return fmt.Errorf("%w: %s", ErrProviderRefused, rejected.Code)
	}
	return err
}

// applyPayIn moves an open intent to what the pay-in says and reports whether the card must be
// blocked. A pay-in still waiting leaves the intent open: requires_action with the bank's page
// when 3-D Secure is needed (returnURL is the client's), else processing. An intent that is not
// open gives ErrInvalidTransition.
func applyPayIn(pi *Intent, p psp.PayIn, returnURL string, at time.Time) (blockCard bool, err error) {
	switch p.Status {
	case psp.PayInSucceeded:
		return false, pi.MarkSucceeded(at)
	case psp.PayInFailed:
		code, msg := lastError(p.Failure)
		if code == CodeExpired && pi.Status == StatusRequiresAction {
			if err := pi.Expire(at); err != nil {
				return false, err
			}
			pi.LastError.Message = msg
		} else if err := pi.MarkFailed(code, msg, at); err != nil {
			return false, err
		}
		return code == CodeCardBlocked, nil
	default:
		if p.SecureModeNeeded && p.RedirectURL != "" && pi.Status == StatusProcessing {
			return false, pi.RequireAction(p.RedirectURL, returnURL, at)
		}
	}
	return false, nil
}

// lastError maps a provider failure to the intent's last error.
func lastError(f psp.FailureCode) (ErrorCode, string) {
	switch f {
	case psp.FailureAuthenticationFailed:
		return CodeAuthenticationFailed, "3-D Secure authentication failed or was cancelled"
	case psp.FailureCardBlocked:
		return CodeCardBlocked, "the card is blocked: it cannot be used again"
	case psp.FailureExpired:
		return CodeExpired, "3-D Secure authentication was not completed in time"
	case psp.FailureCardDeclined:
		return CodeCardDeclined, "the card was declined"
	default:
		return CodeCardDeclined, "the payment was refused"
	}
}

// refresh re-reads a card intent's pay-in from the provider and applies it (see applyPayIn); an
// intent whose pay-in was never recorded is resumed. Intents of other methods, and final ones,
// come back as they are.
func (s *Service) refresh(ctx context.Context, pi Intent) (Intent, error) {
	if pi.Method != MethodCard || !pi.IsOpen() {
		return pi, nil
	}
	if s.provider == nil {
		return pi, ErrNoProvider
	}
	if pi.ProviderPayInID == "" {
		return s.resume(ctx, pi)
	}
	p, err := s.provider.GetPayIn(ctx, pi.ProviderPayInID)
	if err != nil {
		return pi, err
	}
	return s.applyPayIn(ctx, pi, p)
}

// errStale rolls back a transaction whose conditional update found the intent changed.
var errStale = errors.New("payment intent changed meanwhile")

// applyPayIn applies a pay-in's state to its intent (recording the pay-in id when the intent had
// none), idempotently and in any order:
//   - an open intent follows the pay-in: succeeded (and the order confirmed, in the same
//     transaction), failed (the card blocked too for card_blocked), expired; a waiting pay-in
//     changes nothing but the recorded pay-in id;
//   - a succeeded pay-in whose intent cannot keep it (the intent was canceled, or the order was
//     cancelled or paid otherwise) is refunded once;
//   - a final intent never changes.
func (s *Service) applyPayIn(ctx context.Context, pi Intent, p psp.PayIn) (Intent, error) {
	if !pi.IsOpen() {
		if p.Status == psp.PayInSucceeded && pi.Status != StatusSucceeded {
			if pi.ProviderPayInID == "" {
				pi.ProviderPayInID = p.ID
			}
			refunded, err := s.store.RefundOf(ctx, pi.ID)
			if err != nil {
				return pi, err
			}
			if refunded == "" {
				s.refund(ctx, pi)
			}
		}
		return pi, nil
	}
	at := s.clock.Now()
	next := pi
	next.ProviderPayInID = p.ID
	blockCard, err := applyPayIn(&next, p, pi.ReturnURL, at)
	if err != nil {
		return pi, err
	}
	if next.Status == pi.Status && pi.ProviderPayInID == p.ID {
		return pi, nil // still waiting
	}
	if next.Status == pi.Status {
		next.UpdatedAt = at
	}
	orphan := false
	settled := next
	err = s.store.InTx(ctx, func(tx Tx) error {
		orphan, next = false, settled
		if next.Status == StatusSucceeded && next.CollectionID != "" {
			ok, err := tx.RecoverCollection(ctx, next.CollectionID, next.ID, at)
			if err != nil {
				return err
			}
			if !ok { // recovered by another payment meanwhile: this one is refunded
				orphan = true
				if err := next.Orphan(); err != nil {
					return err
				}
			}
		} else if next.Status == StatusSucceeded {
			err := tx.ConfirmOrder(ctx, next.OrderID, at)
			switch {
			case errors.Is(err, orders.ErrNotPayable):
				orphan = true
				if err := next.Orphan(); err != nil {
					return err
				}
			case err != nil:
				return err
			}
		}
		ok, err := tx.UpdateIntent(ctx, next, StatusRequiresAction, StatusProcessing)
		if err != nil {
			return err
		}
		if !ok {
			return errStale
		}
		if err := s.earnCard(ctx, tx, next); err != nil {
			return err
		}
		if blockCard && next.CardID != "" {
			if err := blockAndEmit(ctx, tx, next.CardID, at); err != nil {
				return err
			}
		}
		if next.Status == pi.Status {
			return nil // only the pay-in id recorded: no transition to tell
		}
		if err := EmitIntent(ctx, tx, next.ID, at); err != nil {
			return err
		}
		if next.Status == StatusSucceeded && next.OrderID != "" {
			return EmitOrder(ctx, tx, "order.confirmed", next.OrderID, at)
		}
		return nil
	})
	if errors.Is(err, errStale) {
		fresh, err := s.store.Intent(ctx, pi.ID)
		if err != nil || fresh.IsOpen() {
			return fresh, err
		}
		return s.applyPayIn(ctx, fresh, p) // final now: refund if it cannot keep the money
	}
	if err != nil {
		return pi, err
	}
	if orphan {
		s.refund(ctx, next)
	}
	return next, nil
}

// intentOfPayIn returns the card intent a provider pay-in belongs to: the one that recorded it,
// else the one its tag names that recorded no other pay-in (its answer was lost). ErrNotFound
// when no intent keeps it.
func (s *Service) intentOfPayIn(ctx context.Context, p psp.PayIn) (Intent, error) {
	pi, err := s.store.IntentByPayIn(ctx, p.ID)
	if !errors.Is(err, ErrNotFound) || p.Tag == "" {
		return pi, err
	}
	pi, err = s.store.Intent(ctx, p.Tag)
	if err != nil {
		return Intent{}, err
	}
	if pi.Method != MethodCard || (pi.ProviderPayInID != "" && pi.ProviderPayInID != p.ID) || pi.Amount != p.Amount {
		return Intent{}, ErrNotFound
	}
	return pi, nil
}
