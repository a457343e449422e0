// Package apikeys manages API keys: long-lived secrets that partners' back ends and centres'
// systems present as a bearer token instead of a JWT. A key has a role (service or center) and,
// for a centre, its organisation. Only the SHA-256 of the secret is stored, with its last four
// characters to tell keys apart; the secret itself is shown once, when the key is created.
// Revoking a key takes effect at once: every request looks the key up.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/txn"
)

// ErrNotFound is returned for an unknown key, or one of another organisation.
var ErrNotFound = errors.New("api key not found")

// ErrKeyCreatesKey is returned when a caller authenticated with an API key asks for another key:
// keys are made with a person's JWT, so that revoking a leaked key cuts its holder off.
var ErrKeyCreatesKey = errors.New("an API key cannot create API keys")

// Key is an API key, without its secret.
type Key struct {
	ID    string
	Name  string
	Role  auth.Role
	Org   string // the centre of a center key, "" for a service key
	Last4 string
	// CreatedBy is the sub of the caller who created the key.
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: active
}

// Revoked reports whether the key was revoked.
func (k Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Principal is who a request made with the key acts as: sub and api key id are the key's id.
func (k Key) Principal() auth.Principal {
	return auth.Principal{Subject: k.ID, Role: k.Role, Org: k.Org, APIKeyID: k.ID}
}

// secretBytes is the entropy of a secret: 256 bits, so that a plain SHA-256 is a safe digest at
// rest (nothing to brute-force, no salt needed).
const secretBytes = 32

// secretLen is the length of a secret: the prefix and the base64url of secretBytes.
var secretLen = len(auth.APIKeyPrefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

// newSecret returns a fresh secret.
func newSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return auth.APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the digest of a secret as stored: hex SHA-256.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Tx is the unit of work of API keys.
type Tx interface {
	txn.Tx
	InsertAPIKey(ctx context.Context, k Key, hash string) error
	// RevokeAPIKey sets revoked_at of an active key; false when it was already revoked.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (bool, error)
}

// Store keeps API keys.
type Store interface {
	txn.Runner[Tx]
	// APIKey returns a key by id, or ErrNotFound.
	APIKey(ctx context.Context, id string) (Key, error)
	// APIKeyByHash returns the key of a secret's digest, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash string) (Key, error)
	// APIKeys lists keys newest first: those of org when org is not "", all otherwise.
	APIKeys(ctx context.Context, org string, p page.Request) (page.Page[Key], error)
	// TouchAPIKey sets last_used_at to at when it is null or older than before: one conditional
	// update, which does nothing when another request touched the key since.
	TouchAPIKey(ctx context.Context, id string, at, before time.Time) error
}
