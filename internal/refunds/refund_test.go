package refunds

import (
	"errors"
	"testing"
	"time"
)

func TestFeeShare(t *testing.T) {
	for _, tc := range []struct {
		name                                       string
		fee, base, amount, before, feeBefore, want int64
	}{
		{"30.00 of 120.00 at a 6.00 fee", 600, 12000, 3000, 0, 0, 150},
		{"the last refund returns what remains", 600, 12000, 9000, 3000, 150, 450},
		{"half up", 333, 12000, 100, 0, 0, 3},            // 2.775 → 3
		{"half up at .5", 1, 2, 1, 0, 0, 1},              // 0.5 → 1
		{"the rest after rounding up", 1, 2, 1, 1, 1, 0}, // nothing left
		{"no fee", 0, 12000, 3000, 0, 0, 0},
		{"never more than what remains", 10, 100, 50, 10, 10, 0},
		{"a full refund at once", 600, 12000, 12000, 0, 0, 600},
	} {
		if got := FeeShare(tc.fee, tc.base, tc.amount, tc.before, tc.feeBefore); got != tc.want {
			t.Errorf("%s: FeeShare = %d, want %d", tc.name, got, tc.want)
		}
	}
	// Shares of any split add up to the fee.
	for _, split := range [][]int64{{1, 1, 11998}, {3000, 9000}, {1, 11999}, {4000, 4000, 4000}, {7, 13, 11980}} {
		var before, fees int64
		for _, a := range split {
			fees += FeeShare(601, 12000, a, before, fees)
			before += a
		}
		if fees != 601 {
			t.Errorf("split %v: shares add up to %d, want 601", split, fees)
		}
	}
}

func TestRefundTransitions(t *testing.T) {
	at := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	r := Refund{ID: "re_1", Status: StatusPending, Stage: StageRecorded}
	if err := r.Succeed(StageDone, at); err != nil || r.Status != StatusSucceeded || r.Stage != StageDone || !r.UpdatedAt.Equal(at) {
		t.Fatalf("Succeed: %v, %+v", err, r)
	}
	if err := r.Fail("x", at); !errors.Is(err, ErrInvalidTransition) || r.Status != StatusSucceeded {
		t.Errorf("Fail after success: %v, %+v", err, r)
	}
	r = Refund{ID: "re_2", Status: StatusPending}
	if err := r.Fail(FailureProviderRefused, at); err != nil || r.Status != StatusFailed || r.FailureCode != FailureProviderRefused {
		t.Fatalf("Fail: %v, %+v", err, r)
	}
	if err := r.Succeed(StageDone, at); !errors.Is(err, ErrInvalidTransition) || r.Status != StatusFailed {
		t.Errorf("Succeed after failure: %v, %+v", err, r)
	}
}
