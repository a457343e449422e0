// Package pacing spreads a payment provider's calls over time under a budget shared by every
// process on the database: MangoPay allows about 2,300 calls per 15 minutes per client, whatever
// process makes them, and a month close of 20,000 buyers would exhaust that within minutes.
//
// The budget is a virtual scheduler (GCRA, the token bucket's equivalent kept in one number): the
// store keeps the moment the next call may go out, and every call takes its slot by moving that
// moment one interval (Window / Calls) further, in one conditional upsert. After an idle period a
// burst of Burst calls may go out at once. The budget counts every call of the client, but only
// calls made under a context marked Paced (the month close, the reconciliation: background work)
// wait for their slot; other calls (a buyer paying by card) take theirs and go at once, so
// background work gives way to them.
//
// The provider's own account of its limits has the last word: when an answer says a window is
// exhausted (a 429, or no call remaining), the budget holds every call until that window resets
// (Observe), in every process. A 429 therefore slows the budget down rather than failing the
// work: the MangoPay client waits for the reset and retries with the same idempotency key.
package pacing

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
)

// Store keeps budgets by name. Both operations are atomic across processes.
type Store interface {
	// Reserve takes the named budget's next call slot at now: the slot is the latest of the
	// budget's next slot and now-burst, and the next slot becomes slot+interval. A budget never
	// used starts at now-burst.
	Reserve(ctx context.Context, name string, now time.Time, interval, burst time.Duration) (slot time.Time, err error)
	// Hold makes the named budget's next slot no earlier than until.
	Hold(ctx context.Context, name string, until time.Time) error
}

// Defaults.
const (
	// DefaultWindow is MangoPay's shortest rate-limit window.
	DefaultWindow = 15 * time.Minute
	// DefaultCalls is the default budget per DefaultWindow: below MangoPay's 2,300 so that a burst
	// and the interactive calls fit.
	DefaultCalls = 2000
)

// Config configures a Pacer.
type Config struct {
	Store Store
	// Name is the budget's name, shared by the processes that share the provider's limit
	// ("mangopay").
	Name string
	// Calls per Window (default DefaultCalls per DefaultWindow).
	Calls  int
	Window time.Duration
	// Burst is how many calls may go out at once after an idle period (default Calls/10, at
	// least 1). A sliding window of the provider then sees at most Calls+Burst calls.
	Burst int
	// Clock is real time, the same in every process (default clock.Real).
	Clock clock.Clock
	Log   *slog.Logger
}

// Pacer implements the MangoPay client's Pacer on a Store.
type Pacer struct {
	store           Store
	name            string
	interval, burst time.Duration
	clock           clock.Clock
	log             *slog.Logger
	// hold is the latest moment (Unix µs) the provider said its limit resets at, observed and not
	// yet written to the store (0 when none); held is the latest one known, written or not.
	hold, held atomic.Int64
}

// New returns a pacer.
func New(cfg Config) *Pacer {
	if cfg.Calls <= 0 {
		cfg.Calls = DefaultCalls
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(cfg.Calls/10, 1)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	interval := cfg.Window / time.Duration(cfg.Calls)
	return &Pacer{store: cfg.Store, name: cfg.Name, interval: interval, burst: interval * time.Duration(cfg.Burst),
		clock: cfg.Clock, log: cfg.Log}
}

type pacedKey struct{}

// Paced marks ctx as background work whose provider calls wait for the shared budget.
func Paced(ctx context.Context) context.Context { return context.WithValue(ctx, pacedKey{}, true) }

// IsPaced reports whether ctx was marked by Paced.
func IsPaced(ctx context.Context) bool { v, _ := ctx.Value(pacedKey{}).(bool); return v }

// Wait takes a slot of the budget for one call. Under a Paced context it returns at the slot's
// time (or with ctx's error, or the store's); otherwise at once, whatever the store answers.
func (p *Pacer) Wait(ctx context.Context) error {
	paced := IsPaced(ctx)
	if h := p.hold.Swap(0); h != 0 {
		if err := p.store.Hold(ctx, p.name, time.UnixMicro(h)); err != nil {
			p.hold.CompareAndSwap(0, h) // written by the next call
			p.log.WarnContext(ctx, "provider budget: hold not recorded", slog.String("budget", p.name), slog.String("error", err.Error()))
		}
	}
	slot, err := p.store.Reserve(ctx, p.name, p.clock.Now(), p.interval, p.burst)
	if err != nil {
		if !paced {
			p.log.WarnContext(ctx, "provider budget: call not counted", slog.String("budget", p.name), slog.String("error", err.Error()))
			return nil
		}
		return err
	}
	if !paced {
		return nil
	}
	if held := time.UnixMicro(p.held.Load()); held.After(slot) { // a hold this process could not record yet
		slot = held
	}
	wait := slot.Sub(p.clock.Now())
	if wait <= 0 {
		return nil
	}
	if wait > time.Second {
		p.log.InfoContext(ctx, "provider budget: waiting for a call slot", slog.String("budget", p.name), slog.Duration("wait", wait))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Observe reads the provider's account of its limits: when a window is exhausted (a 429, or no
// call remaining), no call of the budget goes out before that window resets. It does not block:
// the next Wait records the hold for every process.
func (p *Pacer) Observe(l psp.RateLimit) {
	exhausted, until := l.Exhausted()
	if !exhausted && l.Limited {
		// A refusal whose headers show no exhausted window: hold one interval's worth per burst.
		until, exhausted = l.ObservedAt.Add(p.burst), !l.ObservedAt.IsZero()
	}
	if !exhausted || until.IsZero() {
		return
	}
	us := until.UnixMicro()
	raise(&p.held, us)
	raise(&p.hold, us)
	p.log.Warn("payment provider rate limit reached: calls held", slog.String("budget", p.name), slog.Time("until", until),
		slog.Bool("refused", l.Limited))
}

// raise sets v to x when x is greater.
func raise(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if old >= x || v.CompareAndSwap(old, x) {
			return
		}
	}
}
