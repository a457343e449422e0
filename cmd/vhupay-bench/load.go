package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/vhupay/vhupay/internal/benchkit"
	"github.com/vhupay/vhupay/internal/storage"
)

// benchOrder is a payment_pending order to pay, with its buyer's token.
type benchOrder struct {
	id, token string
}

// loadSQL fills vhupay's tables for the benchmark, set-based ($1 buyers, $2 orders). Every buyer
// may pay by SEPA: an active default bank account, an active mandate, a score of 15/20 checked
// now, and a SEPA profile whose ceiling is far above what a run can reserve (as in the
// reference schema), so that every payment takes the accepting path. Orders have one line at
// 0 % VAT of 1.00 to 99.99 EUR and are spread over the buyers. Their identifiers are shaped as
// id.New's (benchkit.V7IDFunctionSQL), created one millisecond apart, the newest now, so that,
// as in production, a newly paid order's index entries sit next to those of the orders created
// just before it; random identifiers would put each payment's order entries on a random leaf of
// each orders index, and the first write to each leaf after a checkpoint costs a full-page image
// in the WAL.
var loadSQL = []string{
	benchkit.V7IDFunctionSQL,
	`INSERT INTO buyers (id, name, siren, email, address_line1, postal_code, city, country, created_at)
	 SELECT 'byr_' || md5('b' || g), 'Garage ' || g, lpad(g::text, 9, '0'), 'garage' || g || '@bench.test',
	        '12 rue des Casses', '69007', 'Lyon', 'FR', now()
	 FROM generate_series(1, $1::int) g`,
	`INSERT INTO centers (id, name, siret, email, address_line1, postal_code, city, country, created_at)
	 VALUES ('ctr_' || md5('bench'), 'Centre VHU du banc', '81234567600017', 'centre@bench.test', '1 route des Casses', '69007', 'Lyon', 'FR', now())`,
	`INSERT INTO sepa_profiles (buyer_id, ceiling, probation_start, created_at, updated_at)
	 SELECT id, 1000000000000000, now(), now(), now() FROM buyers`,
	`INSERT INTO bank_accounts (id, buyer_id, provider_id, owner_name, country, iban_last4, masked_iban, fingerprint, status, is_default, created_at, updated_at)
	 SELECT 'ba_' || md5('a' || id), id, 'bench-ba-' || id, name, 'FR', '0189', 'FR76 **** **** **** **** ***0 189', md5('f' || id), 'active', true, now(), now()
	 FROM buyers`,
	`INSERT INTO mandates (id, buyer_id, bank_account_id, provider_id, status, reference, signature_url, return_url, created_at, updated_at, signed_at)
	 SELECT 'mdt_' || md5('m' || buyer_id), buyer_id, id, 'bench-mdt-' || buyer_id, 'active', 'RUM-' || buyer_id, '', 'https://shop.example/sepa', now(), now(), now()
	 FROM bank_accounts`,
	`INSERT INTO score_checks (id, buyer_id, outcome, value, requested_by, checked_at)
	 SELECT 'sc_' || md5('s' || id), id, 'scored', 15, 'system', now() FROM buyers`,
	`INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode, total_excl_vat, total_vat, total, currency, created_at, updated_at)
	 SELECT bench_v7id('ord', at, 'o' || g), 'byr_' || md5('b' || (1 + g % $1::int)), 'ctr_' || md5('bench'), 'payment_pending', 'delivery',
	        100 + (g::bigint * 7919) % 9900, 0, 100 + (g::bigint * 7919) % 9900, 'EUR', at, at
	 FROM generate_series(1, $2::int) g, LATERAL (SELECT now() - ($2::int - g) * interval '1 millisecond' AS at) t`,
	`INSERT INTO order_lines (order_id, buyer_id, center_id, position, reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total)
	 SELECT id, buyer_id, center_id, 0, 'P-' || substr(id, 5, 8), 'Pièce', 1, total, 0, total, 0, total FROM orders`,
	`VACUUM ANALYZE`,
}

// load fills the database and returns the orders to pay, oldest first (the buyers spread).
func load(ctx context.Context, db *storage.DB, buyers, orders int, secret string) ([]benchOrder, error) {
	for _, q := range loadSQL {
		var args []any // $1 buyers, $2 orders ($$ quotes a function's body)
		switch {
		case strings.Contains(q, "$2"):
			args = []any{buyers, orders}
		case strings.Contains(q, "$1"):
			args = []any{buyers}
		}
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			return nil, fmt.Errorf("%.60s…: %w", strings.TrimSpace(q), err)
		}
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT id, buyer_id FROM orders ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type pair struct{ order, buyer string }
	var pairs []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.order, &p.buyer); err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, buyers)
	seen := map[string]bool{}
	for _, p := range pairs {
		if !seen[p.buyer] {
			seen[p.buyer] = true
			ids = append(ids, p.buyer)
		}
	}
	toks, err := tokens(secret, ids)
	if err != nil {
		return nil, err
	}
	out := make([]benchOrder, len(pairs))
	for i, p := range pairs {
		out[i] = benchOrder{id: p.order, token: toks[p.buyer]}
	}
	return out, nil
}

// newClient is the load generator's client of the server at addr (host:port), with up to conns
// keep-alive connections. It shares the machine's two cores with the server and PostgreSQL, so
// it must cost little: fasthttp's client makes each call in the caller's goroutine (net/http's
// hands each one to a reader and a writer goroutine per connection, a fifth of the process's
// CPU on a read of a page of orders).
func newClient(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{Addr: addr, MaxConns: conns, MaxIdleConnDuration: time.Minute, MaxConnWaitTimeout: time.Minute,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
}

// result is what one run measured.
type result struct {
	ok, errors int
	byStatus   map[int]int
	elapsed    time.Duration
	p50, p99   time.Duration
	exhausted  bool
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) errorSummary() string {
	if r.errors == 0 {
		return "none"
	}
	var parts []string
	for s, n := range r.byStatus {
		if s != http.StatusCreated {
			parts = append(parts, fmt.Sprintf("%d×%d", n, s))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// drive pays orders (taken in turn from next) from conns workers, each one request at a time on
// its own keep-alive connection, for d. Status 0 counts transport errors.
func drive(client *fasthttp.HostClient, base string, orders []benchOrder, next *atomic.Int64, conns int, d time.Duration, idemKey bool) result {
	var mu sync.Mutex
	res := result{byStatus: map[int]int{}}
	var latencies []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			statuses := map[int]int{}
			exhausted := false
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= int64(len(orders)) {
					exhausted = true
					break
				}
				o := orders[i]
				req.Reset()
				req.Header.SetMethod(http.MethodPost)
				req.SetRequestURI(base + "/v1/payment-intents")
				req.SetBodyString(`{"order_id":"` + o.id + `","method":"sepa_debit"}`)
				req.Header.Set("Authorization", "Bearer "+o.token)
				req.Header.SetContentType("application/json")
				if idemKey {
					req.Header.Set("Idempotency-Key", "bench-"+o.id)
				}
				t0 := time.Now()
				err := client.Do(req, resp)
				status := 0
				if err == nil {
					status = resp.StatusCode()
				}
				lat := time.Since(t0)
				statuses[status]++
				if status == http.StatusCreated {
					mine = append(mine, lat)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, mine...)
			for s, n := range statuses {
				res.byStatus[s] += n
				if s == http.StatusCreated {
					res.ok += n
				} else {
					res.errors += n
				}
			}
			res.exhausted = res.exhausted || exhausted
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.p50 = latencies[n*50/100]
		res.p99 = latencies[min(n-1, n*99/100)]
	}
	return res
}
