// Package clock is the one source of time for vhupay. Every rule that reads the time reads a Clock,
// so that the sandbox test clock moves everything at once. Months are calendar months in Europe/Paris.
package clock

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on machines without a zoneinfo database.
)

// Clock tells the time. Now always returns UTC, truncated to the microsecond (the precision both
// databases keep), so that a time written and read back compares equal.
type Clock interface {
	Now() time.Time
}

// Real is the machine's clock.
type Real struct{}

// Now returns the current UTC time truncated to the microsecond.
func (Real) Now() time.Time { return normalize(time.Now()) }

func normalize(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ErrBackwards is returned when a test clock is asked to move back in time.
var ErrBackwards = errors.New("the clock only moves forward")

// Offset is the sandbox test clock: real time shifted by an offset that only grows, so time keeps
// flowing from the instant an operator set. It is safe for concurrent use.
type Offset struct {
	base   Clock
	offset atomic.Int64 // nanoseconds
	mu     sync.Mutex   // serialises Set so that forward-only holds
}

// NewOffset returns a test clock that starts at base's time.
func NewOffset(base Clock) *Offset { return &Offset{base: base} }

// Now returns base time plus the offset.
func (c *Offset) Now() time.Time {
	return normalize(c.base.Now().Add(time.Duration(c.offset.Load())))
}

// Set moves the clock to t. It returns ErrBackwards when t is before the current time.
func (c *Offset) Set(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.Now()) {
		return ErrBackwards
	}
	c.offset.Store(int64(t.Sub(c.base.Now())))
	return nil
}

// Offset returns the current shift from base time.
func (c *Offset) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// SetOffset installs an offset learned from another process; it never moves the clock backwards.
func (c *Offset) SetOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(d) > c.offset.Load() {
		c.offset.Store(int64(d))
	}
}

// Manual is a clock for tests: it stands still until told to move.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a clock standing at t.
func NewManual(t time.Time) *Manual { return &Manual{now: normalize(t)} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = normalize(m.now.Add(d))
}

// Set moves the clock to t (tests may move it anywhere).
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = normalize(t)
}

var paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load %s: %v", name, err)) // embedded tzdata makes this unreachable
	}
	return loc
}

// Paris returns the Europe/Paris location.
func Paris() *time.Location { return paris }

// MonthLayout is how months are written: "2026-11".
const MonthLayout = "2006-01"

// MonthOf returns the Europe/Paris calendar month of t, as "YYYY-MM".
func MonthOf(t time.Time) string { return t.In(paris).Format(MonthLayout) }

// ErrBadMonth is returned for a month not written "YYYY-MM".
var ErrBadMonth = errors.New(`month must be written "YYYY-MM"`)

// MonthBounds returns the first instant of month and the first instant of the next month, in UTC.
func MonthBounds(month string) (start, end time.Time, err error) {
	m, err := time.ParseInLocation(MonthLayout, month, paris)
	if err != nil || m.Format(MonthLayout) != month {
		return time.Time{}, time.Time{}, ErrBadMonth
	}
	return m.UTC(), m.AddDate(0, 1, 0).UTC(), nil
}

// PreviousMonth returns the month before month ("2026-01" → "2025-12").
func PreviousMonth(month string) (string, error) {
	start, _, err := MonthBounds(month)
	if err != nil {
		return "", err
	}
	return start.In(paris).AddDate(0, -1, 0).Format(MonthLayout), nil
}

// MonthEnded reports whether month is over at now (Europe/Paris).
func MonthEnded(month string, now time.Time) (bool, error) {
	_, end, err := MonthBounds(month)
	if err != nil {
		return false, err
	}
	return !now.Before(end), nil
}
