package payments

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
)

func TestApplyPayIn(t *testing.T) {
	at := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		from      Status
		payIn     psp.PayIn
		want      Status
		wantError ErrorCode
		wantNext  bool
		block     bool
	}{
		{"3-D Secure needed", StatusProcessing, psp.PayIn{Status: psp.PayInCreated, SecureModeNeeded: true, RedirectURL: "https://bank/3ds"}, StatusRequiresAction, "", true, false},
		{"waiting without redirect", StatusProcessing, psp.PayIn{Status: psp.PayInCreated}, StatusProcessing, "", false, false},
		{"still waiting", StatusRequiresAction, psp.PayIn{Status: psp.PayInCreated, SecureModeNeeded: true, RedirectURL: "https://bank/3ds"}, StatusRequiresAction, "", true, false},
		{"succeeded", StatusRequiresAction, psp.PayIn{Status: psp.PayInSucceeded}, StatusSucceeded, "", false, false},
		{"declined", StatusProcessing, psp.PayIn{Status: psp.PayInFailed, Failure: psp.FailureCardDeclined}, StatusFailed, CodeCardDeclined, false, false},
		{"authentication failed", StatusRequiresAction, psp.PayIn{Status: psp.PayInFailed, Failure: psp.FailureAuthenticationFailed}, StatusFailed, CodeAuthenticationFailed, false, false},
		{"blocked", StatusRequiresAction, psp.PayIn{Status: psp.PayInFailed, Failure: psp.FailureCardBlocked}, StatusFailed, CodeCardBlocked, false, true},
		{"expired at the provider", StatusRequiresAction, psp.PayIn{Status: psp.PayInFailed, Failure: psp.FailureExpired}, StatusCanceled, CodeExpired, false, false},
		{"provider error", StatusProcessing, psp.PayIn{Status: psp.PayInFailed, Failure: psp.FailureProviderError}, StatusFailed, CodeCardDeclined, false, false},
		{"final intent unchanged", StatusCanceled, psp.PayIn{Status: psp.PayInSucceeded}, StatusCanceled, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pi := Intent{ID: "pi_1", Status: tt.from}
			if tt.from == StatusRequiresAction {
				pi.NextAction = &NextAction{Type: NextActionRedirectToURL, RedirectToURL: RedirectToURL{URL: "https://bank/3ds", ReturnURL: "https://shop/r"}}
			}
			block, err := applyPayIn(&pi, tt.payIn, "https://shop/r", at)
			if wantErr := tt.from.Final(); (err != nil) != wantErr || (wantErr && !errors.Is(err, ErrInvalidTransition)) {
				t.Errorf("applyPayIn error = %v, want ErrInvalidTransition only from a final status", err)
			}
			var code ErrorCode
			if pi.LastError != nil {
				code = pi.LastError.Code
			}
			got := []any{pi.Status, code, pi.NextAction != nil, block}
			if diff := cmp.Diff([]any{tt.want, tt.wantError, tt.wantNext, tt.block}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
