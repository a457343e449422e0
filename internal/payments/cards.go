package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/validation"
)

// Errors of cards and card registrations.
var (
	// ErrCardNotFound: no such card, or another buyer's (not_found).
	ErrCardNotFound = errors.New("card not found")
	// ErrRegistrationNotFound: no such card registration, or another buyer's (not_found).
	ErrRegistrationNotFound = errors.New("card registration not found")
	// ErrCardRegistrationFailed: the provider refused the tokenised card (card_registration_failed).
	ErrCardRegistrationFailed = errors.New("the payment provider refused the card")
)

// CardStatus is whether a card may pay.
type CardStatus string

// The statuses of a card. Blocked (after failed 3-D Secure codes) and inactive (deleted) are final.
const (
	CardActive   CardStatus = "active"
	CardBlocked  CardStatus = "blocked"
	CardInactive CardStatus = "inactive"
)

// Card is a buyer's card, tokenised at the provider. Alias is the masked number
// ("497010XXXXXX0154"), Expiration MMYY. vhupay never holds the card number.
type Card struct {
	ID         string
	BuyerID    string
	ProviderID string
	Alias      string
	Expiration string
	Brand      string
	Status     CardStatus
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RegistrationStatus is where a card registration stands.
type RegistrationStatus string

// The statuses of a card registration.
const (
	RegistrationCreated   RegistrationStatus = "created"
	RegistrationValidated RegistrationStatus = "validated"
	RegistrationError     RegistrationStatus = "error"
)

// CardRegistration is the registration of one card. CardRegistrationURL, PreregistrationData and
// AccessKey are handed to the buyer's browser once, when the registration is created; they are
// never stored and are masked in logs.
type CardRegistration struct {
	ID                  string
	BuyerID             string
	ProviderID          string
	Status              RegistrationStatus
	CardID              string // set once validated
	CardRegistrationURL string
	PreregistrationData string
	AccessKey           string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// LogValue masks the tokenisation secrets.
func (r CardRegistration) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("buyer_id", r.BuyerID),
		slog.String("status", string(r.Status)), slog.String("card_id", r.CardID))
}

// String masks the tokenisation secrets.
func (r CardRegistration) String() string {
	return fmt.Sprintf("CardRegistration{ID:%s Status:%s CardID:%s}", r.ID, r.Status, r.CardID)
}

// GoString masks the tokenisation secrets for %#v too.
func (r CardRegistration) GoString() string { return r.String() }

// buyerOnly returns the caller's buyer id; cards belong to buyers only.
func buyerOnly(who auth.Principal) (string, bool) {
	return who.Org, who.Role == auth.RoleBuyer && who.Org != ""
}

// CreateCardRegistration starts registering a card for the calling buyer: the provider user is
// created when missing, then a registration whose URL and secrets go to the browser.
// Errors: ErrRegistrationNotFound (the caller is not a buyer), psp.ErrUnavailable (ErrNoProvider,
// ErrProviderRefused).
func (s *Service) CreateCardRegistration(ctx context.Context, who auth.Principal) (CardRegistration, error) {
	buyerID, ok := buyerOnly(who)
	if !ok {
		return CardRegistration{}, ErrRegistrationNotFound
	}
	if s.provider == nil {
		return CardRegistration{}, ErrNoProvider
	}
	payer, err := s.payers.Ensure(ctx, buyerID)
	if err != nil {
		return CardRegistration{}, providerError(err)
	}
	r := CardRegistration{ID: id.New(id.CardRegistration), BuyerID: buyerID, Status: RegistrationCreated}
	reg, err := s.provider.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: r.ID, UserID: payer.UserID, Tag: r.ID})
	if err != nil {
		return CardRegistration{}, providerError(err)
	}
	r.ProviderID, r.CardRegistrationURL, r.PreregistrationData, r.AccessKey = reg.ID, reg.CardRegistrationURL, reg.PreregistrationData, reg.AccessKey
	r.CreatedAt = s.clock.Now()
	r.UpdatedAt = r.CreatedAt
	if err := s.store.InsertCardRegistration(ctx, r); err != nil {
		return CardRegistration{}, err
	}
	return r, nil
}

// MaxRegistrationDataLength bounds registration_data (our choice).
const MaxRegistrationDataLength = 4096

// CompleteCardRegistration hands the browser's tokenisation answer ("data=...") to the provider
// and, when it accepts it, keeps the card: the registration becomes validated with its CardID.
// Completing a validated registration again returns it unchanged. Errors: *validation.Error on
// "registration_data"; ErrRegistrationNotFound; ErrCardRegistrationFailed (the provider refused
// the token, or the registration failed before); psp.ErrUnavailable.
func (s *Service) CompleteCardRegistration(ctx context.Context, who auth.Principal, registrationID, data string) (CardRegistration, error) {
	buyerID, ok := buyerOnly(who)
	if !ok {
		return CardRegistration{}, ErrRegistrationNotFound
	}
	if strings.TrimSpace(data) == "" {
		return CardRegistration{}, validation.Field("registration_data", "required", "is required")
	}
	if len(data) > MaxRegistrationDataLength {
		return CardRegistration{}, validation.Field("registration_data", "max", fmt.Sprintf("must be at most %d characters", MaxRegistrationDataLength))
	}
	r, err := s.store.CardRegistration(ctx, registrationID)
	if err != nil {
		return CardRegistration{}, err
	}
	if r.BuyerID != buyerID {
		return CardRegistration{}, ErrRegistrationNotFound
	}
	switch r.Status {
	case RegistrationValidated:
		return r, nil
	case RegistrationError:
		return CardRegistration{}, ErrCardRegistrationFailed
	}
	if s.provider == nil {
		return CardRegistration{}, ErrNoProvider
	}
	reg, err := s.provider.CompleteCardRegistration(ctx, r.ProviderID, data)
	var rejected *psp.RejectedError
	if errors.As(err, &rejected) || (err == nil && reg.Status != psp.CardRegistrationValidated) {
		if ferr := s.store.FailCardRegistration(ctx, r.ID, s.clock.Now()); ferr != nil {
			return CardRegistration{}, ferr
		}
		return CardRegistration{}, ErrCardRegistrationFailed
	}
	if err != nil {
		return CardRegistration{}, err
	}
	pc, err := s.provider.GetCard(ctx, reg.CardID)
	if err != nil {
		return CardRegistration{}, providerError(err)
	}
	now := s.clock.Now()
	status := CardActive
	if !pc.Active {
		status = CardInactive
	}
	c, err := s.store.ValidateCardRegistration(ctx, r.ID, Card{ID: id.New(id.Card), BuyerID: buyerID, ProviderID: pc.ID,
		Alias: pc.Alias, Expiration: pc.ExpirationDate, Brand: pc.Brand, Status: status, CreatedAt: now, UpdatedAt: now}, now)
	if err != nil {
		return CardRegistration{}, err
	}
	r.Status, r.CardID, r.UpdatedAt = RegistrationValidated, c.ID, now
	return r, nil
}

// Card returns one of the calling buyer's cards. Errors: ErrCardNotFound.
func (s *Service) Card(ctx context.Context, who auth.Principal, cardID string) (Card, error) {
	buyerID, ok := buyerOnly(who)
	if !ok {
		return Card{}, ErrCardNotFound
	}
	c, err := s.store.Card(ctx, cardID)
	if err != nil {
		return Card{}, err
	}
	if c.BuyerID != buyerID {
		return Card{}, ErrCardNotFound
	}
	return c, nil
}

// Cards lists the calling buyer's cards, newest first, whatever their status.
func (s *Service) Cards(ctx context.Context, who auth.Principal, p page.Request) (page.Page[Card], error) {
	buyerID, ok := buyerOnly(who)
	if !ok {
		return page.Page[Card]{Items: []Card{}}, nil
	}
	return s.store.Cards(ctx, buyerID, p)
}

// DeleteCard deactivates one of the calling buyer's cards at the provider, then marks it
// inactive. Deleting an inactive card does nothing. Errors: ErrCardNotFound, psp.ErrUnavailable.
func (s *Service) DeleteCard(ctx context.Context, who auth.Principal, cardID string) error {
	c, err := s.Card(ctx, who, cardID)
	if err != nil {
		return err
	}
	if c.Status == CardInactive {
		return nil
	}
	if s.provider == nil {
		return ErrNoProvider
	}
	if _, err := s.provider.DeactivateCard(ctx, c.ProviderID); err != nil && !errors.Is(err, psp.ErrNotFound) {
		return providerError(err)
	}
	return s.store.DeactivateCard(ctx, c.ID, s.clock.Now())
}
