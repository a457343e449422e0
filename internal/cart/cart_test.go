package cart_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vhupay/vhupay/internal/cart"
	"github.com/vhupay/vhupay/internal/clock"
)

const secret = "cart-secret-cart-secret-cart-secret-00"

func TestVerify(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	v, err := cart.NewVerifier(secret, clock.NewManual(now))
	if err != nil {
		t.Fatal(err)
	}
	vat := 550
	c := cart.Claims{CenterID: "ctr_1", DeliveryMode: "pickup", Lines: []cart.Line{{Reference: "R", Label: "L", Quantity: 2, UnitPriceExclVAT: 1234, VATRate: &vat}}}
	tok, err := cart.Sign(secret, "byr_1", c, now, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok, "byr_1")
	if err != nil || got.CenterID != "ctr_1" || got.DeliveryMode != "pickup" || len(got.Lines) != 1 || got.Lines[0].UnitPriceExclVAT != 1234 ||
		*got.Lines[0].VATRate != 550 || got.Lines[0].Quantity != 2 {
		t.Fatalf("Verify = %+v, %v", got, err)
	}

	noIat := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"aud": cart.Audience, "sub": "byr_1", "exp": now.Add(time.Minute).Unix(), "center_id": "ctr_1"})
	noIatTok, _ := noIat.SignedString([]byte(secret))
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"aud": cart.Audience, "sub": "byr_1", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tc := range map[string]struct{ token, buyer string }{
		"another buyer": {tok, "byr_2"},
		"no iat":        {noIatTok, "byr_1"},
		"alg none":      {noneTok, "byr_1"},
		"empty":         {"", "byr_1"},
	} {
		if _, err := v.Verify(tc.token, tc.buyer); !errors.Is(err, cart.ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := cart.NewVerifier("short", clock.Real{}); err == nil {
		t.Error("a short secret was accepted")
	}
}
