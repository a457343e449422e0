package clock

import (
	"errors"
	"testing"
	"time"
)

func TestMonthOf(t *testing.T) {
	tests := []struct {
		at   string
		want string
	}{
		{"2026-11-30T23:30:00Z", "2026-12"}, // 00:30 in Paris
		{"2026-11-30T22:59:59Z", "2026-11"},
		{"2026-01-31T22:59:00Z", "2026-01"}, // winter: UTC+1
		{"2026-01-31T23:00:00Z", "2026-02"},
		{"2026-07-31T21:59:00Z", "2026-07"}, // summer: UTC+2
		{"2026-07-31T22:00:00Z", "2026-08"},
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := MonthOf(at); got != tt.want {
			t.Errorf("MonthOf(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
}

func TestMonthBounds(t *testing.T) {
	start, end, err := MonthBounds("2026-03")
	if err != nil {
		t.Fatal(err)
	}
	if got := start.Format(time.RFC3339); got != "2026-02-28T23:00:00Z" {
		t.Errorf("start = %s", got)
	}
	if got := end.Format(time.RFC3339); got != "2026-03-31T22:00:00Z" { // DST began on 29 March
		t.Errorf("end = %s", got)
	}
	for _, bad := range []string{"", "2026-13", "2026-1", "26-11", "2026-11-01"} {
		if _, _, err := MonthBounds(bad); !errors.Is(err, ErrBadMonth) {
			t.Errorf("MonthBounds(%q) err = %v, want ErrBadMonth", bad, err)
		}
	}
	if p, _ := PreviousMonth("2026-01"); p != "2025-12" {
		t.Errorf("PreviousMonth = %s", p)
	}
}

func TestMonthEnded(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	if ended, _ := MonthEnded("2026-11", at("2026-11-30T22:59:59Z")); ended {
		t.Error("November has not ended at 23:59:59 Paris")
	}
	if ended, _ := MonthEnded("2026-11", at("2026-11-30T23:00:00Z")); !ended {
		t.Error("November has ended at midnight Paris")
	}
}

func TestOffsetOnlyMovesForward(t *testing.T) {
	base := NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	c := NewOffset(base)
	target := time.Date(2026, 12, 1, 0, 40, 0, 0, time.UTC)
	if err := c.Set(target); err != nil {
		t.Fatal(err)
	}
	if !c.Now().Equal(target) {
		t.Fatalf("Now = %s, want %s", c.Now(), target)
	}
	base.Advance(time.Minute)
	if want := target.Add(time.Minute); !c.Now().Equal(want) {
		t.Fatalf("time should keep flowing: Now = %s, want %s", c.Now(), want)
	}
	if err := c.Set(target); !errors.Is(err, ErrBackwards) {
		t.Fatalf("Set backwards err = %v", err)
	}
	c.SetOffset(0) // an older offset from another process never moves it back
	if !c.Now().After(target) {
		t.Fatal("SetOffset moved the clock back")
	}
}
