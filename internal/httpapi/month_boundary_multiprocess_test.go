package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// multiProcess skips the test unless PostgreSQL is configured (and not in -short mode), then
// starts n `vhupay serve` processes (with extra settings) on a fresh database and returns its URL,
// the processes and a client whose requests time out after timeout.
func multiProcess(t *testing.T, n int, timeout time.Duration, extra ...string) (string, []*process, apiClient) {
	t.Helper()
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skip("multi-process test skipped: it needs PostgreSQL; set " + storagetest.EnvPostgres +
			" (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	dbURL := storagetest.URL(t, storagetest.Postgres)
	procs := startProcesses(t, dbURL, n, extra...)
	return dbURL, procs, apiClient{t: t, http: &http.Client{Timeout: timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
}

// mpBuyer is a buyer made over the processes' API, with its token.
type mpBuyer struct {
	httpapi.Buyer
	tok string
}

// sepaBuyerOnProcesses creates a buyer on procs[i], signs a mandate and waits until the buyer may
// pay by SEPA, reading from the other processes. It returns nil (with the error recorded) when
// something failed; it may run in any goroutine.
func sepaBuyerOnProcesses(t *testing.T, c apiClient, procs []*process, i int, siren, admin string) *mpBuyer {
	base := procs[i%len(procs)].url
	b := &mpBuyer{}
	if !c.must(201, base, "POST", "/v1/buyers", admin, buyerBody(siren), &b.Buyer) {
		return nil
	}
	b.tok = tokenFor(t, auth.RoleBuyer, b.ID)
	var a httpapi.BankAccount
	var m httpapi.Mandate
	if !c.must(201, base, "POST", "/v1/bank-accounts", b.tok, bankAccountBody(ibanFR), &a) ||
		!c.must(201, base, "POST", "/v1/bank-accounts/"+a.ID+"/mandates", b.tok, map[string]any{"return_url": "https://shop.example/sepa"}, &m) {
		return nil
	}
	if err := postSign(m.SignatureURL); err != nil {
		t.Error(err)
		return nil
	}
	// The signature reaches vhupay by the sandbox's notification or the mandate's refresh; the
	// score check follows it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var p httpapi.SEPAProfile
		if !c.must(200, procs[(i+1)%len(procs)].url, "GET", "/v1/mandates/"+m.ID, b.tok, nil, &m) ||
			!c.must(200, procs[(i+2)%len(procs)].url, "GET", "/v1/sepa", b.tok, nil, &p) {
			return nil
		}
		if p.Enabled {
			return b
		}
		if time.Now().After(deadline) {
			t.Errorf("buyer %s not enabled: mandate %s, profile %+v", b.ID, m.Status, p)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// monthEnd is what the multi-process month-boundary runs start from: the test clock 2 minutes
// before midnight at the end of next month (time only moves forward), one centre, and buyers who
// may pay by SEPA and by invoice, each with its orders.
type monthEnd struct {
	month, next string // the month that ends and the one after it
	midnight    time.Time
	center      httpapi.Center
	buyers      []*mpBuyer
	orders      [][]httpapi.Order // by buyer
}

// acrossMonthEnd sets the test clock and creates the centre and a buyer per siren (a signed
// mandate, a score, an approved invoicing account) with perBuyer orders each, the j-th of
// amount(j) cents; the test stops when something failed.
func acrossMonthEnd(t *testing.T, c apiClient, procs []*process, admin string, sirens []string, perBuyer int, amount func(j int) int64) monthEnd {
	t.Helper()
	now := time.Now().In(clock.Paris())
	e := monthEnd{month: clock.MonthOf(now.AddDate(0, 0, 32-now.Day()))} // next month
	_, midnight, err := clock.MonthBounds(e.month)
	if err != nil {
		t.Fatal(err)
	}
	e.midnight, e.next = midnight, clock.MonthOf(midnight)
	if !c.must(200, procs[0].url, "PUT", "/v1/sandbox/clock", admin, map[string]any{"now": midnight.Add(-2 * time.Minute).Format(time.RFC3339Nano)}, nil) ||
		!c.must(201, procs[0].url, "POST", "/v1/centers", admin, centerBody("81234567600017"), &e.center) {
		t.FailNow()
	}
	// Every process follows the test clock within about a second: wait until each reads the move,
	// or a buyer set up on a late one gets its score dated today (real time), which is stale at
	// the month's end when that is more than 31 days away.
	for _, p := range procs {
		deadline := time.Now().Add(15 * time.Second)
		for {
			var st httpapi.ClockState
			if code := c.do(p.url, "GET", "/v1/sandbox/clock", admin, nil, &st); code == 200 && !st.Now.Before(midnight.Add(-2*time.Minute)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %s does not follow the test clock", p.url)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	centerTok := tokenFor(t, auth.RoleCenter, e.center.ID)
	e.buyers, e.orders = make([]*mpBuyer, len(sirens)), make([][]httpapi.Order, len(sirens))
	var wg sync.WaitGroup
	for i, siren := range sirens {
		wg.Go(func() {
			b := sepaBuyerOnProcesses(t, c, procs, i, siren, admin)
			if b == nil {
				return
			}
			var acc httpapi.InvoicingAccount
			if !c.must(201, procs[i%len(procs)].url, "POST", "/v1/invoicing-accounts", b.tok, map[string]any{"center_id": e.center.ID}, &acc) ||
				!c.must(200, procs[(i+1)%len(procs)].url, "POST", "/v1/invoicing-accounts/"+acc.ID+"/approve", centerTok, nil, &acc) {
				return
			}
			for j := range perBuyer {
				var o httpapi.Order
				if !c.must(201, procs[j%len(procs)].url, "POST", "/v1/orders", b.tok, orderBody(e.center.ID, line("P", 1, amount(j), 0)), &o) {
					return
				}
				e.orders[i] = append(e.orders[i], o)
			}
			e.buyers[i] = b
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return e
}

// TestMonthBoundaryMultiProcess: 3 vhupay processes on one PostgreSQL database take 180 SEPA and
// invoice payments fired across midnight on the 1st while the processes' schedulers start and
// run the month's close (each process sees the test clock's month change at its own moment). No
// payment is stranded: every SEPA payment of the closed month is in a collection, every invoice
// payment of it is on an issued statement, the later ones count in the new month, and the
// stranded listing is empty.
func TestMonthBoundaryMultiProcess(t *testing.T) {
	dbURL, procs, c := multiProcess(t, 3, 60*time.Second)
	admin := tokenFor(t, auth.RoleAdmin, "")

	const ordersPerBuyer = 60 // 30 SEPA, 30 invoice
	env := acrossMonthEnd(t, c, procs, admin, []string{"812345676", "823456785", "834567893"}, ordersPerBuyer,
		func(j int) int64 { return int64(100 + j) })
	month, next, midnight, buyers, orders := env.month, env.next, env.midnight, env.buyers, env.orders
	var wg sync.WaitGroup

	// Fire the payments over 5 s, round-robin over the processes. 1.5 s in, the first process moves
	// the test clock past midnight: the other processes' copies of the clock follow up to 1 s
	// later, while the close starts at once.
	began := time.Now()
	wg.Go(func() {
		time.Sleep(1500 * time.Millisecond)
		c.must(200, procs[0].url, "PUT", "/v1/sandbox/clock", admin, map[string]any{"now": midnight.Add(500 * time.Millisecond).Format(time.RFC3339Nano)}, nil)
		// An operator starts the close at once on that process (or its scheduler has: 200).
		if code := c.do(procs[0].url, "POST", "/v1/admin/month-closes", admin, map[string]any{"month": month}, nil); code != 202 && code != 200 {
			t.Errorf("start the close of %s: %d", month, code)
		}
	})
	type result struct {
		order  httpapi.Order
		method string
		status int
		pi     httpapi.PaymentIntent
		body   string
	}
	var mu sync.Mutex
	var results []result
	total := len(buyers) * ordersPerBuyer
	spread := 5 * time.Second
	k := 0
	for j := range ordersPerBuyer {
		for i, b := range buyers {
			o, n := orders[i][j], k
			method := "sepa_debit"
			if j%2 == 1 {
				method = "vhu_invoice"
			}
			k++
			wg.Go(func() {
				time.Sleep(time.Until(began.Add(spread * time.Duration(n) / time.Duration(total))))
				var raw json.RawMessage
				r := result{order: o, method: method}
				r.status = c.do(procs[n%3].url, "POST", "/v1/payment-intents", b.tok, map[string]any{"order_id": o.ID, "method": method}, &raw)
				if r.status == 201 {
					_ = json.Unmarshal(raw, &r.pi)
				}
				r.body = string(raw)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	t.Logf("%d payments on %d processes in %s across midnight", len(results), len(procs), time.Since(began).Round(time.Millisecond))

	// The close of the month completes.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var mc httpapi.MonthClose
		code := c.do(procs[2].url, "GET", "/v1/admin/month-closes/"+month, admin, nil, &mc)
		if code == 200 && mc.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the close of %s: %d %+v", month, code, mc)
		}
		time.Sleep(200 * time.Millisecond)
	}

	db, err := storage.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := map[string]int{}
	for _, r := range results {
		if r.status != 201 || r.pi.Status != "scheduled" {
			t.Errorf("%s payment of order %s answered %d %s", r.method, r.order.ID, r.status, r.body)
			continue
		}
		createdIn := clock.MonthOf(r.pi.CreatedAt)
		switch r.method {
		case "sepa_debit":
			var collectionMonth string
			var collected bool
			if err := db.SQL().QueryRow(`SELECT collection_month, EXISTS (SELECT 1 FROM sepa_collection_intents l WHERE l.intent_id = payment_intents.id) FROM payment_intents WHERE id = $1`, r.pi.ID).
				Scan(&collectionMonth, &collected); err != nil {
				t.Fatal(err)
			}
			counts[fmt.Sprintf("sepa created %s counts %s", createdIn, collectionMonth)]++
			switch {
			case collectionMonth == month && !collected:
				t.Errorf("SEPA intent %s of %s has no collection: stranded", r.pi.ID, month)
			case collectionMonth == next && collected:
				t.Errorf("SEPA intent %s of %s is already collected", r.pi.ID, next)
			case collectionMonth != month && collectionMonth != next:
				t.Errorf("SEPA intent %s counts in %s", r.pi.ID, collectionMonth)
			}
		case "vhu_invoice":
			var stMonth, status string
			if err := db.SQL().QueryRow(`SELECT s.month, s.status FROM statement_orders so JOIN statements s ON s.id = so.statement_id
				WHERE so.intent_id = $1`, r.pi.ID).Scan(&stMonth, &status); err != nil {
				t.Fatalf("statement of intent %s: %v", r.pi.ID, err)
			}
			counts[fmt.Sprintf("invoice created %s counts %s", createdIn, stMonth)]++
			if want := map[string]string{month: "issued", next: "open"}[stMonth]; status != want {
				t.Errorf("invoice intent %s is on a %s statement of %s, want %q", r.pi.ID, status, stMonth, want)
			}
		}
		var orderStatus string
		var intents int
		if err := db.SQL().QueryRow(`SELECT o.status, (SELECT COUNT(*) FROM payment_intents i WHERE i.order_id = o.id) FROM orders o WHERE o.id = $1`,
			r.order.ID).Scan(&orderStatus, &intents); err != nil {
			t.Fatal(err)
		}
		if orderStatus != "confirmed" || intents != 1 {
			t.Errorf("order %s: %s with %d intents", r.order.ID, orderStatus, intents)
		}
	}
	t.Logf("payments by month of creation and month counted in: %v", counts)
	var st httpapi.MonthCloseStranded
	if c.must(200, procs[0].url, "GET", "/v1/admin/month-closes/"+month+"/stranded", admin, nil, &st) &&
		(st.PaymentIntentCount != 0 || st.StatementCount != 0) {
		t.Errorf("stranded after the close of %s: %+v", month, st)
	}
}
