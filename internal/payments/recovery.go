package payments

import (
	"context"
	"errors"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/validation"
)

// payCollection pays a buyer's failed SEPA collection by card (DOMAIN-2.md, recovery by card):
// a card intent with CollectionID and no order, for the collection's amount, through the card
// path (recorded, then charged, 3-D Secure as any card payment). Its success recovers the
// collection (see Tx.RecoverCollection). Errors: a *validation.Error on collection_id (unknown,
// or another buyer's), ErrCollectionNotPayable (not failed), the card path's.
func (s *Service) payCollection(ctx context.Context, buyerID string, in CreateInput, browser psp.BrowserInfo, ip string) (Intent, error) {
	c, err := s.store.RecoverableCollection(ctx, in.CollectionID)
	if errors.Is(err, ErrNotFound) || (err == nil && c.BuyerID != buyerID) {
		return Intent{}, validation.Field("collection_id", "unknown", "no such collection for this buyer")
	}
	if err != nil {
		return Intent{}, err
	}
	if !c.Failed || c.Amount <= 0 {
		return Intent{}, ErrCollectionNotPayable
	}
	now := s.clock.Now()
	pi := Intent{ID: id.New(id.PaymentIntent), CollectionID: in.CollectionID, BuyerID: buyerID, Amount: c.Amount,
		Currency: money.EUR, Method: MethodCard, CreatedAt: now, UpdatedAt: now}
	return s.payByCard(ctx, pi, in.Card, in.RequestKey, browser, ip)
}

// recordRecovery writes a recovery payment in tx: the collection must still be failed (held
// until the unit ends), then the intent and its event.
func (s *Service) recordRecovery(ctx context.Context, tx Tx, pi *Intent) error {
	if err := tx.HoldFailedCollection(ctx, pi.CollectionID, pi.BuyerID, pi.UpdatedAt); err != nil {
		return err
	}
	if err := tx.InsertIntent(ctx, *pi); err != nil {
		return err
	}
	return EmitIntent(ctx, tx, pi.ID, pi.UpdatedAt)
}
