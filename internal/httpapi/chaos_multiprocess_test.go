package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage"
)

// chaosPayments is the chaos run's number of payments unless VHUPAY_CHAOS_PAYMENTS says otherwise
// (a bigger run by hand: VHUPAY_CHAOS_PAYMENTS=2000).
const chaosPayments = 500

// chaosOutcome is what the client finally got for one order's payment.
type chaosOutcome struct {
	order    httpapi.Order
	method   string
	attempts int
	status   int // the last answer's status (0: none)
	code     string
	detail   string // the last problem's detail and reasons, for the log
	// waitedForKey: an attempt found the key held by a request that died with its process.
	waitedForKey bool
}

// payWithRetries pays order by method (with cardID for a card payment) with one Idempotency-Key for all attempts, as a careful
// client does: a network error or a 5xx is retried on the next process 250 ms later, and
// idempotency_key_in_use every 2 s — a request that died with its process holds its key until
// the key's lock ends (idempotency.Lock) —; any other answer is final. It gives up after the lock
// and 30 s more.
func payWithRetries(client *http.Client, procs []*process, first int, token string, o httpapi.Order, method, cardID string) chaosOutcome {
	out := chaosOutcome{order: o, method: method}
	req := map[string]any{"order_id": o.ID, "method": method}
	if method == "card" {
		req["card_id"], req["return_url"] = cardID, "https://shop.example/return"
	}
	body, _ := json.Marshal(req)
	deadline := time.Now().Add(idempotency.Lock + 30*time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		out.attempts++
		req, _ := http.NewRequest("POST", procs[(first+attempt)%len(procs)].url+"/v1/payment-intents", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "chaos-"+o.ID)
		resp, err := client.Do(req)
		if err != nil {
			out.status, out.code = 0, err.Error()
			time.Sleep(250 * time.Millisecond)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p httpapi.Problem
		_ = json.Unmarshal(raw, &p)
		out.status, out.code, out.detail = resp.StatusCode, p.Code, ""
		if resp.StatusCode >= 400 {
			out.detail = string(raw) // the whole problem: its detail and reasons
		}
		switch {
		case p.Code == "idempotency_key_in_use":
			out.waitedForKey = true
			time.Sleep(2 * time.Second)
		case resp.StatusCode >= 500:
			time.Sleep(250 * time.Millisecond)
		default:
			return out
		}
	}
	return out
}

// cardOnProcess registers the sandbox's frictionless test card for the buyer through process
// base, as a front end does (start a registration, post the card form to the tokenisation URL,
// hand the answer back), and returns the card's id ("" with the error recorded on failure).
func cardOnProcess(t *testing.T, c apiClient, base, token string) string {
	var cr httpapi.CardRegistration
	if !c.must(201, base, "POST", "/v1/card-registrations", token, map[string]any{}, &cr) {
		return ""
	}
	resp, err := http.PostForm(cr.CardRegistrationURL, url.Values{"data": {cr.PreregistrationData}, "accessKeyRef": {cr.AccessKey},
		"cardNumber": {sandbox.FrictionlessCard}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"}})
	if err != nil {
		t.Error(err)
		return ""
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res httpapi.CardRegistrationResult
	if !c.must(200, base, "PUT", "/v1/card-registrations/"+cr.ID, token, map[string]any{"registration_data": string(data)}, &res) {
		return ""
	}
	return res.CardID
}

// dropConnections ends every other session on the test's database, as a database failover or a
// network cut would: the processes' pooled connections break under them.
func dropConnections(t *testing.T, db *storage.DB) int {
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Errorf("drop the connections: %v", err)
	}
	return n
}

// TestChaosRun is the chaos run of docs/reliability.md: 3 `vhupay serve` processes on one
// PostgreSQL database take 500 SEPA, invoice and card payments of 5 buyers across midnight on the
// 1st (test clock) while the month's close starts and runs; meanwhile one process is killed
// (SIGKILL) and restarted, the process that started the close is killed and restarted, and every
// database connection is dropped three times. Clients retry with an Idempotency-Key. Afterwards
// every order is paid exactly once, every SEPA payment of the closed month is in exactly one
// collection (and none of the next month is), every invoice payment is on one statement of its
// month (issued for the closed month), every provider pay-in is kept by a collection or an intent
// or refunded and the card money taken is the succeeded card intents' (no orphan charge), and the
// stranded listing is empty.
func TestChaosRun(t *testing.T) {
	n := chaosPayments
	if v := os.Getenv("VHUPAY_CHAOS_PAYMENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 || n > 3000 {
			t.Fatalf("VHUPAY_CHAOS_PAYMENTS=%q: want a number from 10 to 3000", v)
		}
	}
	dbURL, procs, c := multiProcess(t, 3, 30*time.Second, "VHUPAY_MONTH_CLOSE_TIMEOUT=8s", "VHUPAY_JOB_RESCUE_AFTER=10s")
	admin := tokenFor(t, auth.RoleAdmin, "")
	ctx := context.Background()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// 5 buyers, each able to pay by SEPA, by invoice and by card, with n/5 orders each paid in
	// turn by SEPA (0.50 to 0.99 EUR: up to 3,000 payments fit in the 250 EUR ceilings), invoice
	// and card.
	perBuyer := n / 5
	env := acrossMonthEnd(t, c, procs, admin, []string{"812345676", "823456785", "834567893", "845678903", "856789011"}, perBuyer,
		func(j int) int64 { return int64(50 + j%50) })
	month, next, midnight, buyers, orders := env.month, env.next, env.midnight, env.buyers, env.orders
	var wg sync.WaitGroup
	cards := make([]string, len(buyers)) // the sandbox's frictionless test card of each buyer
	for i, b := range buyers {
		wg.Go(func() { cards[i] = cardOnProcess(t, c, procs[i%len(procs)].url, b.tok) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The payments, spread over the window; the faults at fixed points of it.
	window := time.Duration(n) * 20 * time.Millisecond // 10 s for 500
	began := time.Now()
	at := func(f float64) { time.Sleep(time.Until(began.Add(time.Duration(f * float64(window))))) }
	var faults []string
	var faultsMu sync.Mutex
	fault := func(format string, args ...any) {
		faultsMu.Lock()
		defer faultsMu.Unlock()
		faults = append(faults, fmt.Sprintf("%5.1fs ", time.Since(began).Seconds())+fmt.Sprintf(format, args...))
	}
	var dropped atomic.Int64
	wg.Go(func() {
		at(0.2)
		dropped.Add(int64(dropConnections(t, db)))
		fault("database connections dropped")
		at(0.3)
		procs[2].kill()
		fault("process 2 killed (SIGKILL)")
		at(0.45)
		c.must(200, procs[0].url, "PUT", "/v1/sandbox/clock", admin, map[string]any{"now": midnight.Add(500 * time.Millisecond).Format(time.RFC3339Nano)}, nil)
		code := c.do(procs[0].url, "POST", "/v1/admin/month-closes", admin, map[string]any{"month": month}, nil)
		fault("test clock moved past midnight on process 0, close of %s started there (%d)", month, code)
		at(0.5)
		dropped.Add(int64(dropConnections(t, db)))
		fault("database connections dropped")
		at(0.65)
		procs[2].restart(t)
		fault("process 2 restarted")
		at(0.75)
		procs[0].kill()
		fault("process 0 killed (SIGKILL)")
		at(0.8)
		dropped.Add(int64(dropConnections(t, db)))
		fault("database connections dropped")
		at(0.9)
		procs[0].restart(t)
		fault("process 0 restarted")
	})
	client := &http.Client{Timeout: 15 * time.Second}
	var mu sync.Mutex
	var outcomes []chaosOutcome
	k := 0
	for j := range perBuyer {
		for i, b := range buyers {
			o, seq := orders[i][j], k
			method := []string{"sepa_debit", "vhu_invoice", "card"}[j%3]
			k++
			wg.Go(func() {
				time.Sleep(time.Until(began.Add(window * time.Duration(seq) / time.Duration(n))))
				r := payWithRetries(client, procs, seq, b.tok, o, method, cards[i])
				mu.Lock()
				outcomes = append(outcomes, r)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(began)
	for _, f := range faults {
		t.Log(f)
	}

	// The close completes (a killed runner's job is rescued after 10 s).
	closeDeadline := time.Now().Add(3 * time.Minute)
	for {
		var mc httpapi.MonthClose
		code := c.do(procs[1].url, "GET", "/v1/admin/month-closes/"+month, admin, nil, &mc)
		if code == 200 && mc.Status == "completed" {
			break
		}
		if code == 200 && mc.Status == "failed" {
			c.do(procs[1].url, "POST", "/v1/admin/month-closes", admin, map[string]any{"month": month}, nil)
		}
		if time.Now().After(closeDeadline) {
			t.Fatalf("the close of %s: %d %+v", month, code, mc)
		}
		time.Sleep(250 * time.Millisecond)
	}
	closed := time.Since(began)

	// Every order paid exactly once, whatever the client was last told.
	count := func(q string, args ...any) int {
		t.Helper()
		var v int
		if err := db.SQL().QueryRow(q, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	retried, waited, answered, byAnswer, others := 0, 0, 0, map[string]int{}, map[string]int{}
	for _, r := range outcomes {
		if r.attempts > 1 {
			retried++
		}
		if r.waitedForKey {
			waited++
		}
		key := fmt.Sprintf("%s %d %s", r.method, r.status, r.code)
		byAnswer[key]++
		switch {
		case r.status == 201:
			answered++
		case r.status == 409 && r.code == "order_not_payable": // an earlier attempt paid it; its answer was lost
			answered++
		default:
			t.Errorf("order %s (%s): last answer %d %s after %d attempts: %s", r.order.ID, r.method, r.status, r.code, r.attempts, r.detail)
		}
		var status string
		var live int
		if err := db.SQL().QueryRow(`SELECT o.status,
				(SELECT COUNT(*) FROM payment_intents i WHERE i.order_id = o.id AND i.status IN ('scheduled', 'succeeded'))
			FROM orders o WHERE o.id = $1`, r.order.ID).Scan(&status, &live); err != nil {
			t.Fatal(err)
		}
		if status != "confirmed" || live != 1 {
			t.Errorf("order %s (%s): %s with %d intents scheduled or succeeded, want confirmed with one", r.order.ID, r.method, status, live)
		}
		// Other intents: none for SEPA and invoice; for a card, intents that ended without money
		// (an attempt given up before its charge), which a careful client may leave behind.
		rows, err := db.SQL().Query(`SELECT status, COALESCE(last_error_code, ''), provider_payin_id IS NOT NULL FROM payment_intents
			WHERE order_id = $1 AND status NOT IN ('scheduled', 'succeeded')`, r.order.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var st, code string
			var charged bool
			if err := rows.Scan(&st, &code, &charged); err != nil {
				t.Fatal(err)
			}
			others[fmt.Sprintf("%s %s %s, pay-in %v", r.method, st, code, charged)]++
			if r.method != "card" || (st != "canceled" && st != "failed") {
				t.Errorf("order %s (%s) has another intent, %s %s", r.order.ID, r.method, st, code)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Cards: each card order's intent succeeded with one pay-in; every pay-in the provider took is
	// kept by an intent or refunded (a charge whose answer was lost is resumed by a retry with the
	// same key or by the resume job; one that nothing keeps is refunded by the sweep), so the money
	// taken is exactly the succeeded card intents'.
	cardIntents := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'card' AND status = 'succeeded'`)
	var charged, kept int64
	if err := db.SQL().QueryRow(`SELECT
			(SELECT COALESCE(SUM(amount - refunded), 0) FROM sandbox_payins WHERE method = 'card' AND status = 'succeeded'),
			(SELECT COALESCE(SUM(amount), 0) FROM payment_intents WHERE method = 'card' AND status = 'succeeded')`).Scan(&charged, &kept); err != nil {
		t.Fatal(err)
	}
	if charged != kept {
		t.Errorf("card pay-ins net of refunds %d cents, succeeded card intents %d cents", charged, kept)
	}
	refundedCard := count(`SELECT COUNT(*) FROM sandbox_payins WHERE method = 'card' AND refunded > 0`)

	// SEPA: the closed month's payments are each in one collection whose amount is their sum, the
	// next month's are in none; each buyer's outstanding is the sum of its payments of the month.
	sepaClosed := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'sepa_debit' AND collection_month = $1`, month)
	sepaNext := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'sepa_debit' AND collection_month = $1`, next)
	moved := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'sepa_debit' AND collection_month = $1 AND created_at < $2`, next, midnight)
	if uncollected := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'sepa_debit' AND collection_month = $1 AND id NOT IN (SELECT intent_id FROM sepa_collection_intents)`, month); uncollected != 0 {
		t.Errorf("%d SEPA payments of %s have no collection", uncollected, month)
	}
	if early := count(`SELECT COUNT(*) FROM payment_intents WHERE method = 'sepa_debit' AND collection_month = $1 AND id IN (SELECT intent_id FROM sepa_collection_intents)`, next); early != 0 {
		t.Errorf("%d SEPA payments of %s are already collected", early, next)
	}
	if bad := count(`SELECT COUNT(*) FROM sepa_collections c WHERE c.amount <> (SELECT COALESCE(SUM(i.amount), 0) FROM payment_intents i JOIN sepa_collection_intents l ON l.intent_id = i.id WHERE l.collection_id = c.id)`); bad != 0 {
		t.Errorf("%d collections do not debit exactly their payments", bad)
	}
	if bad := count(`SELECT COUNT(*) FROM sepa_outstanding o WHERE o.outstanding <> (SELECT COALESCE(SUM(i.amount), 0) FROM payment_intents i
		WHERE i.buyer_id = o.buyer_id AND i.method = 'sepa_debit' AND i.collection_month = o.month AND i.status IN ('scheduled', 'succeeded'))`); bad != 0 {
		t.Errorf("%d SEPA outstanding rows differ from their payments", bad)
	}
	collections := count(`SELECT COUNT(*) FROM sepa_collections WHERE month = $1`, month)
	// No orphan charge: every provider pay-in is kept by a collection or an intent (or refunded).
	if orphans := count(`SELECT COUNT(*) FROM sandbox_payins p WHERE p.refunded < p.amount
		AND NOT EXISTS (SELECT 1 FROM sepa_collections c WHERE c.provider_payin_id = p.id)
		AND NOT EXISTS (SELECT 1 FROM payment_intents i WHERE i.provider_payin_id = p.id)`); orphans != 0 {
		t.Errorf("%d provider pay-ins that nothing keeps (orphan charges)", orphans)
	}
	payins := count(`SELECT COUNT(*) FROM sandbox_payins`)

	// Invoices: each payment on one statement of the month it counts in, issued for the closed
	// month and open for the next, whose totals are their orders'.
	if bad := count(`SELECT COUNT(*) FROM payment_intents i WHERE i.method = 'vhu_invoice'
		AND (SELECT COUNT(*) FROM statement_orders so WHERE so.intent_id = i.id) <> 1`); bad != 0 {
		t.Errorf("%d invoice payments not on exactly one statement", bad)
	}
	if bad := count(`SELECT COUNT(*) FROM statements WHERE (month = $1 AND status <> 'issued') OR (month = $2 AND status <> 'open')`, month, next); bad != 0 {
		t.Errorf("%d statements in the wrong status", bad)
	}
	if bad := count(`SELECT COUNT(*) FROM statements s WHERE s.total <> (SELECT COALESCE(SUM(o.total), 0) FROM statement_orders so
		JOIN orders o ON o.id = so.order_id WHERE so.statement_id = s.id)`); bad != 0 {
		t.Errorf("%d statements whose total differs from their orders'", bad)
	}
	invClosed := count(`SELECT COUNT(*) FROM statement_orders so JOIN statements s ON s.id = so.statement_id WHERE s.month = $1`, month)
	invNext := count(`SELECT COUNT(*) FROM statement_orders so JOIN statements s ON s.id = so.statement_id WHERE s.month = $1`, next)

	var st httpapi.MonthCloseStranded
	if c.must(200, procs[1].url, "GET", "/v1/admin/month-closes/"+month+"/stranded", admin, nil, &st) &&
		(st.PaymentIntentCount != 0 || st.StatementCount != 0) {
		t.Errorf("stranded after the close of %s: %+v", month, st)
	}
	t.Logf("chaos run: %d payments (%d answered, %d retried, %d waited for a dead request's key) on 3 processes in %s, "+
		"close completed %s after the start; %d database sessions dropped; final answers %v", len(outcomes), answered, retried, waited, elapsed.Round(time.Millisecond),
		closed.Round(time.Millisecond), dropped.Load(), byAnswer)
	t.Logf("chaos run: SEPA %d in %s (%d collections), %d in %s (%d made before midnight); invoices %d in %s, %d in %s; "+
		"cards %d succeeded, %d pay-ins refunded, other intents %v; %d provider pay-ins in all; stranded %d intents, %d statements",
		sepaClosed, month, collections, sepaNext, next, moved, invClosed, month, invNext, next, cardIntents, refundedCard, others, payins,
		st.PaymentIntentCount, st.StatementCount)
}
