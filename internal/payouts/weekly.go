package payouts

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/txn"
)

// The automatic payouts: every Monday at 06:00 Paris time by the clock (the sandbox's test clock
// when it moves), one payout per centre whose available balance is at least the minimum, which
// has an active payout account and whose payouts the provider enabled.
const (
	WeeklyDay  = time.Monday
	WeeklyHour = 6
)

// WeeklySlot is the weekly run that is the latest due at now: the Paris day (YYYY-MM-DD) of the
// last Monday whose 06:00 (Paris wall-clock time) is not after now.
func WeeklySlot(now time.Time) string {
	local := now.In(clock.Paris())
	back := (int(local.Weekday()) - int(WeeklyDay) + 7) % 7
	monday := time.Date(local.Year(), local.Month(), local.Day()-back, WeeklyHour, 0, 0, 0, clock.Paris())
	if monday.After(local) {
		monday = monday.AddDate(0, 0, -7)
	}
	return monday.Format(time.DateOnly)
}

// RunWeekly makes the week's automatic payouts once the clock has passed Monday 06:00 Paris,
// unless that run was made: the run is claimed by a row per Monday, and each centre's payout by a
// unique (centre, run) pair, so that several processes, or a run resumed after a crash, pay each
// centre once. Payouts are recorded first, then asked of the provider (a provider outage leaves
// them to Resume). It returns how many payouts it recorded.
func (s *Service) RunWeekly(ctx context.Context) (int, error) {
	now := s.cfg.Clock.Now()
	slot := WeeklySlot(now)
	run, err := s.cfg.Store.ClaimRun(ctx, slot, now)
	if err != nil || !run {
		return 0, err
	}
	centers, err := s.cfg.Store.PayoutCandidates(ctx, s.cfg.Minimum)
	if err != nil {
		return 0, err
	}
	var made []Payout
	for _, c := range centers {
		p, recorded, err := s.record(ctx, c, true, nil, slot, txn.System) // candidates have payouts enabled
		switch {
		case errors.Is(err, ErrInsufficientBalance) || errors.Is(err, ErrNoPayoutAccount):
			continue // changed since the candidates were read
		case err != nil:
			return len(made), err
		case recorded:
			made = append(made, p)
		}
	}
	for _, p := range made {
		if err := s.submit(ctx, p); err != nil {
			s.log.WarnContext(ctx, "automatic payout recorded, not made at the provider yet", slog.String("payout_id", p.ID),
				slog.String("err", err.Error()))
			if errors.Is(err, psp.ErrUnavailable) {
				break
			}
		}
	}
	if err := s.cfg.Store.FinishRun(ctx, slot, len(made), s.cfg.Clock.Now()); err != nil {
		return len(made), err
	}
	if len(made) > 0 {
		s.log.InfoContext(ctx, "weekly payouts made", slog.String("run", slot), slog.Int("payouts", len(made)))
	}
	return len(made), nil
}
