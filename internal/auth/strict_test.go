package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyRefusesWhatTheLibraryAccepts: an unknown crit header, a time claim given as a string
// and a lifetime above the maximum are refused, each with a reason for the log.
func TestVerifyRefusesWhatTheLibraryAccepts(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	v, err := NewVerifier(context.Background(), VerifierConfig{Secret: secret, Issuer: "vhupay", Audience: "vhupay-api",
		Now: func() time.Time { return now }, MaxLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(header map[string]any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		for k, val := range header {
			tok.Header[k] = val
		}
		s, err := tok.SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "u1", "role": "admin", "iss": "vhupay", "aud": "vhupay-api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	if _, err := v.Verify(sign(nil, base())); err != nil {
		t.Fatalf("a plain token: %v", err)
	}
	cases := []struct {
		name, reason string
		header       map[string]any
		claims       func(c jwt.MapClaims)
	}{
		{"crit", "unknown crit header", map[string]any{"crit": []string{"exp-ext"}, "exp-ext": true}, nil},
		{"exp as a string", "time claim not numeric", nil, func(c jwt.MapClaims) { c["exp"] = "1793786400" }},
		{"iat as a string", "time claim not numeric", nil, func(c jwt.MapClaims) { c["iat"] = "1793782800" }},
		{"lifetime 3h", "lifetime too long", nil, func(c jwt.MapClaims) { c["exp"] = now.Add(3 * time.Hour).Unix() }},
		{"no iat, 3h left", "lifetime too long", nil, func(c jwt.MapClaims) { delete(c, "iat"); c["exp"] = now.Add(3 * time.Hour).Unix() }},
		{"expired", "expired", nil, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }},
		{"wrong audience", "wrong audience", nil, func(c jwt.MapClaims) { c["aud"] = "other" }},
	}
	for _, tc := range cases {
		c := base()
		if tc.claims != nil {
			tc.claims(c)
		}
		_, err := v.Verify(sign(tc.header, c))
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: err = %v, want ErrUnauthenticated", tc.name, err)
			continue
		}
		if got := Reason(err); got != tc.reason {
			t.Errorf("%s: reason %q, want %q (%v)", tc.name, got, tc.reason, err)
		}
	}
	other := jwt.NewWithClaims(jwt.SigningMethodHS256, base())
	bad, _ := other.SignedString([]byte("another-secret-another-secret-000"))
	if _, err := v.Verify(bad); Reason(err) != "bad signature" {
		t.Errorf("bad signature: reason %q (%v)", Reason(err), err)
	}
}
