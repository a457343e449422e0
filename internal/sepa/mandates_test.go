package sepa

import (
	"testing"

	"github.com/vhupay/vhupay/internal/psp"
)

func TestMandateStatusOf(t *testing.T) {
	tests := map[psp.MandateStatus]MandateStatus{
		psp.MandateCreated:   MandatePendingSignature,
		psp.MandateSubmitted: MandateSubmitted,
		psp.MandateActive:    MandateActive,
		psp.MandateFailed:    MandateFailed,
		psp.MandateExpired:   MandateExpired,
		psp.MandateCancelled: MandateCancelled,
		"":                   MandatePendingSignature,
	}
	for in, want := range tests {
		if got := statusOf(in); got != want {
			t.Errorf("statusOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMandateTransitions(t *testing.T) {
	all := []MandateStatus{MandatePendingSignature, MandateSubmitted, MandateActive, MandateFailed, MandateExpired, MandateCancelled}
	allowed := map[MandateStatus][]MandateStatus{
		MandatePendingSignature: {MandateSubmitted, MandateActive, MandateFailed, MandateExpired, MandateCancelled},
		MandateSubmitted:        {MandateActive, MandateFailed, MandateExpired, MandateCancelled},
		MandateActive:           {MandateFailed, MandateExpired, MandateCancelled},
	}
	for _, from := range all {
		for _, to := range all {
			want := false
			for _, ok := range allowed[from] {
				want = want || ok == to
			}
			if got := from.canBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		if from.Usable() != (from == MandateSubmitted || from == MandateActive) {
			t.Errorf("%s usable = %v", from, from.Usable())
		}
	}
}
