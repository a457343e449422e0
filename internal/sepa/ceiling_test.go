package sepa

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
)

func TestReview(t *testing.T) {
	p := DefaultCeilingPolicy()
	good := func(current int64, totals ...int64) ReviewInput {
		return ReviewInput{Current: current, MonthlyTotals: totals, HasScore: true, Score: 14, ScoreMinimum: 10}
	}
	with := func(in ReviewInput, change func(*ReviewInput)) ReviewInput { change(&in); return in }
	tests := []struct {
		name        string
		in          ReviewInput
		want        int64
		wantChanged bool
	}{
		{"1.5 × largest, an exact multiple of 50 EUR", good(25000, 10000, 20000, 15000), 30000, true},
		{"rounded up to the next 50 EUR", good(25000, 20001), 35000, true},
		{"the half cent rounds up too", good(25000, 20001, 0, 0), 35000, true},
		{"a target just over a multiple", good(50000, 33334), 55000, true}, // 50001 → 55000
		{"a target exactly on a multiple stays", good(10000, 10000), 15000, true},
		{"the largest month counts, not the latest", good(25000, 30000, 1000, 0), 45000, true},
		{"capped at twice the current", good(25000, 100000), 50000, true},
		{"twice the current, exactly", good(25000, 33334), 50000, true}, // 50001 → 55000 → ×2 cap
		{"capped at max", good(900000, 1000000), 1000000, true},
		{"already at max", good(1000000, 5000000), 1000000, false},
		{"above max (set by an operator) never lowered", good(1200000, 5000000), 1200000, false},
		{"target below current never lowers", good(100000, 1000), 100000, false},
		{"target equal to current", good(30000, 20000), 30000, false},
		{"small activity", good(25000, 1), 25000, false}, // 2 → 5000 < 25000
		{"zero activity", good(25000, 0, 0, 0), 25000, false},
		{"no months", good(25000), 25000, false},
		{"negative totals count as 0", good(25000, -90000), 25000, false},
		{"huge total: overflow capped at max", good(25000, math.MaxInt64), 50000, true},
		{"huge total near max current", good(700000, math.MaxInt64/100), 1000000, true},
		{"a ceiling of 0 stays 0", good(0, 100000), 0, false},
		{"in probation", with(good(25000, 100000), func(in *ReviewInput) { in.InProbation = true }), 25000, false},
		{"unpaid debit in 12 months", with(good(25000, 100000), func(in *ReviewInput) { in.UnpaidInWindow = true }), 25000, false},
		{"no score", with(good(25000, 100000), func(in *ReviewInput) { in.HasScore = false }), 25000, false},
		{"score one under the minimum", with(good(25000, 100000), func(in *ReviewInput) { in.Score = 9 }), 25000, false},
		{"score exactly the minimum", with(good(25000, 100000), func(in *ReviewInput) { in.Score = 10 }), 50000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := p.Review(tt.in)
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("Review = %d %v, want %d %v", got, changed, tt.want, tt.wantChanged)
			}
			if got < tt.in.Current {
				t.Errorf("Review lowered the ceiling from %d to %d", tt.in.Current, got)
			}
		})
	}
}

func TestReviewWithAnotherPolicy(t *testing.T) {
	p := DefaultCeilingPolicy()
	p.GrowthPercent, p.RoundTo, p.MaxStepFactor, p.Max = 125, 1000, 3, 200000
	in := ReviewInput{Current: 10000, MonthlyTotals: []int64{20001}, HasScore: true, Score: 10, ScoreMinimum: 10}
	// 20001 × 1.25 = 25001.25 → 25002 → 26000; ×3 cap 30000
	if got, changed := p.Review(in); got != 26000 || !changed {
		t.Errorf("Review = %d %v, want 26000 true", got, changed)
	}
}

func TestCeilingPolicyValidate(t *testing.T) {
	if err := DefaultCeilingPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	bad := []func(*CeilingPolicy){
		func(p *CeilingPolicy) { p.Initial = 0 },
		func(p *CeilingPolicy) { p.Max = p.Initial - 1 },
		func(p *CeilingPolicy) { p.RoundTo = 0 },
		func(p *CeilingPolicy) { p.GrowthPercent = 99 },
		func(p *CeilingPolicy) { p.MaxStepFactor = 0 },
		func(p *CeilingPolicy) { p.ProbationMonths = -1 },
		func(p *CeilingPolicy) { p.UnpaidWindowMonths = 0 },
		func(p *CeilingPolicy) { p.ReviewMonths = 0 },
	}
	for i, change := range bad {
		p := DefaultCeilingPolicy()
		change(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("case %d: Validate = %v, want ErrInvalidPolicy", i, err)
		}
	}
}

func TestProbationUntil(t *testing.T) {
	paris := clock.Paris()
	p := DefaultCeilingPolicy()
	tests := []struct {
		name        string
		start, want time.Time
	}{
		{"plain", time.Date(2026, 2, 10, 15, 4, 5, 0, paris), time.Date(2026, 5, 10, 15, 4, 5, 0, paris)},
		{"31 January → 30 April", time.Date(2026, 1, 31, 10, 0, 0, 0, paris), time.Date(2026, 4, 30, 10, 0, 0, 0, paris)},
		{"30 November → 28 February", time.Date(2025, 11, 30, 9, 0, 0, 0, paris), time.Date(2026, 2, 28, 9, 0, 0, 0, paris)},
		{"30 November → 29 February in a leap year", time.Date(2027, 11, 30, 9, 0, 0, 0, paris), time.Date(2028, 2, 29, 9, 0, 0, 0, paris)},
		{"31 October → 31 January, across the year", time.Date(2026, 10, 31, 9, 0, 0, 0, paris), time.Date(2027, 1, 31, 9, 0, 0, 0, paris)},
		{"the Paris date counts, not the UTC one", time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), // 1 February 00:30 Paris
			time.Date(2026, 5, 1, 0, 30, 0, 0, paris)},
		{"winter to summer time keeps the wall clock", time.Date(2026, 1, 15, 12, 0, 0, 0, paris), time.Date(2026, 4, 15, 12, 0, 0, 0, paris)},
		{"into the spring DST gap moves forward", time.Date(2025, 12, 29, 2, 30, 0, 0, paris), // 29 March 2026 02:30 does not exist
			time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := p.ProbationUntil(tt.start)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s: ProbationUntil(%s) = %s, want %s (UTC)", tt.name, tt.start, got, tt.want.UTC())
		}
	}
}

func TestInProbation(t *testing.T) {
	p := DefaultCeilingPolicy()
	start := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	until := p.ProbationUntil(start)
	tests := []struct {
		name       string
		start, now time.Time
		want       bool
	}{
		{"just signed", start, start, true},
		{"1ns before the end", start, until.Add(-1), true},
		{"at the end", start, until, false},
		{"long after", start, until.Add(400 * day), false},
		{"never signed", time.Time{}, until, true},
	}
	for _, tt := range tests {
		if got := p.InProbation(tt.start, tt.now); got != tt.want {
			t.Errorf("%s: InProbation = %v, want %v", tt.name, got, tt.want)
		}
	}
	p.ProbationMonths = 0
	if p.InProbation(start, start) {
		t.Error("no probation at all: still in probation at start")
	}
}

// The months of the ceiling and of outstanding are Paris months, read through internal/clock.
func TestParisMonthEdges(t *testing.T) {
	tests := []struct{ at, want string }{
		{"2026-11-30T23:30:00Z", "2026-12"},
		{"2026-03-31T21:59:00Z", "2026-03"},
		{"2026-03-31T22:00:00Z", "2026-04"},
		{"2026-01-31T22:59:00Z", "2026-01"},
		{"2026-01-31T23:00:00Z", "2026-02"},
		{"2026-10-25T00:59:59Z", "2026-10"}, // the night summer time ends
	}
	for _, tt := range tests {
		at, err := time.Parse(time.RFC3339, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := clock.MonthOf(at); got != tt.want {
			t.Errorf("MonthOf(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
}
