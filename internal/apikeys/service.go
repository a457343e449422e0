package apikeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// TouchEvery is how stale last_used_at may get: a key used all the time is written at most once
// per TouchEvery, so that authenticated reads do not each become a write.
const TouchEvery = time.Minute

// Centers finds centres (a center key's organisation must exist).
type Centers interface {
	Center(ctx context.Context, id string) (parties.Center, error)
}

// Service creates, lists, revokes and authenticates API keys.
type Service struct {
	store   Store
	centers Centers
	clock   clock.Clock
	log     *slog.Logger
}

// NewService returns a Service; log may be nil.
func NewService(store Store, centers Centers, c clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, centers: centers, clock: c, log: log}
}

// CreateInput is a new key.
type CreateInput struct {
	Name string
	Role auth.Role
	Org  string
}

// Create makes a key and returns it with its secret, which is never shown again. An admin may
// create a service key (no org) or a center key for any centre; a centre only a center key for
// itself (org left out or its own id), with a JWT: an API key creates no key (ErrKeyCreatesKey).
// Errors: a *validation.Error (name, role, org); ErrKeyCreatesKey.
func (s *Service) Create(ctx context.Context, who auth.Principal, in CreateInput) (Key, string, error) {
	if who.APIKeyID != "" {
		return Key{}, "", ErrKeyCreatesKey
	}
	var errs validation.Collector
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		errs.Add("name", "required", "is required")
	case n > 100 || !utf8.ValidString(in.Name):
		errs.Add("name", "max", "at most 100 characters")
	}
	switch who.Role {
	case auth.RoleAdmin:
		switch in.Role {
		case auth.RoleService:
			if in.Org != "" {
				errs.Add("org", "invalid", "a service key has no org")
			}
		case auth.RoleCenter:
			if in.Org == "" {
				errs.Add("org", "required", "a center key needs the centre's id")
			} else if _, err := s.centers.Center(ctx, in.Org); errors.Is(err, parties.ErrNotFound) {
				errs.Add("org", "invalid", "no such centre")
			} else if err != nil {
				return Key{}, "", err
			}
		default:
			errs.Add("role", "oneof", "must be service or center")
		}
	case auth.RoleCenter:
		if in.Role != auth.RoleCenter {
			errs.Add("role", "oneof", "a centre creates center keys only")
		}
		if in.Org != "" && in.Org != who.Org {
			errs.Add("org", "invalid", "a centre creates keys for itself only")
		}
		in.Org = who.Org
	default:
		return Key{}, "", fmt.Errorf("%s callers create no API key: %w", who.Role, ErrNotFound)
	}
	if err := errs.Err(); err != nil {
		return Key{}, "", err
	}
	secret := newSecret()
	now := s.clock.Now()
	k := Key{ID: id.New(id.APIKey), Name: in.Name, Role: in.Role, Org: in.Org, Last4: secret[len(secret)-4:],
		CreatedBy: who.Subject, CreatedAt: now}
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertAPIKey(ctx, k, Hash(secret)); err != nil {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "api_key.create", Actor: who.Actor(), TargetID: k.ID, After: k, At: now})
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// visible reports whether who may see k: an admin every key, a centre its own.
func visible(who auth.Principal, k Key) bool {
	return who.Role == auth.RoleAdmin || (who.Role == auth.RoleCenter && who.Org != "" && k.Org == who.Org)
}

// Key returns a key the caller may see. Errors: ErrNotFound.
func (s *Service) Key(ctx context.Context, who auth.Principal, keyID string) (Key, error) {
	k, err := s.store.APIKey(ctx, keyID)
	if err != nil {
		return Key{}, err
	}
	if !visible(who, k) {
		return Key{}, ErrNotFound
	}
	return k, nil
}

// List lists the keys the caller may see (an admin all, a centre its own), newest first, revoked
// ones included.
func (s *Service) List(ctx context.Context, who auth.Principal, p page.Request) (page.Page[Key], error) {
	switch {
	case who.Role == auth.RoleAdmin:
		return s.store.APIKeys(ctx, "", p)
	case who.Role == auth.RoleCenter && who.Org != "":
		return s.store.APIKeys(ctx, who.Org, p)
	}
	return page.Build([]Key{}, p.Limit, func(k Key) string { return k.ID }), nil
}

// Revoke revokes a key the caller may see, at once; revoking a revoked key changes nothing.
// Errors: ErrNotFound.
func (s *Service) Revoke(ctx context.Context, who auth.Principal, keyID string) (Key, error) {
	before, err := s.Key(ctx, who, keyID)
	if err != nil {
		return Key{}, err
	}
	if before.Revoked() {
		return before, nil
	}
	now := s.clock.Now()
	after := before
	after.RevokedAt = now
	err = s.store.InTx(ctx, func(tx Tx) error {
		changed, err := tx.RevokeAPIKey(ctx, keyID, now)
		if err != nil || !changed {
			return err
		}
		return tx.Audit(ctx, txn.AuditEntry{Action: "api_key.revoke", Actor: who.Actor(), TargetID: keyID, Before: before, After: after, At: now})
	})
	if err != nil {
		return Key{}, err
	}
	return s.Key(ctx, who, keyID)
}

// Authenticate returns the principal of a secret, or an error wrapping auth.ErrUnauthenticated
// for a malformed, unknown or revoked one. It records the use (at most once per TouchEvery).
// Neither the secret nor its digest is ever logged or put in an error.
func (s *Service) Authenticate(ctx context.Context, secret string) (auth.Principal, error) {
	if len(secret) != secretLen || !auth.IsAPIKey(secret) {
		return auth.Principal{}, fmt.Errorf("%w: malformed API key", auth.ErrUnauthenticated)
	}
	k, err := s.store.APIKeyByHash(ctx, Hash(secret))
	if errors.Is(err, ErrNotFound) {
		return auth.Principal{}, fmt.Errorf("%w: unknown API key", auth.ErrUnauthenticated)
	}
	if err != nil {
		return auth.Principal{}, err
	}
	if k.Revoked() {
		return auth.Principal{}, fmt.Errorf("%w: revoked API key", auth.ErrUnauthenticated)
	}
	now := s.clock.Now()
	if k.LastUsedAt.IsZero() || now.Sub(k.LastUsedAt) >= TouchEvery {
		if err := s.store.TouchAPIKey(ctx, k.ID, now, now.Add(-TouchEvery)); err != nil {
			// The request goes on: last_used_at is informative.
			s.log.Warn("api key last_used_at not recorded", slog.String("api_key_id", k.ID), slog.String("err", err.Error()))
		}
	}
	return k.Principal(), nil
}
