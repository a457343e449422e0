package psp_test

import (
	"testing"

	"github.com/vhupay/vhupay/internal/psp"
)

func TestPayInFailure(t *testing.T) {
	tests := []struct {
		method psp.PayInMethod
		code   string
		want   psp.FailureCode
	}{
		{psp.PayInCard, "", ""},
		{psp.PayInCard, "000000", ""},
		{psp.PayInCard, "101101", psp.FailureCardDeclined},
		{psp.PayInCard, "101105", psp.FailureCardDeclined},
		{psp.PayInCard, "101199", psp.FailureCardDeclined},
		{psp.PayInCard, "101117", psp.FailureCardDeclined}, // unknown refusal: by family
		{psp.PayInCard, "008006", psp.FailureCardDeclined},
		{psp.PayInCard, "008505", psp.FailureCardDeclined}, // fraud rule: by family
		{psp.PayInCard, "101301", psp.FailureAuthenticationFailed},
		{psp.PayInCard, "101399", psp.FailureAuthenticationFailed},
		{psp.PayInCard, "101306", psp.FailureAuthenticationFailed}, // unknown 3DS code: by family
		{psp.PayInCard, "008511", psp.FailureAuthenticationFailed},
		{psp.PayInCard, "001031", psp.FailureAuthenticationFailed},
		{psp.PayInCard, "101304", psp.FailureExpired},
		{psp.PayInCard, "001034", psp.FailureExpired},
		{psp.PayInCard, "101111", psp.FailureCardBlocked},
		{psp.PayInCard, "008002", psp.FailureCardBlocked},
		{psp.PayInCard, "008003", psp.FailureCardBlocked},
		{psp.PayInCard, "101410", psp.FailureCardBlocked},
		{psp.PayInCard, "009199", psp.FailureProviderError},
		{psp.PayInCard, "001830", psp.FailureProviderError}, // a SEPA code on a card pay-in
		{psp.PayInDirectDebit, "001830", psp.FailureInsufficientFunds},
		{psp.PayInDirectDebit, "001801", psp.FailureAccountClosed},
		{psp.PayInDirectDebit, "001802", psp.FailureAccountClosed},
		{psp.PayInDirectDebit, "001805", psp.FailureMandateCancelled},
		{psp.PayInDirectDebit, "001833", psp.FailureMandateCancelled},
		{psp.PayInDirectDebit, "001835", psp.FailureMandateCancelled},
		{psp.PayInDirectDebit, "001834", psp.FailurePaymentDisputed},
		{psp.PayInDirectDebit, "001831", psp.FailureProviderError},
		{psp.PayInDirectDebit, "101101", psp.FailureProviderError},
		{psp.PayInDirectDebit, "999999", psp.FailureProviderError},
	}
	for _, tt := range tests {
		if got := psp.PayInFailure(tt.method, tt.code); got != tt.want {
			t.Errorf("PayInFailure(%s, %s) = %q, want %q", tt.method, tt.code, got, tt.want)
		}
	}
}
