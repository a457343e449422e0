package mangopaytest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The rate limit, as Mangopay/docs api-reference/overview/rate-limiting.mdx describes it: sliding
// windows (a "leaky bucket"), over which calls answer 429 {"Type": "rate_limit"}; every answer
// carries X-RateLimit (calls made), X-RateLimit-Remaining and X-RateLimit-Reset (Unix time), each
// with one comma-separated value per window. There is no Retry-After.

const rateLimitMessage = "Rate limit exceeded. Please contact support for more assistance"

// rateLimited counts an API call, or refuses it with 429 when a window is full; both answers carry
// the headers.
func (s *Server) rateLimited(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.pruneCounted(now)
	for _, l := range s.limits {
		if s.madeIn(l, now) >= l.Calls {
			s.limitHeaders(w.Header(), time.Time{})
			s.write(w, s.apiError(http.StatusTooManyRequests, "rate_limit", rateLimitMessage, nil))
			s.limited++
			return true
		}
	}
	s.counted = append(s.counted, now)
	s.limitHeaders(w.Header(), time.Time{})
	return false
}

// SetRateLimits replaces the windows of the rate limit and forgets the calls counted and refused
// so far: a test seeds its data with a lifted limit, then runs the code under test against a
// tight one.
func (s *Server) SetRateLimits(limits []RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append([]RateLimit(nil), limits...)
	s.counted = nil
	s.limited = 0
}

// RateLimited is how many calls the rate limit refused (faults excluded).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// pruneCounted forgets calls older than the longest window; callers hold mu.
func (s *Server) pruneCounted(now time.Time) {
	var longest time.Duration
	for _, l := range s.limits {
		longest = max(longest, l.Period)
	}
	i := sort.Search(len(s.counted), func(i int) bool { return now.Sub(s.counted[i]) < longest })
	s.counted = s.counted[i:]
}

// firstIn is the index of the oldest counted call inside l's window; callers hold mu.
func (s *Server) firstIn(l RateLimit, now time.Time) int {
	return sort.Search(len(s.counted), func(i int) bool { return now.Sub(s.counted[i]) < l.Period })
}

func (s *Server) madeIn(l RateLimit, now time.Time) int { return len(s.counted) - s.firstIn(l, now) }

// limitHeaders writes the rate-limit headers. exhaustedUntil, when set (a 429 fault), shows the
// first window full until then.
func (s *Server) limitHeaders(h http.Header, exhaustedUntil time.Time) {
	now := s.clock.Now()
	made, remaining, reset := make([]string, len(s.limits)), make([]string, len(s.limits)), make([]string, len(s.limits))
	for i, l := range s.limits {
		first := s.firstIn(l, now)
		n := len(s.counted) - first
		at := now.Add(l.Period)
		if n > 0 {
			at = s.counted[first].Add(l.Period) // when the oldest call leaves the window
		}
		if i == 0 && !exhaustedUntil.IsZero() {
			n, at = l.Calls, exhaustedUntil
		}
		made[i], remaining[i] = strconv.Itoa(n), strconv.Itoa(max(l.Calls-n, 0))
		reset[i] = strconv.FormatInt(at.Unix(), 10)
	}
	h.Set("X-RateLimit", strings.Join(made, ", "))
	h.Set("X-RateLimit-Remaining", strings.Join(remaining, ", "))
	h.Set("X-RateLimit-Reset", strings.Join(reset, ", "))
}
