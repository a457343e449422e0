package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksServer serves the public keys of an RSA, an EC P-256 and an Ed25519 key.
func jwksServer(t *testing.T, rsaKey *rsa.PrivateKey, ecKey *ecdsa.PrivateKey, edKey ed25519.PrivateKey) *httptest.Server {
	t.Helper()
	pad := func(b []byte, n int) []byte {
		out := make([]byte, n)
		copy(out[n-len(b):], b)
		return out
	}
	keys := []map[string]string{
		{"kty": "RSA", "kid": "rsa1", "alg": "RS256", "use": "sig", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "ec1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(pad(ecKey.X.Bytes(), 32)), "y": b64(pad(ecKey.Y.Bytes(), 32))},
		{"kty": "OKP", "kid": "ed1", "alg": "EdDSA", "use": "sig", "crv": "Ed25519", "x": b64(edKey.Public().(ed25519.PublicKey))},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifyAsymmetricAndSymmetric(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	srv := jwksServer(t, rsaKey, ecKey, edKey)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := "0123456789abcdef0123456789abcdef"
	v, err := NewVerifier(ctx, VerifierConfig{Secret: secret, JWKSURL: srv.URL, Issuer: "vhupay", Audience: "vhupay-api"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(role, org string) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u1", "role": role, "iss": "vhupay", "aud": "vhupay-api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if org != "" {
			c["org"] = org
		}
		return c
	}
	sign := func(m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name  string
		token string
		want  Principal
		ok    bool
	}{
		{"RS256", sign(jwt.SigningMethodRS256, "rsa1", rsaKey, claims("buyer", "byr_1")), Principal{Subject: "u1", Role: RoleBuyer, Org: "byr_1"}, true},
		{"ES256", sign(jwt.SigningMethodES256, "ec1", ecKey, claims("center", "ctr_1")), Principal{Subject: "u1", Role: RoleCenter, Org: "ctr_1"}, true},
		{"EdDSA", sign(jwt.SigningMethodEdDSA, "ed1", edKey, claims("service", "")), Principal{Subject: "u1", Role: RoleService, Org: ""}, true},
		{"HS256", sign(jwt.SigningMethodHS256, "", []byte(secret), claims("admin", "")), Principal{Subject: "u1", Role: RoleAdmin, Org: ""}, true},
		{"admin org is dropped", sign(jwt.SigningMethodHS256, "", []byte(secret), claims("admin", "byr_1")), Principal{Subject: "u1", Role: RoleAdmin, Org: ""}, true},
		{"RS256 by an unknown key", sign(jwt.SigningMethodRS256, "rsa1", otherRSA, claims("buyer", "byr_1")), Principal{}, false},
		{"unknown kid", sign(jwt.SigningMethodRS256, "nope", rsaKey, claims("buyer", "byr_1")), Principal{}, false},
		{"RS384 not accepted", sign(jwt.SigningMethodRS384, "rsa1", rsaKey, claims("buyer", "byr_1")), Principal{}, false},
		{"PS256 not accepted", sign(jwt.SigningMethodPS256, "rsa1", rsaKey, claims("buyer", "byr_1")), Principal{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			p, err := v.Verify(tt.token)
			if tt.ok {
				if err != nil || p != tt.want {
					t.Fatalf("Verify = %+v, %v; want %+v", p, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Verify err = %v, want ErrUnauthenticated", err)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("a refused token stalled the request for %s", time.Since(start))
			}
		})
	}
}

func TestSecretOnlyRefusesAsymmetric(t *testing.T) {
	v, err := NewVerifier(context.Background(), VerifierConfig{Secret: "0123456789abcdef0123456789abcdef", Issuer: "i", Audience: "a"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "u", "role": "admin", "iss": "i", "aud": "a", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(key)
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewVerifier(context.Background(), VerifierConfig{}); err == nil {
		t.Fatal("a verifier without keys must not be built")
	}
}

func TestSignRoundTrip(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	v, _ := NewVerifier(context.Background(), VerifierConfig{Secret: secret, Issuer: "vhupay", Audience: "vhupay-api"})
	want := Principal{Subject: "s", Role: RoleBuyer, Org: "byr_1"}
	tok, err := Sign(secret, "vhupay", "vhupay-api", want, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := v.Verify(tok); err != nil || got != want {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
}

// A token verified once is remembered, but never past its expiry, and not when the clock has
// gone back since it was verified.
func TestVerifiedTokenStillExpires(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	start := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	now := start
	v, err := NewVerifier(context.Background(), VerifierConfig{Secret: secret, Issuer: "vhupay", Audience: "vhupay-api",
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Sign(secret, "vhupay", "vhupay-api", Principal{Subject: "s", Role: RoleBuyer, Org: "byr_1"}, start, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at time.Duration
		ok bool
	}{
		{0, true}, {30 * time.Minute, true}, {-2 * time.Hour, false}, {59 * time.Minute, true},
		{time.Hour + Leeway + time.Second, false}, {30 * time.Minute, true},
	} {
		now = start.Add(step.at)
		p, err := v.Verify(tok)
		if step.ok && (err != nil || p.Org != "byr_1") {
			t.Fatalf("at %s: %v, %v; want the principal", step.at, p, err)
		}
		if !step.ok && err == nil {
			t.Fatalf("at %s: accepted; want refused", step.at)
		}
	}
}
