// Package auth turns a bearer JWT into a Principal: who calls (sub), with which role, for which
// organisation. It knows nothing of HTTP frameworks.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
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
	// verified remembers HS256 tokens already verified (see Verify).
	verified verifiedTokens
}

// verifiedTokens maps HS256 tokens (the exact compact string) to what their verification gave.
// The secret never changes in a process, so a token verified once verifies again until it
// expires; the time-bound checks are the only ones that can change, and they are made again.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	principal Principal
	at        time.Time // when it was verified
	exp       time.Time
}

// maxVerifiedTokens bounds the tokens remembered; when full, the map starts again empty.
const maxVerifiedTokens = 10000

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
//
// An HS256 token verified before is not parsed again while it is certainly still valid: its
// signature, issuer, audience, lifetime and claims cannot have changed (the secret is the
// process's), nbf and iat were reached when it was verified, and the clock has not gone back
// since and is before exp. Otherwise (and for JWKS keys, which may be withdrawn) it is verified
// in full.
func (v *Verifier) Verify(token string) (Principal, error) {
	now := v.now()
	v.verified.mu.RLock()
	c, ok := v.verified.m[token]
	v.verified.mu.RUnlock()
	if ok && !now.Before(c.at) && now.Before(c.exp) {
		return c.principal, nil
	}
	p, hs256, exp, err := v.verify(token)
	if err != nil || !hs256 {
		return p, err
	}
	v.verified.mu.Lock()
	if v.verified.m == nil || len(v.verified.m) >= maxVerifiedTokens {
		v.verified.m = make(map[string]verifiedToken)
	}
	v.verified.m[token] = verifiedToken{principal: p, at: now, exp: exp}
	v.verified.mu.Unlock()
	return p, nil
}

// verify checks a token in full; it reports whether it was an HS256 one and its expiry.
func (v *Verifier) verify(token string) (Principal, bool, time.Time, error) {
	if err := strictShape(token); err != nil {
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	var claims Claims
	t, err := jwt.ParseWithClaims(token, &claims, v.key,
		jwt.WithValidMethods([]string{"HS256", "RS256", "ES256", "EdDSA"}),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if err := v.lifetime(claims); err != nil {
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	p := Principal{Subject: claims.Subject, Role: Role(claims.Role), Org: claims.Org}
	switch {
	case p.Subject == "":
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: no sub", ErrUnauthenticated)
	case !p.Role.Valid():
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: unknown role", ErrUnauthenticated)
	case p.Is(RoleBuyer, RoleCenter) && p.Org == "":
		return Principal{}, false, time.Time{}, fmt.Errorf("%w: role %s needs org", ErrUnauthenticated, p.Role)
	case p.Privileged():
		p.Org = ""
	}
	return p, t.Method.Alg() == "HS256", claims.ExpiresAt.Time, nil
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
