package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/validation"
)

// closes records the months started; existing months are found.
type closes struct {
	existing map[string]bool
	started  []string
	err      error
	startErr error
}

func (c *closes) Get(_ context.Context, month string) (monthclose.MonthClose, error) {
	if c.err != nil {
		return monthclose.MonthClose{}, c.err
	}
	if c.existing[month] {
		return monthclose.MonthClose{Month: month}, nil
	}
	return monthclose.MonthClose{}, monthclose.ErrNotFound
}

func (c *closes) Start(_ context.Context, month string) (monthclose.MonthClose, monthclose.Outcome, error) {
	if c.startErr != nil {
		return monthclose.MonthClose{}, monthclose.Existing, c.startErr
	}
	c.started = append(c.started, month)
	return monthclose.MonthClose{Month: month}, monthclose.Started, nil
}

func TestSchedulerStartsThePreviousMonth(t *testing.T) {
	paris := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, clock.Paris())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		now      time.Time
		existing []string
		want     []string
	}{
		{"just after midnight on the 1st", paris("2026-12-01 00:00"), nil, []string{"2026-11"}},
		{"23:30 UTC on the 30th is December in Paris", time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), nil, []string{"2026-11"}},
		{"the last minute of November", paris("2026-11-30 23:59"), []string{"2026-10"}, nil},
		{"January closes December", paris("2027-01-01 00:05"), nil, []string{"2026-12"}},
		{"already closed", paris("2026-12-15 10:00"), []string{"2026-11"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &closes{existing: map[string]bool{}}
			for _, m := range tt.existing {
				c.existing[m] = true
			}
			s := NewScheduler(clock.NewManual(tt.now), c, 0, nil)
			if err := s.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.started); diff != "" {
				t.Errorf("started (-want +got):\n%s", diff)
			}
		})
	}
	down := errors.New("database down")
	s := NewScheduler(clock.NewManual(paris("2026-12-01 00:00")), &closes{err: down}, 0, nil)
	if err := s.Tick(context.Background()); !errors.Is(err, down) {
		t.Errorf("Tick err = %v, want the store's", err)
	}
	// A month before the platform's first data is refused by the service: nothing to close, no error.
	s = NewScheduler(clock.NewManual(paris("2026-12-01 00:00")), &closes{startErr: validation.Field("month", "range", "too early")}, 0, nil)
	if err := s.Tick(context.Background()); err != nil {
		t.Errorf("Tick on a month out of range: err = %v, want none", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.RescueAfter <= c.MonthCloseTimeout || c.PollInterval != DefaultPollInterval || c.MonthCloseAttempts != DefaultMonthCloseAttempts {
		t.Errorf("defaults = %+v", c)
	}
	if l := (Config{}).Lease(); l <= c.MonthCloseTimeout || l >= c.RescueAfter {
		t.Errorf("lease %s must fall between the timeout %s and the rescue delay %s", l, c.MonthCloseTimeout, c.RescueAfter)
	}
	if _, err := (Config{MonthCloseTimeout: time.Minute, RescueAfter: time.Minute}).withDefaults(); err == nil {
		t.Error("a rescue delay not above the timeout was accepted")
	}
	if c, _ := (Config{MonthCloseTimeout: 10 * time.Minute}).withDefaults(); c.RescueAfter <= 10*time.Minute {
		t.Errorf("rescue delay %s with a 10m timeout", c.RescueAfter)
	}
}
