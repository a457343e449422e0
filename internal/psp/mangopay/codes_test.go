package mangopay_test

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
)

func TestMandateStatus(t *testing.T) {
	tests := []struct {
		status, code string
		want         psp.MandateStatus
		failure      psp.FailureCode
	}{
		{"CREATED", "", psp.MandateCreated, ""},
		{"SUBMITTED", "", psp.MandateSubmitted, ""},
		{"ACTIVE", "000000", psp.MandateActive, ""},
		{"EXPIRED", "001835", psp.MandateExpired, psp.FailureMandateCancelled},
		{"FAILED", "001806", psp.MandateCancelled, psp.FailureMandateCancelled},
		{"FAILED", "001805", psp.MandateCancelled, psp.FailureMandateCancelled},
		{"FAILED", "001807", psp.MandateExpired, psp.FailureMandateCancelled},
		{"FAILED", "001801", psp.MandateFailed, psp.FailureAccountClosed},
		{"FAILED", "001804", psp.MandateFailed, psp.FailureMandateCancelled},
		{"FAILED", "009999", psp.MandateFailed, psp.FailureProviderError},
	}
	for _, tt := range tests {
		got, failure := mangopay.MandateStatus(tt.status, tt.code)
		if got != tt.want || failure != tt.failure {
			t.Errorf("MandateStatus(%s, %s) = %s, %s; want %s, %s", tt.status, tt.code, got, failure, tt.want, tt.failure)
		}
	}
}

func TestHooks(t *testing.T) {
	tests := []struct {
		query string
		want  psp.Notification
		ok    bool
	}{
		{"EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=payin_1&Date=1740581497", psp.Notification{Kind: psp.ResourcePayIn, ResourceID: "payin_1", Event: "PAYIN_NORMAL_SUCCEEDED"}, true},
		{"EventType=PAYIN_NORMAL_FAILED&RessourceId=payin_2", psp.Notification{Kind: psp.ResourcePayIn, ResourceID: "payin_2", Event: "PAYIN_NORMAL_FAILED"}, true},
		{"EventType=MANDATE_SUBMITTED&RessourceId=m", psp.Notification{Kind: psp.ResourceMandate, ResourceID: "m", Event: "MANDATE_SUBMITTED"}, true},
		{"EventType=MANDATE_ACTIVATED&RessourceId=m", psp.Notification{Kind: psp.ResourceMandate, ResourceID: "m", Event: "MANDATE_ACTIVATED"}, true},
		{"EventType=MANDATE_FAILED&RessourceId=m", psp.Notification{Kind: psp.ResourceMandate, ResourceID: "m", Event: "MANDATE_FAILED"}, true},
		{"EventType=MANDATE_EXPIRED&RessourceId=m", psp.Notification{Kind: psp.ResourceMandate, ResourceID: "m", Event: "MANDATE_EXPIRED"}, true},
		{"EventType=PAYIN_REPUDIATION_CREATED&RessourceId=r", psp.Notification{Kind: psp.ResourceRepudiation, ResourceID: "r", Event: "PAYIN_REPUDIATION_CREATED"}, true},
		{"EventType=PAYIN_REFUND_SUCCEEDED&ResourceId=rf", psp.Notification{Kind: psp.ResourceRefund, ResourceID: "rf", Event: "PAYIN_REFUND_SUCCEEDED"}, true},
		{"EventType=TRANSFER_NORMAL_SUCCEEDED&RessourceId=t", psp.Notification{Kind: psp.ResourceTransfer, ResourceID: "t", Event: "TRANSFER_NORMAL_SUCCEEDED"}, true},
		{"EventType=TRANSFER_REFUND_FAILED&RessourceId=r", psp.Notification{Kind: psp.ResourceRefund, ResourceID: "r", Event: "TRANSFER_REFUND_FAILED"}, true},
		{"EventType=PAYOUT_NORMAL_FAILED&RessourceId=po", psp.Notification{Kind: psp.ResourcePayout, ResourceID: "po", Event: "PAYOUT_NORMAL_FAILED"}, true},
		{"EventType=INSTANT_PAYOUT_FALLBACKED&RessourceId=po", psp.Notification{Kind: psp.ResourcePayout, ResourceID: "po", Event: "INSTANT_PAYOUT_FALLBACKED"}, true},
		{"EventType=PAYOUT_REFUND_SUCCEEDED&RessourceId=r", psp.Notification{Kind: psp.ResourceRefund, ResourceID: "r", Event: "PAYOUT_REFUND_SUCCEEDED"}, true},
		{"EventType=DISPUTE_CREATED&RessourceId=d", psp.Notification{Kind: psp.ResourceDispute, ResourceID: "d", Event: "DISPUTE_CREATED"}, true},
		{"EventType=DISPUTE_FURTHER_ACTION_REQUIRED&RessourceId=d", psp.Notification{Kind: psp.ResourceDispute, ResourceID: "d", Event: "DISPUTE_FURTHER_ACTION_REQUIRED"}, true},
		{"EventType=DISPUTE_CLOSED&RessourceId=d", psp.Notification{Kind: psp.ResourceDispute, ResourceID: "d", Event: "DISPUTE_CLOSED"}, true},
		{"EventType=DISPUTE_DOCUMENT_SUCCEEDED&RessourceId=doc", psp.Notification{}, false},
		{"EventType=PAYIN_REPUDIATION_SUCCEEDED&RessourceId=r", psp.Notification{Kind: psp.ResourceRepudiation, ResourceID: "r", Event: "PAYIN_REPUDIATION_SUCCEEDED"}, true},
		{"EventType=TRANSFER_SETTLEMENT_SUCCEEDED&RessourceId=s", psp.Notification{Kind: psp.ResourceSettlement, ResourceID: "s", Event: "TRANSFER_SETTLEMENT_SUCCEEDED"}, true},
		{"EventType=SCA_ENROLLMENT_SUCCEEDED&RessourceId=u", psp.Notification{Kind: psp.ResourceOwner, ResourceID: "u", Event: "SCA_ENROLLMENT_SUCCEEDED"}, true},
		{"EventType=USER_KYC_REGULAR&RessourceId=u", psp.Notification{Kind: psp.ResourceOwner, ResourceID: "u", Event: "USER_KYC_REGULAR"}, true},
		{"EventType=RECIPIENT_ACTIVE&RessourceId=rec", psp.Notification{Kind: psp.ResourcePayoutAccount, ResourceID: "rec", Event: "RECIPIENT_ACTIVE"}, true},
		{"EventType=KYC_SUCCEEDED&RessourceId=k", psp.Notification{}, false},
		{"EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=", psp.Notification{}, false}, // dashboard test ping
		{"", psp.Notification{}, false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, ok := mangopay.ParseHook(q)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseHook(%s) = %+v, %v; want %+v, %v", tt.query, got, ok, tt.want, tt.ok)
		}
	}
}
