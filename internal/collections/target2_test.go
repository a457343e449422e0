package collections

import (
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
)

func TestEasterSunday(t *testing.T) {
	for y, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25", 2285: "2285-03-22"} {
		if got := easterSunday(y).Format(time.DateOnly); got != want {
			t.Errorf("Easter %d = %s, want %s", y, got, want)
		}
	}
}

func TestDueDate(t *testing.T) {
	paris := clock.Paris()
	for _, tt := range []struct{ closed, want string }{
		{"2026-12-01", "2026-12-03"}, // Tuesday → Thursday
		{"2026-10-01", "2026-10-05"}, // Thursday → Friday, Monday
		{"2026-08-01", "2026-08-04"}, // Saturday → Monday, Tuesday
		{"2026-01-01", "2026-01-05"}, // 1 January (Thursday) → Friday, Monday
		{"2025-12-24", "2025-12-30"}, // 25 and 26 December, then the weekend
		{"2026-04-01", "2026-04-07"}, // Good Friday (3 April) and Easter Monday (6 April)...
		{"2026-04-02", "2026-04-08"}, // ...are skipped
		{"2026-04-30", "2026-05-05"}, // 1 May (Friday), the weekend
		{"2027-03-24", "2027-03-30"}, // Easter 2027: Good Friday 26 March, Easter Monday 29 March
		{"2027-03-25", "2027-03-31"},
	} {
		closed, err := time.ParseInLocation(time.DateOnly, tt.closed, paris)
		if err != nil {
			t.Fatal(err)
		}
		// 00:10 in Paris, as the close runs: still that calendar day although UTC says the day before.
		if got := DueDate(closed.Add(10 * time.Minute)).Format(time.DateOnly); got != tt.want {
			t.Errorf("DueDate(closed %s) = %s, want %s", tt.closed, got, tt.want)
		}
	}
	for _, d := range []string{"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-12-25", "2026-12-26", "2026-12-05"} {
		day, _ := time.Parse(time.DateOnly, d)
		if IsTARGET2BusinessDay(day) {
			t.Errorf("%s is a TARGET2 business day? it is not", d)
		}
	}
	for _, d := range []string{"2026-04-02", "2026-04-07", "2026-05-08", "2026-07-14", "2026-12-24", "2026-11-11"} {
		day, _ := time.Parse(time.DateOnly, d)
		if !IsTARGET2BusinessDay(day) {
			t.Errorf("%s is not a TARGET2 business day? it is (French holidays are not TARGET2's)", d)
		}
	}
}
