// Package auth turns a bearer JWT into a Principal: who calls (sub), with which role, for which
// organisation. It knows nothing of HTTP frameworks.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Role is what a caller may do.
type Role string

// The roles.
const (
	RoleBuyer   Role = "buyer"
	RoleCenter  Role = "center"
	RoleAdmin   Role = "admin"
	RoleService Role = "service"
)

// Roles lists every role.
var Roles = []Role{RoleBuyer, RoleCenter, RoleAdmin, RoleService}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleBuyer, RoleCenter, RoleAdmin, RoleService:
		return true
	}
	return false
}

// Principal is an authenticated caller.
type Principal struct {
	Subject string
	Role    Role
	// Org is the buyer id for a buyer, the centre id for a centre, "" otherwise.
	Org string
	// APIKeyID is the API key the caller authenticated with ("" for a JWT).
	APIKeyID string
}

// Is reports whether the principal has one of the roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// Privileged reports whether the principal acts for the platform (admin or service).
func (p Principal) Privileged() bool { return p.Is(RoleAdmin, RoleService) }

// Scope identifies the caller for idempotency keys and rate limits.
func (p Principal) Scope() string { return p.Subject + "|" + p.Org }

// ErrUnauthenticated is returned for a missing, malformed, badly signed or expired token.
var ErrUnauthenticated = errors.New("unauthenticated")

// Claims are vhupay's JWT claims.
type Claims struct {
	Role string `json:"role"`
	Org  string `json:"org,omitempty"`
	jwt.RegisteredClaims
}

// Leeway is the tolerance on exp, nbf and iat.
const Leeway = 60 * time.Second

// Verifier checks tokens signed with an HS256 secret and/or keys from a JWKS URL.
type Verifier struct {
	secret   []byte
	jwks     keyfunc.Keyfunc
	issuer   string
	audience string
	now      func() time.Time
	// maxLifetime bounds exp - iat (exp - now without iat).
	maxLifetime time.Duration
}

// DefaultMaxLifetime is the longest token lifetime accepted unless configured otherwise.
const DefaultMaxLifetime = 24 * time.Hour

// VerifierConfig configures a Verifier. At least one of Secret and JWKSURL is needed.
type VerifierConfig struct {
	Secret   string
	JWKSURL  string
	Issuer   string
	Audience string
	// Now is the real time (never the sandbox test clock); nil means time.Now.
	Now func() time.Time
	// MaxLifetime is the longest lifetime (exp - iat) accepted; 0 means DefaultMaxLifetime.
	MaxLifetime time.Duration
}

// NewVerifier builds a Verifier. With a JWKS URL it starts a background refresh that stops with ctx.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{secret: []byte(cfg.Secret), issuer: cfg.Issuer, audience: cfg.Audience, now: cfg.Now, maxLifetime: cfg.MaxLifetime}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxLifetime <= 0 {
		v.maxLifetime = DefaultMaxLifetime
	}
	if cfg.Secret == "" && cfg.JWKSURL == "" {
		return nil, errors.New("auth: a secret or a JWKS URL is needed")
	}
	if cfg.JWKSURL != "" {
		noErr := true
		k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			HTTPTimeout: 5 * time.Second,
			// An unknown kid may trigger a refresh at most every 10 s, and a request waits at most
			// 200 ms for it: a forged kid cannot stall requests.
			RefreshUnknownKID:         rate.NewLimiter(rate.Every(10*time.Second), 1),
			RateLimitWaitMax:          200 * time.Millisecond,
			NoErrorReturnFirstHTTPReq: &noErr, // a JWKS outage at start-up must not stop the service
		})
		if err != nil {
			return nil, fmt.Errorf("auth: JWKS %s: %w", cfg.JWKSURL, err)
		}
		v.jwks = k
	}
	return v, nil
}

// Verify checks a compact JWT and returns its principal, or an error wrapping ErrUnauthenticated.
func (v *Verifier) Verify(token string) (Principal, error) {
	if err := strictShape(token); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	var claims Claims
	_, err := jwt.ParseWithClaims(token, &claims, v.key,
		jwt.WithValidMethods([]string{"HS256", "RS256", "ES256", "EdDSA"}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if err := v.lifetime(claims); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	p := Principal{Subject: claims.Subject, Role: Role(claims.Role), Org: claims.Org}
	switch {
	case p.Subject == "":
		return Principal{}, fmt.Errorf("%w: no sub", ErrUnauthenticated)
	case !p.Role.Valid():
		return Principal{}, fmt.Errorf("%w: unknown role", ErrUnauthenticated)
	case p.Is(RoleBuyer, RoleCenter) && p.Org == "":
		return Principal{}, fmt.Errorf("%w: role %s needs org", ErrUnauthenticated, p.Role)
	case p.Privileged():
		p.Org = ""
	}
	return p, nil
}

func (v *Verifier) key(t *jwt.Token) (any, error) {
	if t.Method.Alg() == "HS256" {
		if len(v.secret) == 0 {
			return nil, errors.New("HS256 not accepted")
		}
		return v.secret, nil
	}
	if v.jwks == nil {
		return nil, errors.New("asymmetric tokens not accepted")
	}
	return v.jwks.Keyfunc(t)
}

// Sign makes an HS256 token for a principal (the `vhupay token` and `demo` commands, and tests).
func Sign(secret, issuer, audience string, p Principal, now time.Time, ttl time.Duration) (string, error) {
	claims := Claims{
		Role: string(p.Role),
		Org:  p.Org,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.Subject,
			Issuer:    issuer,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// NewSecret returns a fresh random HS256 secret.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
