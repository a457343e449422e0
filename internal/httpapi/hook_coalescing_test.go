package httpapi_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// Repeated hooks for one resource, whatever their events, wait as one notification: one
// application, one read of the resource at the provider (the job queue polls every 3 s here, so
// that they mostly arrive while the first waits).
func TestRepeatedHooksCoalesce(t *testing.T) {
	e := startPayments(t, storagetest.SQLite, apptest.WithOptions(func(o *app.Options) { o.Jobs.PollInterval = 3 * time.Second }))
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
	// The hooks wait as one notification. Only if the queue picks it up while they still arrive
	// (its poll came early) are the later ones kept as a second: the read under way may predate
	// them. Either way one read of the pay-in per application, never one per hook.
	if kept < 1 || kept > 2 || applied != kept {
		t.Errorf("30 hooks of one pay-in kept as %d notifications (%d applied), want 1 (2 if the queue took the first early)", kept, applied)
	}
	if got := e.fake.Calls("GET /payins/{id}") - reads; got != kept {
		t.Errorf("provider reads of the pay-in = %d, want one per application (%d)", got, kept)
	}
	if got := e.intent(t, pi.ID); got.Status != "succeeded" {
		t.Errorf("intent = %s", got.Status)
	}
}
