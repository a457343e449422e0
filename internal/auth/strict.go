package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of the checks the JWT library leaves out.
var (
	errCritical   = errors.New("token has a crit header (no extension is understood)")
	errNotNumeric = errors.New("token has a time claim that is not a number")
	errLifetime   = errors.New("token lifetime exceeds the maximum")
)

// strictShape refuses what RFC 7515 and 7519 say must be refused and the JWT library accepts: a
// crit header (vhupay understands no extension, so any listed one is unknown) and exp, nbf or iat
// that are not JSON numbers (the library also reads "1700000000" as a string).
func strictShape(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil // the library says what is wrong
	}
	var header map[string]json.RawMessage
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil && json.Unmarshal(b, &header) == nil {
		if _, ok := header["crit"]; ok {
			return errCritical
		}
	}
	var claims map[string]json.RawMessage
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(b, &claims) == nil {
		for _, name := range []string{"exp", "nbf", "iat"} {
			raw, ok := claims[name]
			if !ok {
				continue
			}
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
				return fmt.Errorf("%w: %s", errNotNumeric, name)
			}
		}
	}
	return nil
}

// lifetime refuses a token valid for longer than the maximum: exp - iat, or exp - now without iat.
func (v *Verifier) lifetime(c Claims) error {
	if c.ExpiresAt == nil {
		return nil // refused by the library (exp is required)
	}
	from := v.now()
	if c.IssuedAt != nil {
		from = c.IssuedAt.Time
	}
	if life := c.ExpiresAt.Sub(from); life > v.maxLifetime+Leeway {
		return fmt.Errorf("%w: %s > %s", errLifetime, life.Round(time.Second), v.maxLifetime)
	}
	return nil
}

// Reason names why a token was refused in a few words, for the log (never for the caller).
func Reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable (algorithm or key not accepted)"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, errCritical):
		return "unknown crit header"
	case errors.Is(err, errNotNumeric):
		return "time claim not numeric"
	case errors.Is(err, errLifetime):
		return "lifetime too long"
	}
	return "invalid claims"
}
