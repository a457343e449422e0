package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// A burst of 500 MangoPay hooks is answered 200 and every one of them is applied (kept before
// the answer, applied by the job queue): before, more than 16 in flight were dropped.
func TestMangoPayHookBurst(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b, fastWebhooks())
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		payIn := payInOf(t, pi)
		if err := e.fake.CompleteSecureMode(payIn); err != nil {
			t.Fatal(err)
		}

		const n = 500
		start := time.Now()
		// Like MangoPay, a hook not answered 200 is sent again (a few times): none may be lost.
		var first, retried atomic.Int32
		var mu sync.Mutex
		var reasons []string
		send := func(resource string) bool {
			q := url.Values{"EventType": {"PAYIN_NORMAL_SUCCEEDED"}, "RessourceId": {resource}, "Date": {"1767225600"}}
			resp, err := http.Get(e.s.URL + "/v1/psp/mangopay/hooks?" + q.Encode())
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return true
				}
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			mu.Lock()
			reasons = append(reasons, err.Error())
			mu.Unlock()
			return false
		}
		var wg sync.WaitGroup
		next := make(chan int)
		for range 32 {
			wg.Go(func() {
				for i := range next {
					resource := fmt.Sprintf("payin_burst_%03d", i)
					if i == n/2 {
						resource = payIn // the one that matters, in the middle of the burst
					}
					if send(resource) {
						first.Add(1)
						continue
					}
					for range 5 {
						if send(resource) {
							retried.Add(1)
							break
						}
					}
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
		if first.Load()+retried.Load() != n {
			t.Fatalf("hooks answered 200: %d at once, %d when sent again; not answered: %v", first.Load(), retried.Load(), reasons)
		}
		if len(reasons) > 0 {
			t.Logf("%d hooks answered 200 only when sent again: %v", retried.Load(), reasons)
		}
		answered := time.Since(start)
		var kept, applied int
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			if err := e.s.App.DB.SQL().QueryRow("SELECT count(*), count(applied_at) FROM provider_notifications").Scan(&kept, &applied); err != nil {
				t.Fatal(err)
			}
			if applied == n || time.Now().After(deadline) {
				break
			}
		}
		t.Logf("%d hooks answered in %s, all applied after %s", n, answered.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		if kept != n || applied != n {
			t.Errorf("notifications kept %d, applied %d, want %d", kept, applied, n)
		}
		if got := e.intent(t, pi.ID); got.Status != "succeeded" {
			t.Errorf("intent after the burst = %s", got.Status)
		}

	})
}

// A refund that fails when it is decided (the provider answers 500) is retried by a job, not only
// at the pay-in's next notification.
func TestFailedRefundRetriedByAJob(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		clk := clock.NewManual(time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC))
		e := startPayments(t, b, apptest.WithBaseClock(clk), fastWebhooks())
		card := e.registerCard(t, e.token, mangopaytest.ChallengeCard)
		o := e.order(t, 1000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		clk.Advance(31 * time.Minute)
		if n, err := e.s.App.Payments.ExpireStale(t.Context()); err != nil || n != 1 {
			t.Fatalf("ExpireStale = %d, %v", n, err)
		}
		// The buyer completes 3-D Secure after the expiry: the money must go back, but the
		// provider fails the refund.
		if err := e.fake.CompleteSecureMode(payInOf(t, pi)); err != nil {
			t.Fatal(err)
		}
		e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/{id}/refunds", Status: 500})
		e.hook(t, "PAYIN_NORMAL_SUCCEEDED", payInOf(t, pi))
		if got := e.fake.Created("refunds"); got != 0 {
			t.Fatalf("refunds during the outage = %d", got)
		}
		e.fake.ClearFaults()
		deadline := time.Now().Add(time.Minute)
		for e.fake.Created("refunds") == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the refund was not retried")
			}
			time.Sleep(50 * time.Millisecond)
		}
		for {
			refund, err := storage.NewPayments(e.s.App.DB).RefundOf(t.Context(), pi.ID)
			if err != nil {
				t.Fatal(err)
			}
			if refund != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the retried refund was not recorded")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := e.fake.Created("refunds"); got != 1 {
			t.Errorf("refunds = %d, want 1", got)
		}
	})
}
