package sandbox

import (
	"context"
	"crypto/subtle"
	"log/slog"

	"github.com/vhupay/vhupay/internal/psp"
)

// SecureOutcome is the result of a code typed on the 3-D Secure page.
type SecureOutcome struct {
	PayIn     psp.PayIn
	TriesLeft int  // wrong codes the buyer may still type
	Finished  bool // the pay-in ended (succeeded or failed): send the browser back
}

// SubmitSecureCode is the buyer typing a code on the 3-D Secure page of a pay-in waiting for it.
// SecureCode succeeds the pay-in. A wrong code counts one try; the MaxSecureTries-th fails the
// pay-in with 101111 (card_blocked) and blocks the card (inactive, invalid), so that any later
// pay-in on it fails. Each change is one conditional update in the database: concurrent posts
// cannot both succeed nor count more than MaxSecureTries wrong codes. ErrFinished when the pay-in
// is not waiting for 3-D Secure; psp.ErrNotFound.
func (p *Provider) SubmitSecureCode(ctx context.Context, payInID, code string) (SecureOutcome, error) {
	var out SecureOutcome
	var events []psp.Notification
	err := p.store.InTx(ctx, func(tx Store) error {
		out, events = SecureOutcome{}, nil
		pi, err := p.waitingPayIn(ctx, tx, payInID)
		if err != nil {
			return err
		}
		now := p.clock.Now()
		if subtle.ConstantTimeCompare([]byte(code), []byte(SecureCode)) == 1 {
			status, err := p.finishPayIn(ctx, tx, pi, codeSuccess, "Success", now)
			if err != nil {
				return err
			}
			out.Finished = true
			events = append(events, payInEvent(pi.ID, status))
			return nil
		}
		tries, ok, err := tx.AddWrongSecureCode(ctx, pi.ID, MaxSecureTries, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrFinished
		}
		out.TriesLeft = MaxSecureTries - tries
		if tries < MaxSecureTries {
			return nil
		}
		status, err := p.finishPayIn(ctx, tx, pi, codeMaxAttempts, "Maximum number of attempts reached", now)
		if err != nil {
			return err
		}
		if err := tx.DeactivateCard(ctx, pi.CardID, true); err != nil {
			return err
		}
		out.Finished = true
		events = append(events, payInEvent(pi.ID, status))
		return nil
	})
	if err != nil {
		return SecureOutcome{}, unavailable("3-D Secure", err)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp 3-D Secure code", slog.String("pay_in_id", payInID),
		slog.Bool("finished", out.Finished), slog.Int("tries_left", out.TriesLeft))
	p.emit(ctx, events...)
	out.PayIn, err = p.GetPayIn(ctx, payInID)
	return out, err
}

// CancelSecureMode is the buyer pressing "Annuler" on the 3-D Secure page: the pay-in fails with
// 101301 (authentication_failed). ErrFinished when it is not waiting for 3-D Secure;
// psp.ErrNotFound.
func (p *Provider) CancelSecureMode(ctx context.Context, payInID string) (psp.PayIn, error) {
	var events []psp.Notification
	err := p.store.InTx(ctx, func(tx Store) error {
		events = nil
		pi, err := p.waitingPayIn(ctx, tx, payInID)
		if err != nil {
			return err
		}
		status, err := p.finishPayIn(ctx, tx, pi, codeAuthFailed, "3DSecure authentication cancelled by the user", p.clock.Now())
		if err != nil {
			return err
		}
		events = append(events, payInEvent(pi.ID, status))
		return nil
	})
	if err != nil {
		return psp.PayIn{}, unavailable("3-D Secure", err)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp 3-D Secure cancelled", slog.String("pay_in_id", payInID))
	p.emit(ctx, events...)
	return p.GetPayIn(ctx, payInID)
}

func (p *Provider) waitingPayIn(ctx context.Context, tx Store, id string) (PayIn, error) {
	pi, err := tx.PayIn(ctx, id)
	if err != nil {
		return PayIn{}, err
	}
	if pi.Method != psp.PayInCard || pi.Status != psp.PayInCreated || !pi.SecureModeNeeded {
		return PayIn{}, ErrFinished
	}
	return pi, nil
}
