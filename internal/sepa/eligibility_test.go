package sepa

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const day = 24 * time.Hour

var now = time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)

// scored returns a score of value checked age ago.
func scored(value int, age time.Duration) *Score {
	return &Score{Value: value, CheckedAt: now.Add(-age)}
}

func TestReasons(t *testing.T) {
	ready := func(score ScoreState) Snapshot {
		return Snapshot{HasBankAccount: true, HasActiveMandate: true, Score: score, Now: now}
	}
	tests := []struct {
		name string
		snap Snapshot
		want []string
	}{
		{"eligible", ready(ScoreState{Latest: scored(14, 3*day)}), []string{}},
		{"new buyer: nothing yet", Snapshot{Now: now},
			[]string{ReasonNoBankAccount, ReasonNoActiveMandate, ReasonNoScore}},
		{"bank account, mandate not signed", Snapshot{HasBankAccount: true, Score: ScoreState{Latest: scored(14, day)}, Now: now},
			[]string{ReasonNoActiveMandate}},

		// no score at all
		{"never checked", ready(ScoreState{}), []string{ReasonNoScore}},
		{"never checked, partner down", ready(ScoreState{UnavailableAt: now.Add(-time.Hour)}), []string{ReasonNoScore}},

		// the minimum
		{"exactly the minimum", ready(ScoreState{Latest: scored(10, day)}), []string{}},
		{"one under the minimum", ready(ScoreState{Latest: scored(9, day)}), []string{ReasonScoreBelowMinimum}},
		{"zero", ready(ScoreState{Latest: scored(0, day)}), []string{ReasonScoreBelowMinimum}},
		{"full marks", ready(ScoreState{Latest: scored(20, day)}), []string{}},

		// freshness without an outage: [checked, checked+31d)
		{"checked just now", ready(ScoreState{Latest: scored(14, 0)}), []string{}},
		{"31 days minus 1ns old", ready(ScoreState{Latest: scored(14, 31*day-1)}), []string{}},
		{"exactly 31 days old", ready(ScoreState{Latest: scored(14, 31*day)}), []string{ReasonScoreUnavailable}},
		{"32 days old, no attempt since", ready(ScoreState{Latest: scored(14, 32*day)}), []string{ReasonScoreUnavailable}},

		// the grace period: the latest attempt failed because the partner could not answer
		{"fresh score, partner down now", ready(ScoreState{Latest: scored(14, 10*day), UnavailableAt: now.Add(-time.Minute)}),
			[]string{}},
		{"40 days old, latest attempt failed", ready(ScoreState{Latest: scored(14, 40*day), UnavailableAt: now.Add(-9 * day)}),
			[]string{}},
		{"45 days minus 1ns, latest attempt failed", ready(ScoreState{Latest: scored(14, 45*day-1), UnavailableAt: now.Add(-day)}),
			[]string{}},
		{"exactly 45 days, latest attempt failed", ready(ScoreState{Latest: scored(14, 45*day), UnavailableAt: now.Add(-day)}),
			[]string{ReasonScoreUnavailable}},
		{"60 days, latest attempt failed", ready(ScoreState{Latest: scored(14, 60*day), UnavailableAt: now.Add(-day)}),
			[]string{ReasonScoreUnavailable}},
		{"40 days old, the failure predates the score", ready(ScoreState{Latest: scored(14, 40*day), UnavailableAt: now.Add(-41 * day)}),
			[]string{ReasonScoreUnavailable}},
		{"40 days old, failure at the same instant as the check", ready(ScoreState{Latest: scored(14, 40*day), UnavailableAt: now.Add(-40 * day)}),
			[]string{ReasonScoreUnavailable}},

		// low and stale
		{"low, in the grace period", ready(ScoreState{Latest: scored(8, 40*day), UnavailableAt: now.Add(-day)}),
			[]string{ReasonScoreBelowMinimum}},
		{"low and past the grace period", ready(ScoreState{Latest: scored(8, 50*day), UnavailableAt: now.Add(-day)}),
			[]string{ReasonScoreBelowMinimum, ReasonScoreUnavailable}},
		{"low and stale, no attempt since", ready(ScoreState{Latest: scored(8, 32*day)}),
			[]string{ReasonScoreBelowMinimum, ReasonScoreUnavailable}},

		// suspension
		{"suspended for an unpaid debit", Snapshot{HasBankAccount: true, HasActiveMandate: true,
			Score: ScoreState{Latest: scored(14, day)}, Suspended: true, Now: now}, []string{ReasonUnpaidDebit}},
		{"everything wrong, no score", Snapshot{Suspended: true, Now: now},
			[]string{ReasonNoBankAccount, ReasonNoActiveMandate, ReasonNoScore, ReasonUnpaidDebit}},
		{"everything wrong, bad stale score", Snapshot{Score: ScoreState{Latest: scored(3, 90*day)}, Suspended: true, Now: now},
			[]string{ReasonNoBankAccount, ReasonNoActiveMandate, ReasonScoreBelowMinimum, ReasonScoreUnavailable, ReasonUnpaidDebit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reasons(DefaultScorePolicy(), tt.snap)
			if got == nil {
				t.Fatal("Reasons returned nil; want a non-nil slice")
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("reasons (-want +got):\n%s", d)
			}
			err := CheckEligible(DefaultScorePolicy(), tt.snap)
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckEligible = %v, want nil", err)
				}
				return
			}
			var ne *NotEligibleError
			if !errors.Is(err, ErrNotEligible) || !errors.As(err, &ne) {
				t.Fatalf("CheckEligible = %v, want a *NotEligibleError", err)
			}
			if d := cmp.Diff(tt.want, ne.Reasons); d != "" {
				t.Errorf("error reasons (-want +got):\n%s", d)
			}
			if errors.Is(err, ErrCeilingExceeded) {
				t.Error("a NotEligibleError matches ErrCeilingExceeded")
			}
		})
	}
}

func TestReasonsWithAnotherMinimum(t *testing.T) {
	p := DefaultScorePolicy()
	p.Minimum = 12
	snap := Snapshot{HasBankAccount: true, HasActiveMandate: true, Score: ScoreState{Latest: scored(11, day)}, Now: now}
	if d := cmp.Diff([]string{ReasonScoreBelowMinimum}, Reasons(p, snap)); d != "" {
		t.Errorf("minimum 12, score 11 (-want +got):\n%s", d)
	}
	snap.Score.Latest.Value = 12
	if got := Reasons(p, snap); len(got) != 0 {
		t.Errorf("minimum 12, score 12: %v", got)
	}
}

func TestAvailable(t *testing.T) {
	tests := []struct {
		ceiling, outstanding, want int64
	}{
		{25000, 0, 25000},
		{25000, 10000, 15000},
		{25000, 25000, 0},
		{25000, 30000, 0}, // ceiling lowered by an operator below this month's payments
		{0, 0, 0},
	}
	for _, tt := range tests {
		if got := Available(tt.ceiling, tt.outstanding); got != tt.want {
			t.Errorf("Available(%d, %d) = %d, want %d", tt.ceiling, tt.outstanding, got, tt.want)
		}
	}
}
