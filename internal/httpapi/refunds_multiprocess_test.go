package httpapi_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
)

// TestParallelRefundsMultiProcess: 3 vhupay processes on one PostgreSQL database receive 24
// refunds of 10.00 EUR at once for each of two 120.00 EUR SEPA payments (scheduled: each refund
// succeeds at once): exactly 12 of each go through, the others answer 409
// refund_exceeds_payment, and the buyer's outstanding is back to 0.
func TestParallelRefundsMultiProcess(t *testing.T) {
	_, procs, c := multiProcess(t, 3, 30*time.Second)
	admin := tokenFor(t, auth.RoleAdmin, "")
	var center httpapi.Center
	if !c.must(201, procs[0].url, "POST", "/v1/centers", admin, centerBody("81234567600017"), &center) {
		t.FailNow()
	}
	centerTok := tokenFor(t, auth.RoleCenter, center.ID)
	b := sepaBuyerOnProcesses(t, c, procs, 1, "812345676", admin)
	if b == nil {
		t.FailNow()
	}
	var intents []string
	for i := range 2 {
		var o httpapi.Order
		var pi httpapi.PaymentIntent
		if !c.must(201, procs[i].url, "POST", "/v1/orders", b.tok, orderBody(center.ID, line("P", 1, 10000, nil)), &o) ||
			!c.must(201, procs[i].url, "POST", "/v1/payment-intents", b.tok, map[string]any{"order_id": o.ID, "method": "sepa_debit"}, &pi) {
			t.FailNow()
		}
		intents = append(intents, pi.ID)
	}
	var made, refused [2]atomic.Int32
	var wg sync.WaitGroup
	for j := range 48 {
		wg.Go(func() {
			k := j % 2
			var out map[string]any
			switch st := c.do(procs[j%len(procs)].url, "POST", "/v1/refunds", centerTok,
				map[string]any{"payment_intent_id": intents[k], "amount": 1000, "reason": "part_missing"}, &out); {
			case st == 201:
				made[k].Add(1)
			case st == 409 && out["code"] == "refund_exceeds_payment":
				refused[k].Add(1)
			default:
				t.Errorf("refund: %d %+v", st, out)
			}
		})
	}
	wg.Wait()
	for k := range 2 {
		if made[k].Load() != 12 || refused[k].Load() != 12 {
			t.Errorf("payment %d: %d refunds made, %d refused; want 12 and 12", k, made[k].Load(), refused[k].Load())
		}
		var pi httpapi.PaymentIntent
		c.must(200, procs[2].url, "GET", "/v1/payment-intents/"+intents[k], b.tok, nil, &pi)
		if pi.AmountRefunded != 12000 {
			t.Errorf("payment %d: amount_refunded %d", k, pi.AmountRefunded)
		}
	}
	var p httpapi.SEPAProfile
	c.must(200, procs[0].url, "GET", "/v1/sepa", b.tok, nil, &p)
	if p.Outstanding != 0 {
		t.Errorf("outstanding after the refunds = %d, want 0", p.Outstanding)
	}
}
