// Package cart verifies signed carts: the order lines and centre that the marketplace back end
// (the party that owns the prices) signs for one buyer, so that a buyer's front end can create the
// order itself without being able to change a price.
//
// A signed cart is a compact JWS (RFC 7515) signed with HS256 and the secret shared with the
// marketplace back end (VHUPAY_CART_SECRET), whose payload is:
//
//	{"aud": "vhupay-cart", "sub": "<buyer id>", "iat": <unix>, "exp": <unix, at most 15 min after iat>,
//	 "center_id": "ctr_…", "delivery_mode": "delivery"|"pickup" (optional),
//	 "lines": [{"reference", "label", "quantity", "unit_price_excl_vat", "vat_rate"?}]}
//
// The cart is bound to its buyer (sub), so that one buyer cannot use another's, and short-lived,
// so that a price change reaches buyers within minutes.
package cart

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/orders"
)

// Audience is the aud claim of every signed cart (a vhupay API token is not a cart).
const Audience = "vhupay-cart"

// MaxLifetime is the longest a cart may be valid (exp − iat).
const MaxLifetime = 15 * time.Minute

// Leeway is the tolerance on exp and iat between the marketplace's clock and vhupay's.
const Leeway = 30 * time.Second

// Line is one line of a cart as signed.
type Line struct {
	Reference        string `json:"reference"`
	Label            string `json:"label"`
	Quantity         int    `json:"quantity"`
	UnitPriceExclVAT int64  `json:"unit_price_excl_vat"`
	VATRate          *int   `json:"vat_rate,omitempty"`
}

// Claims are a signed cart's payload.
type Claims struct {
	CenterID     string `json:"center_id"`
	DeliveryMode string `json:"delivery_mode,omitempty"`
	Lines        []Line `json:"lines"`
	jwt.RegisteredClaims
}

// Verifier checks signed carts; it implements orders.Carts.
type Verifier struct {
	secret []byte
	clock  clock.Clock
}

var _ orders.Carts = (*Verifier)(nil)

// NewVerifier returns a Verifier of carts signed with secret (at least 32 bytes). clk is the real
// clock (the marketplace signs with real time, never the sandbox test clock).
func NewVerifier(secret string, clk clock.Clock) (*Verifier, error) {
	if len(secret) < 32 {
		return nil, errors.New("cart: the secret must be at least 32 characters")
	}
	return &Verifier{secret: []byte(secret), clock: clk}, nil
}

// ErrInvalid wraps every reason a cart is refused.
var ErrInvalid = errors.New("invalid signed cart")

// Verify implements orders.Carts: the cart's centre, delivery mode and lines when token is a cart
// signed with the secret, for buyerID, not expired and valid at most MaxLifetime; an error
// wrapping ErrInvalid otherwise.
func (v *Verifier) Verify(token, buyerID string) (orders.SignedCart, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.secret, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithAudience(Audience),
		jwt.WithSubject(buyerID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(v.clock.Now),
	)
	if err != nil {
		return orders.SignedCart{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime {
		return orders.SignedCart{}, fmt.Errorf("%w: iat is required and exp at most %s after it", ErrInvalid, MaxLifetime)
	}
	out := orders.SignedCart{CenterID: c.CenterID, DeliveryMode: orders.DeliveryMode(c.DeliveryMode), Lines: make([]orders.LineInput, len(c.Lines))}
	for i, l := range c.Lines {
		out.Lines[i] = orders.LineInput{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity, UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate}
	}
	return out, nil
}

// Sign makes a signed cart for buyerID valid for ttl (at most MaxLifetime) from now: what the
// marketplace back end does (tests, the demo).
func Sign(secret, buyerID string, c Claims, now time.Time, ttl time.Duration) (string, error) {
	c.Subject = buyerID
	c.Audience = jwt.ClaimStrings{Audience}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}
