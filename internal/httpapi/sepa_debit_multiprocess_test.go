package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage"
)

// process is a `vhupay serve` child process.
type process struct {
	url string
	cmd *exec.Cmd
	log string // its output file
	// How to start it again on the same address (see restart).
	bin  string
	env  []string
	runs int
}

// startProcesses builds cmd/vhupay and starts n `vhupay serve` processes in sandbox mode on the
// PostgreSQL database dbURL, with extra settings ("VHUPAY_JOB_RESCUE_AFTER=10s"); they are killed
// when the test ends.
func startProcesses(t *testing.T, dbURL string, n int, extra ...string) []*process {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("multi-process test skipped: no go tool to build cmd/vhupay")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vhupay")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/vhupay/vhupay/cmd/vhupay")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/vhupay: %v\n%s", err, out)
	}
	procs := make([]*process, n)
	for i := range procs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		p := &process{url: "http://" + addr, log: filepath.Join(dir, fmt.Sprintf("vhupay-%d", i)), bin: bin,
			env: append(append(os.Environ(), "VHUPAY_DATABASE_URL="+dbURL, "VHUPAY_JWT_SECRET="+apptest.Secret, "VHUPAY_RATE_LIMIT=off",
				"VHUPAY_ADDR="+addr, "VHUPAY_PSP=sandbox", "VHUPAY_SCORING=sandbox"), extra...)}
		p.launch(t)
		procs[i] = p
	}
	for _, p := range procs {
		if err := p.waitReady(); err != nil {
			t.Fatal(err)
		}
	}
	return procs
}

// launch starts the process (its output goes to a new log file); it is killed when the test ends.
func (p *process) launch(t *testing.T) {
	p.runs++
	logPath := fmt.Sprintf("%s.%d.log", p.log, p.runs)
	out, err := os.Create(logPath)
	if err != nil {
		t.Error(err)
		return
	}
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return
	}
	p.cmd = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("output of %s, run %s (last 4 KiB):\n%s", p.url, logPath, tail(b, 4096))
		}
	})
}

// waitReady waits until the process answers /healthz.
func (p *process) waitReady() error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start: %v", p.url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL to the process and reaps it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// restart starts the killed process again on the same address and waits until it answers; it
// may run in any goroutine.
func (p *process) restart(t *testing.T) {
	p.launch(t)
	if err := p.waitReady(); err != nil {
		t.Error(err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// apiClient calls the processes' API as a partner would (no contract check: the in-process tests
// do that).
type apiClient struct {
	t    *testing.T
	http *http.Client
}

func (c apiClient) do(base, method, path, token string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Errorf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// must calls the API and reports whether it answered status (an error is recorded otherwise);
// it may run in any goroutine.
func (c apiClient) must(status int, base, method, path, token string, body any, out any) bool {
	c.t.Helper()
	if got := c.do(base, method, path, token, body, out); got != status {
		c.t.Errorf("%s %s%s: %d, want %d", method, base, path, got, status)
		return false
	}
	return true
}

func tokenFor(t *testing.T, role auth.Role, org string) string {
	t.Helper()
	tok, err := auth.Sign(apptest.Secret, "vhupay", "vhupay-api", auth.Principal{Subject: "mp-" + string(role) + "-" + org, Role: role, Org: org}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSEPADebitMultiProcess: 3 vhupay processes on one PostgreSQL database take 300 concurrent
// SEPA payments of 5 buyers, spread round-robin; every buyer's outstanding is the sum of its
// accepted payments and never exceeds its ceiling, and every refusal was right.
func TestSEPADebitMultiProcess(t *testing.T) {
	dbURL, procs, c := multiProcess(t, 3, 30*time.Second)
	admin := tokenFor(t, auth.RoleAdmin, "")

	var center httpapi.Center
	if !c.must(201, procs[0].url, "POST", "/v1/centers", admin, centerBody("81234567600017"), &center) {
		t.FailNow()
	}
	type buyer struct {
		httpapi.Buyer
		tok    string
		orders []httpapi.Order
	}
	sirens := []string{"812345676", "823456785", "834567893", "845678903", "856789011"}
	buyers := make([]*buyer, len(sirens))
	const ordersPerBuyer = 60
	var wg sync.WaitGroup
	for i, siren := range sirens {
		wg.Go(func() {
			mb := sepaBuyerOnProcesses(t, c, procs, i, siren, admin)
			if mb == nil {
				return
			}
			b := &buyer{Buyer: mb.Buyer, tok: mb.tok}
			for j := range ordersPerBuyer {
				total := int64(500 + (j*373+i*911)%2500) // 5.00 to 29.99 EUR
				var o httpapi.Order
				if !c.must(201, procs[j%len(procs)].url, "POST", "/v1/orders", b.tok, orderBody(center.ID, line("P", 1, total, 0)), &o) {
					return
				}
				b.orders = append(b.orders, o)
			}
			buyers[i] = b
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// 300 requests, all started at once, sent round-robin to the processes. At most 16 per
	// process are in flight: each process pools up to 40 database connections and PostgreSQL
	// allows 100 in all, shared with the other test packages.
	type result struct {
		buyer  int
		amount int64
		status int
		pi     httpapi.PaymentIntent
		p      httpapi.Problem
	}
	results := make([]result, 0, len(buyers)*ordersPerBuyer)
	var mu sync.Mutex
	slots := make([]chan struct{}, len(procs))
	for i := range slots {
		slots[i] = make(chan struct{}, 16)
	}
	start := make(chan struct{})
	k := 0
	for j := range ordersPerBuyer {
		for i, b := range buyers {
			o, proc := b.orders[j], k%len(procs)
			k++
			wg.Go(func() {
				<-start
				slots[proc] <- struct{}{}
				defer func() { <-slots[proc] }()
				var raw json.RawMessage
				r := result{buyer: i, amount: o.Total}
				r.status = c.do(procs[proc].url, "POST", "/v1/payment-intents", b.tok, map[string]any{"order_id": o.ID, "method": "sepa_debit"}, &raw)
				switch r.status {
				case 201:
					_ = json.Unmarshal(raw, &r.pi)
				default:
					_ = json.Unmarshal(raw, &r.p)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d payments on %d processes in %s", len(results), len(procs), time.Since(began).Round(time.Millisecond))

	db, err := storage.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	month := ""
	accepted := make([]int64, len(buyers))
	refusedAmounts := make([][]int64, len(buyers))
	for _, r := range results {
		switch {
		case r.status == 201 && r.pi.Status == "scheduled" && r.pi.CollectionMonth != nil:
			accepted[r.buyer] += r.amount
			month = *r.pi.CollectionMonth
		case r.status == 409 && r.p.Code == "sepa_ceiling_exceeded" && r.p.Available != nil && *r.p.Available < r.amount:
			refusedAmounts[r.buyer] = append(refusedAmounts[r.buyer], r.amount)
		default:
			t.Errorf("payment of %d cents answered %d %+v %+v", r.amount, r.status, r.pi, r.p)
		}
	}
	for i, b := range buyers {
		var p httpapi.SEPAProfile
		c.must(200, procs[i%len(procs)].url, "GET", "/v1/buyers/"+b.ID+"/sepa", admin, nil, &p)
		var stored, intents int64
		if err := db.SQL().QueryRow(`SELECT outstanding FROM sepa_outstanding WHERE buyer_id = $1 AND month = $2`, b.ID, month).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if err := db.SQL().QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM payment_intents
			WHERE buyer_id = $1 AND method = 'sepa_debit' AND status = 'scheduled' AND collection_month = $2`, b.ID, month).Scan(&intents); err != nil {
			t.Fatal(err)
		}
		if accepted[i] != stored || stored != intents || stored != p.Outstanding || p.Outstanding > p.Ceiling || p.Ceiling != 25000 {
			t.Errorf("buyer %s: accepted %d, stored outstanding %d, intents %d, profile %d of %d",
				b.ID, accepted[i], stored, intents, p.Outstanding, p.Ceiling)
		}
		if len(refusedAmounts[i]) == 0 {
			t.Errorf("buyer %s: no payment refused; the test does not reach the ceiling", b.ID)
		}
		// Outstanding only grows: a refused amount did not fit in what is available at the end either.
		for _, amount := range refusedAmounts[i] {
			if amount <= p.Available {
				t.Errorf("buyer %s: %d cents refused, yet %d are still available", b.ID, amount, p.Available)
			}
		}
	}
}
