package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// CreateLegalUser implements psp.Users. Like MangoPay it refuses an empty name or an e-mail
// without "@" (*psp.RejectedError).
func (p *Provider) CreateLegalUser(ctx context.Context, req psp.LegalUserRequest) (psp.User, error) {
	id, err := p.createUser(ctx, req.IdempotencyKey, User{Name: req.Name, Email: req.Email,
		CompanyNumber: req.CompanyNumber, Kind: req.Kind, Tag: req.Tag})
	if err != nil {
		return psp.User{}, err
	}
	return psp.User{ID: id}, nil
}

// createUser creates a legal user (a payer, or an owner by u.Category) once per idempotency key.
// Like MangoPay it refuses an empty name or an e-mail without "@" (*psp.RejectedError).
func (p *Provider) createUser(ctx context.Context, idempotencyKey string, u User) (string, error) {
	id, _, err := p.create(ctx, "user", idempotencyKey, func(tx Store, id string) error {
		fields := map[string]string{}
		if strings.TrimSpace(u.Name) == "" {
			fields["Name"] = "The Name field is required."
		}
		if !strings.Contains(u.Email, "@") {
			fields["Email"] = "The Email field is not a valid e-mail address."
		}
		if len(fields) > 0 {
			return paramError(fields)
		}
		if u.Kind == "" {
			u.Kind = psp.CompanyBusiness
		}
		u.ID, u.CreatedAt = id, p.clock.Now()
		return tx.CreateUser(ctx, u)
	})
	return id, err
}

// CreateWallet implements psp.Users. An unknown owner is a *psp.RejectedError.
func (p *Provider) CreateWallet(ctx context.Context, req psp.WalletRequest) (psp.Wallet, error) {
	id, _, err := p.create(ctx, "wallet", req.IdempotencyKey, func(tx Store, id string) error {
		if err := p.knownUser(ctx, tx, req.OwnerID, "Owners"); err != nil {
			return err
		}
		desc := req.Description
		if desc == "" {
			desc = "vhupay wallet"
		}
		return tx.CreateWallet(ctx, Wallet{ID: id, OwnerID: req.OwnerID, Description: desc, Tag: req.Tag, CreatedAt: p.clock.Now()})
	})
	if err != nil {
		return psp.Wallet{}, err
	}
	w, err := p.store.Wallet(ctx, id)
	if err != nil {
		return psp.Wallet{}, unavailable("read wallet", err)
	}
	return psp.Wallet{ID: w.ID, OwnerID: w.OwnerID, Balance: w.Balance}, nil
}

// knownUser returns a param_error on field when the user does not exist.
func (p *Provider) knownUser(ctx context.Context, s Store, userID, field string) error {
	if _, err := s.User(ctx, userID); err != nil {
		if errors.Is(err, psp.ErrNotFound) {
			return paramError(map[string]string{field: "The user does not exist."})
		}
		return err
	}
	return nil
}

// CreateCardRegistration implements psp.Cards. The browser posts the card to
// CardRegistrationURL (served by Pages) with AccessKey and PreregistrationData.
func (p *Provider) CreateCardRegistration(ctx context.Context, req psp.CardRegistrationRequest) (psp.CardRegistration, error) {
	id, _, err := p.create(ctx, "cardreg", req.IdempotencyKey, func(tx Store, id string) error {
		if err := p.knownUser(ctx, tx, req.UserID, "UserId"); err != nil {
			return err
		}
		return tx.CreateCardRegistration(ctx, CardRegistration{ID: id, UserID: req.UserID, Status: psp.CardRegistrationCreated,
			AccessKey: randomToken(15), PreregistrationData: randomToken(36), Tag: req.Tag, CreatedAt: p.clock.Now()})
	})
	if err != nil {
		return psp.CardRegistration{}, err
	}
	r, err := p.store.CardRegistration(ctx, id)
	if err != nil {
		return psp.CardRegistration{}, unavailable("read card registration", err)
	}
	return p.toRegistration(r), nil
}

func (p *Provider) toRegistration(r CardRegistration) psp.CardRegistration {
	return psp.CardRegistration{ID: r.ID, UserID: r.UserID, Status: r.Status, AccessKey: r.AccessKey,
		PreregistrationData: r.PreregistrationData, CardRegistrationURL: p.publicURL + cardRegistrationPath + r.ID,
		CardID: r.CardID, ResultCode: r.ResultCode}
}

// Tokenise is what the tokenisation endpoint does with a posted card: it checks the registration's
// secrets and the card, keeps the card's alias, expiry, brand and class (never its number) on the
// registration and returns "data=<token>", or "errorCode=<code>" (TokenBadCredentials,
// TokenDelayExceeded, TokenCardNumber, TokenExpiry, TokenCVX). Only storage failures are errors.
func (p *Provider) Tokenise(ctx context.Context, registrationID string, form TokenisationForm) (string, error) {
	r, err := p.store.CardRegistration(ctx, registrationID)
	switch {
	case errors.Is(err, psp.ErrNotFound):
		return "errorCode=" + TokenBadCredentials, nil
	case err != nil:
		return "", unavailable("read card registration", err)
	}
	if !hmac.Equal([]byte(form.Data), []byte(r.PreregistrationData)) || !hmac.Equal([]byte(form.AccessKeyRef), []byte(r.AccessKey)) {
		return "errorCode=" + TokenBadCredentials, nil
	}
	if r.Status != psp.CardRegistrationCreated {
		return "errorCode=" + TokenDelayExceeded, nil
	}
	number := strings.ReplaceAll(form.CardNumber, " ", "")
	switch {
	case !luhn(number):
		return "errorCode=" + TokenCardNumber, nil
	case !p.notExpired(form.ExpirationDate):
		return "errorCode=" + TokenExpiry, nil
	case !isDigits(form.CVX, 3):
		return "errorCode=" + TokenCVX, nil
	}
	token := randomToken(48)
	class := CardNormal
	switch number {
	case ChallengeCard:
		class = CardChallenge
	case FrictionlessCard:
		class = CardFrictionless
	case DisputeCard:
		class = CardDispute
	}
	mac := hmac.New(sha256.New, p.fpKey)
	mac.Write([]byte(number))
	t := TokenisedCard{TokenHash: hashToken(token), Alias: number[:6] + "XXXXXX" + number[len(number)-4:],
		ExpirationDate: form.ExpirationDate, Brand: brand(number), Class: class, Fingerprint: hex.EncodeToString(mac.Sum(nil)[:16])}
	ok, err := p.store.TokeniseCard(ctx, r.ID, t, p.clock.Now())
	if err != nil {
		return "", unavailable("tokenise card", err)
	}
	if !ok {
		return "errorCode=" + TokenDelayExceeded, nil
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp card tokenised", slog.String("card_registration_id", r.ID), slog.String("alias", t.Alias))
	return "data=" + token, nil
}

// TokenisationForm is the card form a browser posts to CardRegistrationURL. It carries a card
// number: String and LogValue mask it.
type TokenisationForm struct {
	Data           string // PreregistrationData
	AccessKeyRef   string // AccessKey
	CardNumber     string
	ExpirationDate string // MMYY
	CVX            string
}

// LogValue masks the card and the secrets.
func (f TokenisationForm) LogValue() slog.Value { return slog.StringValue(f.String()) }

// String masks the card and the secrets.
func (f TokenisationForm) String() string { return "TokenisationForm{card:***}" }

// GoString masks the card for %#v too.
func (f TokenisationForm) GoString() string { return f.String() }

// CompleteCardRegistration implements psp.Cards. A registrationData that is not the token the
// tokenisation endpoint gave for this registration ends it in error with ResultCode 105206;
// otherwise the card is created (active, validity unknown) and the registration is validated.
// A registration that is not waiting any more is a *psp.RejectedError.
func (p *Provider) CompleteCardRegistration(ctx context.Context, registrationID, registrationData string) (psp.CardRegistration, error) {
	now := p.clock.Now()
	err := p.store.InTx(ctx, func(tx Store) error {
		r, err := tx.CardRegistration(ctx, registrationID)
		if err != nil {
			return err
		}
		if r.Status != psp.CardRegistrationCreated {
			return paramError(map[string]string{"RegistrationData": "This card registration has already been completed."})
		}
		token, hasPrefix := strings.CutPrefix(registrationData, "data=")
		if !hasPrefix || r.Token.TokenHash == "" || !hmac.Equal([]byte(hashToken(token)), []byte(r.Token.TokenHash)) {
			ok, err := tx.CompleteCardRegistration(ctx, r.ID, psp.CardRegistrationError, "", codeBadRegistrationData, now)
			if err == nil && !ok {
				err = paramError(map[string]string{"RegistrationData": "This card registration has already been completed."})
			}
			return err
		}
		card := Card{ID: newID("card"), UserID: r.UserID, RegistrationID: r.ID, Alias: r.Token.Alias,
			ExpirationDate: r.Token.ExpirationDate, Brand: r.Token.Brand, CardType: "CB_VISA_MASTERCARD", Country: "FRA",
			Class: r.Token.Class, Fingerprint: r.Token.Fingerprint, Active: true, Validity: psp.CardValidityUnknown, CreatedAt: now}
		ok, err := tx.CompleteCardRegistration(ctx, r.ID, psp.CardRegistrationValidated, card.ID, codeSuccess, now)
		if err != nil {
			return err
		}
		if !ok {
			return paramError(map[string]string{"RegistrationData": "This card registration has already been completed."})
		}
		return tx.CreateCard(ctx, card)
	})
	if err != nil {
		return psp.CardRegistration{}, unavailable("complete card registration", err)
	}
	r, err := p.store.CardRegistration(ctx, registrationID)
	if err != nil {
		return psp.CardRegistration{}, unavailable("read card registration", err)
	}
	return p.toRegistration(r), nil
}

// GetCard implements psp.Cards.
func (p *Provider) GetCard(ctx context.Context, cardID string) (psp.Card, error) {
	c, err := p.store.Card(ctx, cardID)
	if err != nil {
		return psp.Card{}, unavailable("read card", err)
	}
	return toCard(c), nil
}

// DeactivateCard implements psp.Cards; deactivating an inactive card succeeds.
func (p *Provider) DeactivateCard(ctx context.Context, cardID string) (psp.Card, error) {
	if err := p.store.DeactivateCard(ctx, cardID, false); err != nil {
		return psp.Card{}, unavailable("deactivate card", err)
	}
	return p.GetCard(ctx, cardID)
}

func toCard(c Card) psp.Card {
	return psp.Card{ID: c.ID, UserID: c.UserID, Alias: c.Alias, ExpirationDate: c.ExpirationDate, Brand: c.Brand,
		CardType: c.CardType, Country: c.Country, Active: c.Active, Validity: c.Validity, Fingerprint: c.Fingerprint}
}

func brand(number string) string {
	switch {
	case strings.HasPrefix(number, "4"):
		return "VISA"
	case strings.HasPrefix(number, "5"), strings.HasPrefix(number, "2"):
		return "MASTERCARD"
	default:
		return "CB"
	}
}

// luhn checks a card number: 12 to 19 digits with a valid Luhn check digit.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 || !isDigits(number, len(number)) {
		return false
	}
	sum := 0
	for i := range len(number) {
		d := int(number[len(number)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// notExpired checks an MMYY expiry: a card is valid to the end of its month (UTC), per the clock.
func (p *Provider) notExpired(mmyy string) bool {
	if !isDigits(mmyy, 4) {
		return false
	}
	t, err := time.Parse("0106", mmyy)
	if err != nil {
		return false
	}
	return p.clock.Now().Before(t.AddDate(0, 1, 0))
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
