package httpapi_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// Repeated hooks for one resource, whatever their events, wait as one notification: one
// application, one read of the resource at the provider. How many notifications 30 hooks make
// depends on how often the queue picks one up while they arrive (its notifications queue polls
// every 200 ms, and a slow machine spreads the 30 requests over several polls); the storage test
// TestProviderNotificationsQueue pins the rule itself deterministically. Here: far fewer than one per
// hook, and exactly one provider read per application.
func TestRepeatedHooksCoalesce(t *testing.T) {
	e := startPayments(t, storagetest.SQLite)
	card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
	o := e.order(t, 1000)
	pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
	payIn := payInOf(t, pi)
	if err := e.fake.CompleteSecureMode(payIn); err != nil {
		t.Fatal(err)
	}
	reads := e.fake.Calls("GET /payins/{id}")
	for i := range 30 {
		event := []string{"PAYIN_NORMAL_CREATED", "PAYIN_NORMAL_SUCCEEDED", "PAYIN_NORMAL_FAILED"}[i%3]
		q := url.Values{"EventType": {event}, "RessourceId": {payIn}, "Date": {"1767225600"}}
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/psp/mangopay/hooks?" + q.Encode()}).Expect(t, 200)
	}
	var kept, applied int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := e.s.App.DB.SQL().QueryRow("SELECT count(*), count(applied_at) FROM provider_notifications").Scan(&kept, &applied); err != nil {
			t.Fatal(err)
		}
		if (kept > 0 && applied == kept) || time.Now().After(deadline) {
			break
		}
	}
	// A hook arriving while a notification waits joins it; one arriving while it is applied is
	// kept as the next (the read under way may predate it). Never one per hook.
	if kept < 1 || kept > 10 || applied != kept {
		t.Errorf("30 hooks of one pay-in kept as %d notifications (%d applied), want 1 to 10 (one per queue pick-up)", kept, applied)
	}
	if got := e.fake.Calls("GET /payins/{id}") - reads; got != kept {
		t.Errorf("provider reads of the pay-in = %d, want one per application (%d)", got, kept)
	}
	if got := e.intent(t, pi.ID); got.Status != "succeeded" {
		t.Errorf("intent = %s", got.Status)
	}
}
