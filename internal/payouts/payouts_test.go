package payouts

import (
	"testing"
	"time"
)

func TestWeeklySlot(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 7, 5, 59, 59, 0, paris), "2026-11-30"}, // Monday before 06:00: last week's
		{time.Date(2026, 12, 7, 6, 0, 0, 0, paris), "2026-12-07"},
		{time.Date(2026, 12, 13, 23, 0, 0, 0, paris), "2026-12-07"}, // Sunday
		{time.Date(2026, 12, 8, 0, 30, 0, 0, paris), "2026-12-07"},
		{time.Date(2026, 3, 30, 6, 0, 0, 0, paris), "2026-03-30"},     // the Monday after the clocks go forward
		{time.Date(2026, 3, 30, 4, 30, 0, 0, time.UTC), "2026-03-30"}, // 06:30 CEST
		{time.Date(2026, 3, 30, 3, 30, 0, 0, time.UTC), "2026-03-23"}, // 05:30 CEST
		{time.Date(2026, 10, 26, 5, 0, 0, 0, time.UTC), "2026-10-26"}, // 06:00 CET, the Monday after the clocks go back
	} {
		if got := WeeklySlot(tt.now); got != tt.want {
			t.Errorf("WeeklySlot(%s) = %s, want %s", tt.now, got, tt.want)
		}
	}
}

func TestPayoutTransitions(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := Payout{Status: StatusPending}
	if err := p.Move(StatusReturned, "account_closed", at); err != ErrInvalidTransition {
		t.Errorf("pending → returned: %v", err)
	}
	if err := p.Move(StatusPaid, "", at); err != nil || p.Status != StatusPaid || p.FailureCode != "" {
		t.Errorf("pending → paid: %v, %+v", err, p)
	}
	if err := p.Move(StatusFailed, "provider_error", at); err != ErrInvalidTransition {
		t.Errorf("paid → failed: %v", err)
	}
	if err := p.Move(StatusReturned, "account_closed", at); err != nil || p.FailureCode != "account_closed" {
		t.Errorf("paid → returned: %v, %+v", err, p)
	}
	for _, to := range []Status{StatusPending, StatusPaid, StatusFailed, StatusReturned} {
		if err := p.Move(to, "", at); err != ErrInvalidTransition {
			t.Errorf("returned → %s: %v", to, err)
		}
	}
	f := Payout{ID: "po_1", CenterID: "ctr_1", Amount: 500, CreatedAt: at}
	if err := f.Posted().Check(); err != nil {
		t.Error(err)
	}
	if err := f.Reversed(at).Check(); err != nil {
		t.Error(err)
	}
}
