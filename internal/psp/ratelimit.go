package psp

import (
	"fmt"
	"time"
)

// ErrRateLimited means the provider refused calls for a while (MangoPay: 429) and the wait until
// its limit resets did not fit the call's context or its wait cap. It wraps ErrUnavailable: retry
// later (with the same idempotency key), no sooner than the state reported by the client's pacer.
var ErrRateLimited = fmt.Errorf("payment provider rate limit reached: %w", ErrUnavailable)

// RateLimit is the provider's own account of its rate limits, as its latest answer gave it.
// MangoPay sends one value per window in each of X-RateLimit (calls made), X-RateLimit-Remaining
// and X-RateLimit-Reset (Unix time); the windows are read in the order given, however many there
// are (15 min, 30 min, 1 h and 24 h today).
type RateLimit struct {
	Windows []RateLimitWindow
	// Limited is true when the answer was a refusal for exceeding the limit (HTTP 429).
	Limited bool
	// ObservedAt is when the answer was read (the client's clock).
	ObservedAt time.Time
}

// RateLimitWindow is one sliding window of the provider's limit.
type RateLimitWindow struct {
	Made      int       // calls counted in the window
	Remaining int       // calls left before the provider answers 429
	Reset     time.Time // when the window has room again
}

// Limit is the window's capacity (made + remaining).
func (w RateLimitWindow) Limit() int { return w.Made + w.Remaining }

// Exhausted reports whether any window has no call left, and the latest reset among those that
// have none (the moment every exhausted window has room again).
func (r RateLimit) Exhausted() (bool, time.Time) {
	var until time.Time
	exhausted := false
	for _, w := range r.Windows {
		if w.Remaining <= 0 {
			exhausted = true
			if w.Reset.After(until) {
				until = w.Reset
			}
		}
	}
	return exhausted, until
}
