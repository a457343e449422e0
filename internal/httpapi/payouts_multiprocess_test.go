package httpapi_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage"
)

// TestPayoutsMultiProcess: 3 vhupay processes on one PostgreSQL database. 12 payouts of 30.00 of
// a centre with 120.00 available, asked at once across the processes, make exactly 4; the Monday
// run, which every process checks, pays the centre out once.
func TestPayoutsMultiProcess(t *testing.T) {
	dbURL, procs, c := multiProcess(t, 3, 30*time.Second)
	ctx := context.Background()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	admin := tokenFor(t, auth.RoleAdmin, "")
	// The latest Monday's run is made now, with nobody to pay.
	c.must(200, procs[0].url, "PUT", "/v1/sandbox/clock", admin, map[string]any{"now": time.Now().Add(time.Minute).Format(time.RFC3339)}, nil)

	var center httpapi.Center
	var buyer httpapi.Buyer
	if !c.must(201, procs[0].url, "POST", "/v1/centers", admin, centerBody("81234567600017"), &center) ||
		!c.must(201, procs[1].url, "POST", "/v1/buyers", admin, buyerBody("812345676"), &buyer) {
		t.FailNow()
	}
	ctok, btok := tokenFor(t, auth.RoleCenter, center.ID), tokenFor(t, auth.RoleBuyer, buyer.ID)
	card := cardOnProcess(t, c, procs[2].url, btok)
	earn := func(base string) {
		t.Helper()
		var o httpapi.Order
		var pi httpapi.PaymentIntent
		if !c.must(201, base, "POST", "/v1/orders", btok, orderBody(center.ID, line("P", 1, 10000, nil)), &o) ||
			!c.must(201, base, "POST", "/v1/payment-intents", btok, map[string]any{"order_id": o.ID, "method": "card", "card_id": card,
				"return_url": returnURL}, &pi) || pi.Status != "succeeded" {
			t.Fatalf("card payment = %+v", pi)
		}
		// The processes' transfer job moves the earning to the centre's wallet.
		waitFor(t, func() bool {
			pending, err := storage.NewCenterTransfers(db).PendingTransfers(ctx, 10)
			return err == nil && len(pending) == 0
		})
	}
	earn(procs[0].url)
	if !c.must(201, procs[1].url, "POST", "/v1/bank-accounts", ctok, payoutAccountBody(ibanPayout), nil) {
		t.FailNow()
	}

	var made, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 12 {
		wg.Go(func() {
			<-start
			var p map[string]any
			switch st := c.do(procs[i%len(procs)].url, "POST", "/v1/payouts", ctok, map[string]any{"amount": 3000}, &p); st {
			case 201:
				made.Add(1)
			case 409:
				if p["code"] != "insufficient_balance" {
					t.Errorf("409 %v", p["code"])
				}
				refused.Add(1)
			default:
				t.Errorf("payout answered %d", st)
			}
		})
	}
	close(start)
	wg.Wait()
	if made.Load() != 4 || refused.Load() != 8 {
		t.Errorf("made %d, refused %d; want 4 and 8", made.Load(), refused.Load())
	}
	var bal httpapi.Balance
	c.must(200, procs[2].url, "GET", "/v1/balance", ctok, nil, &bal)
	if bal.Available != 0 || bal.InTransit != 12000 {
		t.Errorf("balance = %+v", bal)
	}

	// The Monday run: every process checks it; one payout.
	earn(procs[1].url)
	local := time.Now().In(clock.Paris())
	monday := time.Date(local.Year(), local.Month(), local.Day()+(8-int(local.Weekday()))%7, 6, 0, 30, 0, clock.Paris())
	if !monday.After(local) {
		monday = monday.AddDate(0, 0, 7)
	}
	for i, p := range procs { // each process moves past it (one after the other: time only moves forward)
		c.must(200, p.url, "PUT", "/v1/sandbox/clock", admin, map[string]any{"now": monday.Add(time.Duration(i) * time.Second).Format(time.RFC3339)}, nil)
	}
	var list httpapi.PayoutList
	waitFor(t, func() bool {
		c.must(200, procs[0].url, "GET", "/v1/payouts?center_id="+center.ID+"&limit=100", admin, nil, &list)
		return len(list.Data) == 5
	})
	time.Sleep(3 * time.Second) // the processes' own checks come by meanwhile
	c.must(200, procs[2].url, "GET", "/v1/payouts?center_id="+center.ID+"&limit=100", admin, nil, &list)
	automatic := 0
	for _, p := range list.Data {
		if p.Automatic {
			automatic++
			if p.Amount != 12000 {
				t.Errorf("automatic payout = %+v", p)
			}
		}
	}
	if len(list.Data) != 5 || automatic != 1 {
		t.Errorf("payouts after the Monday run: %d, %d automatic", len(list.Data), automatic)
	}
	c.must(200, procs[0].url, "GET", "/v1/balance", ctok, nil, &bal)
	if bal.Available != 0 {
		t.Errorf("balance after the Monday run = %+v", bal)
	}
}
