package clock

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// OffsetStore persists the test clock's offset so that every vhupay process on one database
// shares one test clock. Implemented by the storage package.
type OffsetStore interface {
	// LoadOffset returns the stored offset (0 when none).
	LoadOffset(ctx context.Context) (time.Duration, error)
	// RaiseOffset stores d unless a larger offset is stored already, and returns the stored offset.
	RaiseOffset(ctx context.Context, d time.Duration) (time.Duration, error)
}

// Shared is the sandbox test clock backed by the database.
type Shared struct {
	*Offset
	store OffsetStore
}

// NewShared returns a test clock on top of base whose offset lives in store.
func NewShared(base Clock, store OffsetStore) *Shared {
	return &Shared{Offset: NewOffset(base), store: store}
}

// Load reads the stored offset.
func (s *Shared) Load(ctx context.Context) error {
	d, err := s.store.LoadOffset(ctx)
	if err != nil {
		return fmt.Errorf("load test clock: %w", err)
	}
	s.SetOffset(d)
	return nil
}

// Move sets the clock to t for every process. Errors: ErrBackwards.
func (s *Shared) Move(ctx context.Context, t time.Time) error {
	t = normalize(t)
	if t.Before(s.Now()) {
		return ErrBackwards
	}
	d, err := s.store.RaiseOffset(ctx, t.Sub(s.base.Now()))
	if err != nil {
		return fmt.Errorf("move test clock: %w", err)
	}
	s.SetOffset(d)
	return nil
}

// Follow polls the stored offset until ctx ends, so that a move made by another process is seen
// within interval.
func (s *Shared) Follow(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Load(ctx); err != nil && ctx.Err() == nil {
				log.Warn("test clock refresh failed", "err", err)
			}
		}
	}
}
