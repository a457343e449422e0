package httpapi

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per key (a caller, a source address), in this process's
// memory: with several instances each allows its own share. Buckets idle for longer than they
// take to refill are dropped, so the map stays as small as the set of recent callers.
type limiters struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newLimiters returns per-key limiters of perSecond requests a second with a burst; perSecond < 0
// turns the limit off.
func newLimiters(perSecond float64, burst int, now func() time.Time) *limiters {
	if now == nil {
		now = time.Now
	}
	return &limiters{every: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket; when none is left it returns false and how long until
// one is.
func (l *limiters) allow(key string) (bool, time.Duration) {
	if l == nil || l.every < 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops the buckets that have been idle long enough to be full again (at most once a minute).
func (l *limiters) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Minute
	if l.every > 0 {
		full += time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
	}
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
}
