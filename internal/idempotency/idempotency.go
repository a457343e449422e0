// Package idempotency makes POST requests safe to retry: the first answer to a caller's
// Idempotency-Key is kept and replayed, a key reused for another request is refused, and a key
// whose first request is still running is refused until it ends. Uniqueness comes from the
// database (one row per caller and key), so it holds across processes.
package idempotency

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors.
var (
	// ErrReused: the key was first used with another method, path or body.
	ErrReused = errors.New("idempotency key reused with another request")
	// ErrInUse: the first request with this key is still running.
	ErrInUse = errors.New("idempotency key in use")
	// ErrTaken: a request that writes its record with its own changes (in one transaction) found
	// the key holding a record already; nothing was written, and the key's record decides the
	// answer (Begin: replay, ErrReused or ErrInUse).
	ErrTaken = errors.New("idempotency key holds a record")
)

// Retention is how long an answer is kept (the contract promises at least 24 h).
const Retention = 48 * time.Hour

// Lock is the lease of a running request on its key: how long the key stays held after the last
// renewal. A running request renews it every Lock/3 (Service.Hold), so a request that runs long
// keeps its key, while one whose process was killed, or whose database connection dropped before
// it could free the key, frees it within Lock.
const Lock = 15 * time.Second

// Response is a stored answer.
type Response struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// Record is a key's row.
type Record struct {
	Scope, Key  string
	RequestHash string
	Done        bool
	Response    Response
	CreatedAt   time.Time
	LockedUntil time.Time
	ExpiresAt   time.Time
}

// Store keeps records; it is implemented by the storage package.
type Store interface {
	// Insert adds rec unless a record for (scope, key) exists; it reports whether it inserted and,
	// if not, returns the existing record.
	Insert(ctx context.Context, rec Record) (existing Record, inserted bool, err error)
	// Relock gives a running record whose lock ended before now a new lock; false when someone else did.
	Relock(ctx context.Context, scope, key string, now, until time.Time) (bool, error)
	// Renew moves the lock of a running record still held by the lock that ends at lockedUntil to
	// until; false when the record is no longer held by that lock.
	Renew(ctx context.Context, scope, key string, lockedUntil, until time.Time) (bool, error)
	// Complete stores the answer of a running record.
	// Complete stores the answer of a running record still held by the lock that ends at lockedUntil.
	Complete(ctx context.Context, scope, key string, lockedUntil time.Time, r Response) error
	// Delete removes a record (its request failed in a way that must not be replayed).
	// Delete removes a running record still held by the lock that ends at lockedUntil.
	Delete(ctx context.Context, scope, key string, lockedUntil time.Time) error
	// DeleteExpired removes a record only if it expired before now; it reports whether it did.
	DeleteExpired(ctx context.Context, scope, key string, now time.Time) (bool, error)
	// Purge removes every record that expired before now.
	Purge(ctx context.Context, now time.Time) (int64, error)
}

// Clock tells the real time (never the sandbox test clock: retention is a promise in real time).
type Clock interface{ Now() time.Time }

// Service applies the rules.
type Service struct {
	store Store
	clock Clock
	key   []byte
	lock  time.Duration
}

// NewService returns a Service; key (a server secret) keys the requests' fingerprints, so that a
// stored fingerprint reveals nothing of a body (a bank account's IBAN, say).
func NewService(store Store, clk Clock, key []byte) *Service {
	return &Service{store: store, clock: clk, key: key, lock: Lock}
}

// WithLock sets the lease (default Lock; tests shorten it) and returns s.
func (s *Service) WithLock(d time.Duration) *Service {
	if d > 0 {
		s.lock = d
	}
	return s
}

// Claim is a request's hold on its key: only the holder may complete or abandon it, so that a
// request that outlived its lock (and whose key another request took over) cannot overwrite or
// delete the newer request's record.
type Claim struct {
	Scope, Key string
	lease      *lease
}

// lease is a claim's current lock, moved by Hold's renewals.
type lease struct {
	mu    sync.Mutex
	until time.Time
}

func newLease(until time.Time) *lease { return &lease{until: until} }

func (c Claim) lockedUntil() time.Time {
	if c.lease == nil {
		return time.Time{}
	}
	c.lease.mu.Lock()
	defer c.lease.mu.Unlock()
	return c.lease.until
}

// Done returns the completed record of a request whose answer is written in the same
// transaction as its changes (no running state, no lock): fill its Response and write it with
// the changes; on ErrTaken, answer through Begin.
func (s *Service) Done(scope, key, requestHash string) Record {
	now := s.clock.Now()
	return Record{Scope: scope, Key: key, RequestHash: requestHash, Done: true, CreatedAt: now, LockedUntil: now,
		ExpiresAt: now.Add(Retention)}
}

// Hash fingerprints a request (method, path and body) with the service's key.
func (s *Service) Hash(method, path string, body []byte) string {
	h := hmac.New(sha256.New, s.key)
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Begin claims (scope, key) for a request. It returns a Claim when the caller must run the
// request and then call Complete or Abandon with it; a stored Response to replay; or ErrReused /
// ErrInUse.
func (s *Service) Begin(ctx context.Context, scope, key, requestHash string) (*Response, Claim, error) {
	for attempt := 0; attempt < 3; attempt++ {
		now := s.clock.Now()
		rec := Record{Scope: scope, Key: key, RequestHash: requestHash, CreatedAt: now,
			LockedUntil: now.Add(s.lock), ExpiresAt: now.Add(Retention)}
		existing, inserted, err := s.store.Insert(ctx, rec)
		if err != nil {
			return nil, Claim{}, fmt.Errorf("idempotency begin: %w", err)
		}
		if inserted {
			return nil, Claim{Scope: scope, Key: key, lease: newLease(rec.LockedUntil)}, nil
		}
		if existing.ExpiresAt.Before(now) { // also a record that vanished before it could be read
			if _, err := s.store.DeleteExpired(ctx, scope, key, now); err != nil {
				return nil, Claim{}, fmt.Errorf("idempotency begin: %w", err)
			}
			continue
		}
		if existing.RequestHash != requestHash {
			return nil, Claim{}, ErrReused
		}
		if existing.Done {
			r := existing.Response
			return &r, Claim{}, nil
		}
		if existing.LockedUntil.After(now) {
			return nil, Claim{}, ErrInUse
		}
		until := now.Add(s.lock)
		ok, err := s.store.Relock(ctx, scope, key, now, until)
		if err != nil {
			return nil, Claim{}, fmt.Errorf("idempotency begin: %w", err)
		}
		if !ok {
			return nil, Claim{}, ErrInUse
		}
		return nil, Claim{Scope: scope, Key: key, lease: newLease(until)}, nil
	}
	return nil, Claim{}, ErrInUse
}

// Hold renews the claim's lease every third of the lease until the returned stop is called (before Complete
// or Abandon). A renewal that fails is retried at the next tick; one that finds the key taken over
// stops renewing.
func (s *Service) Hold(c Claim) (stop func()) {
	if c.lease == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(s.lock / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			c.lease.mu.Lock()
			ctx, cancel := context.WithTimeout(context.Background(), s.lock/3)
			until := s.clock.Now().Add(s.lock)
			ok, err := s.store.Renew(ctx, c.Scope, c.Key, c.lease.until, until)
			cancel()
			if err == nil && ok {
				c.lease.until = until
			}
			c.lease.mu.Unlock()
			if err == nil && !ok {
				return // taken over, completed or abandoned
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// Complete stores the answer to replay (nothing, when the claim was taken over meanwhile).
func (s *Service) Complete(ctx context.Context, c Claim, r Response) error {
	return s.store.Complete(ctx, c.Scope, c.Key, c.lockedUntil(), r)
}

// Abandon frees the key so that the request may be retried (server errors are not replayed).
func (s *Service) Abandon(ctx context.Context, c Claim) error {
	return s.store.Delete(ctx, c.Scope, c.Key, c.lockedUntil())
}

// Purge removes expired records.
func (s *Service) Purge(ctx context.Context) (int64, error) { return s.store.Purge(ctx, s.clock.Now()) }
