package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// The month close's fault tests: real `vhupay serve` processes (the binary built from this
// package) on one PostgreSQL database, in MangoPay mode against the fake MangoPay served by the
// test on loopback, closing a month of thousands of buyers' SEPA payments. They check what
// docs/month-close.md promises: one close, one collection per buyer, one pay-in per collection,
// whatever dies or fails meanwhile.

const (
	faultSecret      = "fault-tests-secret-fault-tests-secret-0123"
	routeDirectDebit = "POST /payins/directdebit/direct"
)

// httpClient bounds every call the tests make to the processes.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// faultEnv is one test's database, fake MangoPay and vhupay binary.
type faultEnv struct {
	t     *testing.T
	dbURL string
	db    *storage.DB
	fake  *mangopaytest.Server
	bin   string
	dir   string
	month string // the month closed: the one before the current one, as the schedulers pick it
	admin string
	// buyers is how many buyers have SEPA payments in month.
	buyers int
	procs  int
}

// startFaultEnv skips without PostgreSQL, builds cmd/vhupay, makes a fresh database and a fake
// MangoPay, and seeds buyers buyers with SEPA payments in the previous month.
func startFaultEnv(t *testing.T, buyers int) *faultEnv {
	t.Helper()
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skip("month close fault test skipped: it runs vhupay processes on PostgreSQL; set " + storagetest.EnvPostgres +
			" (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	if testing.Short() {
		t.Skip("month close fault test skipped in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("month close fault test skipped: no go tool to build cmd/vhupay")
	}
	e := &faultEnv{t: t, dir: t.TempDir(), buyers: buyers}
	e.bin = filepath.Join(e.dir, "vhupay")
	if out, err := exec.Command(goTool, "build", "-o", e.bin, "github.com/vhupay/vhupay/cmd/vhupay").CombinedOutput(); err != nil {
		t.Fatalf("build cmd/vhupay: %v\n%s", err, out)
	}
	e.dbURL = storagetest.URL(t, storagetest.Postgres)
	if e.db, err = storage.Open(context.Background(), e.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.db.Close() })
	// Seeding thousands of buyers takes far more calls than MangoPay's 2,300 per 15 minutes: the
	// fake's limit is lifted here (pacing the close under the real limit is another test's).
	e.fake = mangopaytest.New(mangopaytest.Config{RateLimits: []mangopaytest.RateLimit{{Period: 15 * time.Minute, Calls: 1 << 30}}})
	t.Cleanup(e.fake.Close)
	if e.month, err = clock.PreviousMonth(clock.MonthOf(time.Now())); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Sign(faultSecret, "vhupay", "vhupay-api", auth.Principal{Subject: "fault-admin", Role: auth.RoleAdmin}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = tok
	began := time.Now()
	e.seed()
	t.Logf("seeded %d buyers with SEPA payments in %s in %s", buyers, e.month, time.Since(began).Round(time.Millisecond))
	return e
}

// providerBuyer is a buyer's resources at the fake MangoPay.
type providerBuyer struct{ user, wallet, account, mandate string }

// seed creates each buyer's user, wallet, bank account and signed mandate at the fake through the
// MangoPay client, then writes vhupay's rows with set-based SQL: the buyers, their SEPA profiles
// (probation started), default bank accounts, submitted mandates and payers pointing at those
// provider resources, and 3 confirmed orders paid by SEPA in the month per buyer, plus, for one
// buyer in 10, one in the current month (not to be collected).
func (e *faultEnv) seed() {
	t := e.t
	ctx := context.Background()
	client, err := mangopay.New(mangopay.Config{BaseURL: e.fake.URL, ClientID: e.fake.ClientID, APIKey: e.fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	res := make([]providerBuyer, e.buyers)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < e.buyers; i += 8 {
				if err := e.seedProvider(ctx, client, i, &res[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cols := make([][]string, 4)
	for _, r := range res {
		for j, v := range []string{r.user, r.wallet, r.account, r.mandate} {
			cols[j] = append(cols[j], v)
		}
	}
	start, end, err := clock.MonthBounds(e.month)
	if err != nil {
		t.Fatal(err)
	}
	statements := []struct {
		q    string
		args []any
	}{
		{`CREATE TABLE fault_seed AS SELECT g::int AS g, 'byr_' || md5('b' || g) AS buyer_id, u, w, a, m
			FROM unnest(string_to_array($1, ','), string_to_array($2, ','), string_to_array($3, ','), string_to_array($4, ','))
			WITH ORDINALITY AS t(u, w, a, m, g)`,
			[]any{strings.Join(cols[0], ","), strings.Join(cols[1], ","), strings.Join(cols[2], ","), strings.Join(cols[3], ",")}},
		{`INSERT INTO buyers (id, name, siren, email, address_line1, postal_code, city, country, created_at)
			SELECT buyer_id, 'Garage ' || g, lpad(g::text, 9, '0'), 'garage' || g || '@fault.test', '12 rue des Casses', '69007', 'Lyon', 'FR', $1
			FROM fault_seed`, []any{start.AddDate(0, -6, 0)}},
		{`INSERT INTO centers (id, name, siret, email, address_line1, postal_code, city, country, created_at)
			VALUES ('ctr_' || md5('fault'), 'Centre VHU', '81234567600017', 'centre@fault.test', '1 route des Casses', '69007', 'Lyon', 'FR', $1)`,
			[]any{start.AddDate(0, -6, 0)}},
		{`INSERT INTO sepa_profiles (buyer_id, ceiling, probation_start, created_at, updated_at)
			SELECT buyer_id, 10000000, $1, $1, $1 FROM fault_seed`, []any{start.AddDate(0, -6, 0)}},
		{`INSERT INTO payers (buyer_id, user_id, wallet_id) SELECT buyer_id, u, w FROM fault_seed`, nil},
		{`INSERT INTO bank_accounts (id, buyer_id, provider_id, owner_name, country, iban_last4, masked_iban, fingerprint, status, is_default, created_at, updated_at)
			SELECT 'ba_' || md5('a' || g), buyer_id, a, 'Garage ' || g, 'FR', '0189', 'FR76 **** **** **** **** ***0 189', md5('f' || g), 'active', true, $1, $1
			FROM fault_seed`, []any{start.AddDate(0, -6, 0)}},
		{`INSERT INTO mandates (id, buyer_id, bank_account_id, provider_id, status, reference, signature_url, return_url, created_at, updated_at, signed_at)
			SELECT 'mdt_' || md5('m' || g), buyer_id, 'ba_' || md5('a' || g), m, 'submitted', 'RUM-' || g, '', 'https://shop.example/sepa', $1, $1, $1
			FROM fault_seed`, []any{start.AddDate(0, -6, 0)}},
		// 3 payments per buyer in the month (k = 0, 1, 2), at times spread over the month.
		{`CREATE TABLE fault_payments AS
			SELECT 'pi_' || md5('i' || s.g || '-' || k) AS id, 'ord_' || md5('o' || s.g || '-' || k) AS order_id, s.buyer_id, s.g,
				100 + ((s.g * 3 + k) * 7919) % 9900 AS amount, 'mdt_' || md5('m' || s.g) AS mandate_id,
				$1::timestamptz + ((s.g * 3 + k) % 600) * ($2::timestamptz - $1::timestamptz) / 601 AS at, $3::text AS month
			FROM fault_seed s, generate_series(0, 2) k
			UNION ALL
			SELECT 'pi_' || md5('next' || s.g), 'ord_' || md5('next' || s.g), s.buyer_id, s.g, 4200, 'mdt_' || md5('m' || s.g), $2::timestamptz, $4::text
			FROM fault_seed s WHERE s.g % 10 = 0`, []any{start, end, e.month, clock.MonthOf(end)}},
		{`INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode, total_excl_vat, total_vat, total, currency, created_at, updated_at)
			SELECT order_id, buyer_id, 'ctr_' || md5('fault'), 'confirmed', 'delivery', amount, 0, amount, 'EUR', at, at FROM fault_payments`, nil},
		{`INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency, method, status, mandate_id, collection_month, created_at, updated_at)
			SELECT id, order_id, buyer_id, amount, 'EUR', 'sepa_debit', 'scheduled', mandate_id, month, at, at FROM fault_payments`, nil},
		{`DROP TABLE fault_payments`, nil},
		{`DROP TABLE fault_seed`, nil},
		{`ANALYZE`, nil},
	}
	for _, s := range statements {
		if _, err := e.db.SQL().ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, s.q)
		}
	}
}

func (e *faultEnv) seedProvider(ctx context.Context, c *mangopay.Client, i int, out *providerBuyer) error {
	key := fmt.Sprintf("fault-seed-%08d", i)
	u, err := c.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: key + "-u", Name: fmt.Sprintf("Garage %d", i+1),
		Kind: psp.CompanyBusiness, CompanyNumber: fmt.Sprintf("%09d", i+1), Email: "compta@garage.test",
		Address: psp.Address{Line1: "12 rue des Casses", City: "Lyon", PostalCode: "69007", Country: "FR"}, TermsAccepted: true,
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"}})
	if err != nil {
		return err
	}
	w, err := c.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key + "-w", OwnerID: u.ID, Description: "vhupay buyer"})
	if err != nil {
		return err
	}
	a, err := c.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: key + "-a", UserID: u.ID, OwnerName: "Garage",
		OwnerAddress: psp.Address{Line1: "12 rue des Casses", City: "Lyon", PostalCode: "69007", Country: "FR"},
		IBAN:         "FR7630006000011234567890189"})
	if err != nil {
		return err
	}
	m, err := c.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: key + "-m", BankAccountID: a.ID, ReturnURL: "https://shop.example/sepa"})
	if err != nil {
		return err
	}
	*out = providerBuyer{user: u.ID, wallet: w.ID, account: a.ID, mandate: m.ID}
	return e.fake.SubmitMandate(m.ID) // the buyer signed
}

// proc is a `vhupay serve` child process.
type proc struct {
	url string
	cmd *exec.Cmd
	log string
}

// start starts a `vhupay serve` process on the test's database and fake, with extra settings
// ("VHUPAY_MONTH_CLOSE_TIMEOUT=8s"), and waits until it answers. It is killed when the test ends.
func (e *faultEnv) start(extra ...string) *proc {
	e.t.Helper()
	p := e.launch(extra...)
	e.ready(p)
	return p
}

// launch starts a `vhupay serve` process without waiting for it to answer.
func (e *faultEnv) launch(extra ...string) *proc {
	t := e.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e.procs++
	p := &proc{url: "http://" + addr, log: filepath.Join(e.dir, fmt.Sprintf("vhupay-%d.log", e.procs))}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(e.bin, "serve")
	p.cmd.Env = append(os.Environ(), "VHUPAY_DATABASE_URL="+e.dbURL, "VHUPAY_JWT_SECRET="+faultSecret, "VHUPAY_ADDR="+addr,
		"VHUPAY_PSP=mangopay", "VHUPAY_SEPA_CREDITOR_ID=FR72ZZZ123456", "VHUPAY_MANGOPAY_BASE_URL="+e.fake.URL, "VHUPAY_MANGOPAY_CLIENT_ID="+e.fake.ClientID,
		"VHUPAY_MANGOPAY_API_KEY="+e.fake.APIKey, "VHUPAY_SCORING=sandbox", "VHUPAY_RETURN_URL_ORIGINS=https://shop.example", "VHUPAY_RATE_LIMIT=off",
		"VHUPAY_MANGOPAY_CALLS_PER_15MIN=0") // the fake's limit is lifted too, but for TestMonthCloseRateLimited
	p.cmd.Env = append(p.cmd.Env, extra...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("output of process %s (last 6 KiB):\n%s", p.url, tail(b, 6<<10))
		}
	})
	return p
}

// ready waits until the process answers.
func (e *faultEnv) ready(p *proc) {
	e.t.Helper()
	e.waitFor(30*time.Second, p.url+" answering", func() bool {
		resp, err := httpClient.Get(p.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill sends SIGKILL to the process and reaps it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitFor polls cond every 50 ms until it holds, or fails the test after timeout.
func (e *faultEnv) waitFor(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("gave up after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startClose posts the close of the test's month to a process and returns the status and close.
func (e *faultEnv) startClose(p *proc) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/admin/month-closes", strings.NewReader(`{"month":"`+e.month+`"}`))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		e.t.Errorf("POST /v1/admin/month-closes: %v", err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		e.t.Errorf("POST /v1/admin/month-closes: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, c
}

// count runs a query returning one integer.
func (e *faultEnv) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%v\n%s", err, q)
	}
	return n
}

// status is the close's status ("" before it exists) and its last error.
func (e *faultEnv) status() (string, string) {
	e.t.Helper()
	var status, lastError string
	err := e.db.SQL().QueryRowContext(context.Background(), `SELECT status, last_error FROM month_closes WHERE month = $1`, e.month).
		Scan(&status, &lastError)
	if err != nil && err != sql.ErrNoRows {
		e.t.Fatal(err)
	}
	return status, lastError
}

func (e *faultEnv) submitted() int {
	return e.count(`SELECT COUNT(*) FROM sepa_collections WHERE month = $1 AND status = 'submitted'`, e.month)
}

// waitCompleted waits for the close to complete; a failed close fails the test at once.
func (e *faultEnv) waitCompleted(timeout time.Duration) {
	e.t.Helper()
	e.waitFor(timeout, "the close to complete", func() bool {
		status, lastError := e.status()
		if status == "failed" {
			e.t.Fatalf("the close failed: %s", lastError)
		}
		return status == "completed"
	})
}

// checkExactlyOnce checks the completed close: one collection per buyer for the sum of its
// month's SEPA payments, every one submitted with one pay-in at the fake tagged with it for its
// amount, and no other direct-debit pay-in.
func (e *faultEnv) checkExactlyOnce() {
	t := e.t
	t.Helper()
	if status, lastError := e.status(); status != "completed" {
		t.Fatalf("close %s: %s", status, lastError)
	}
	if n := e.count(`SELECT COUNT(*) FROM month_closes`); n != 1 {
		t.Errorf("month_closes rows = %d, want 1", n)
	}
	cols := e.count(`SELECT COUNT(*) FROM sepa_collections WHERE month = $1`, e.month)
	if cols != e.buyers || e.count(`SELECT COUNT(DISTINCT buyer_id) FROM sepa_collections WHERE month = $1`, e.month) != e.buyers {
		t.Errorf("collections = %d, want one per buyer (%d)", cols, e.buyers)
	}
	if n := e.count(`SELECT COUNT(*) FROM sepa_collections WHERE month <> $1`, e.month); n != 0 {
		t.Errorf("%d collections of another month", n)
	}
	// Each collection's amount is the sum of its buyer's SEPA payments of the month, which are
	// exactly its intents; next month's payments are in no collection.
	wrong := e.count(`SELECT COUNT(*) FROM sepa_collections c
		FULL JOIN (SELECT buyer_id, SUM(amount) AS total FROM payment_intents
			WHERE method = 'sepa_debit' AND collection_month = $1 GROUP BY buyer_id) p ON p.buyer_id = c.buyer_id AND c.month = $1
		WHERE c.id IS NULL OR p.buyer_id IS NULL OR c.amount <> p.total
			OR c.amount <> (SELECT SUM(i.amount) FROM payment_intents i JOIN sepa_collection_intents l ON l.intent_id = i.id WHERE l.collection_id = c.id)`, e.month)
	if wrong != 0 {
		t.Errorf("%d collections whose amount is not their buyer's month's SEPA payments", wrong)
	}
	if n := e.count(`SELECT COUNT(*) FROM payment_intents WHERE collection_month <> $1 AND id IN (SELECT intent_id FROM sepa_collection_intents)`, e.month); n != 0 {
		t.Errorf("%d payments of another month in a collection", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM sepa_collections WHERE month = $1 AND (status <> 'submitted' OR provider_payin_id IS NULL)`, e.month); n != 0 {
		t.Errorf("%d collections not submitted", n)
	}

	rows, err := e.db.SQL().QueryContext(context.Background(),
		`SELECT id, amount, provider_payin_id FROM sepa_collections WHERE month = $1`, e.month)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type collection struct {
		amount  int64
		payInID string
	}
	want := map[string]collection{}
	for rows.Next() {
		var id string
		var c collection
		if err := rows.Scan(&id, &c.amount, &c.payInID); err != nil {
			t.Fatal(err)
		}
		want[id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	tagged := map[string]int{}
	for _, p := range e.fake.PayIns() {
		if p.PaymentType != "DIRECT_DEBIT" {
			continue
		}
		tagged[p.Tag]++
		c, found := want[p.Tag]
		switch {
		case !found:
			t.Errorf("pay-in %s tagged %q is no collection's", p.ID, p.Tag)
		case p.ID != c.payInID || p.Amount != c.amount || p.Status != "CREATED":
			t.Errorf("pay-in %s (%d cents, %s) of collection %s, which recorded %s for %d cents", p.ID, p.Amount, p.Status, p.Tag, c.payInID, c.amount)
		}
	}
	for id := range want {
		if tagged[id] != 1 {
			t.Errorf("collection %s: %d pay-ins at the provider, want 1", id, tagged[id])
		}
	}
	if got := e.fake.Created("payins"); got != cols {
		t.Errorf("pay-ins created at the provider = %d, want %d (one per collection)", got, cols)
	}
	t.Logf("%d collections, %d pay-ins created, %d direct-debit calls received", cols, e.fake.Created("payins"), e.fake.Calls(routeDirectDebit))
}

// stepRuns is how many times each step of the close started.
func (e *faultEnv) stepRuns() map[string]int {
	e.t.Helper()
	rows, err := e.db.SQL().QueryContext(context.Background(), `SELECT step, runs FROM month_close_steps WHERE month = $1`, e.month)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var step string
		var runs int
		if err := rows.Scan(&step, &runs); err != nil {
			e.t.Fatal(err)
		}
		out[step] = runs
	}
	return out
}

// TestMonthCloseKilledMidSubmission: the process running a close is killed (SIGKILL) while it
// submits the collections to a slowed-down MangoPay. A new process resumes the close once River's
// rescuer hands the dead process's job back: the close completes with one collection per buyer
// and one pay-in per collection, including those whose pay-in was created but not yet recorded
// when the process died (the collection id is the provider's idempotency key).
func TestMonthCloseKilledMidSubmission(t *testing.T) {
	e := startFaultEnv(t, 2000)
	// Every debit is answered 25 ms after it is created, 4 at a time: the submissions take about
	// 12 s, and whenever the process dies some pay-ins exist that it has not recorded.
	e.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Delay: 25 * time.Millisecond})
	settings := []string{"VHUPAY_MONTH_CLOSE_TIMEOUT=8s", "VHUPAY_JOB_RESCUE_AFTER=10s"}
	first := e.start(settings...)
	if status, c := e.startClose(first); status != http.StatusAccepted && status != http.StatusOK {
		t.Fatalf("POST /v1/admin/month-closes: %d %v", status, c)
	}
	// Submissions are recorded a batch at a time: kill while a batch's calls are under way (pay-ins
	// created that are not recorded yet), not at the instant between two batches.
	e.waitFor(60*time.Second, "a few hundred collections submitted and pay-ins under way", func() bool {
		n := e.submitted()
		return n >= 300 && e.fake.Created("payins") > n
	})
	first.kill(t)
	killedAt := e.submitted()
	if killedAt >= e.buyers {
		t.Fatalf("every collection was submitted before the kill")
	}
	// The calls under way when the process died created their pay-ins (the fake answers them
	// late): those collections are still pending in the database, their pay-ins exist.
	unrecorded := e.fake.Created("payins") - killedAt
	t.Logf("killed the process with %d of %d collections submitted and %d more pay-ins created but not recorded", killedAt, e.buyers, unrecorded)
	if unrecorded <= 0 {
		t.Errorf("no pay-in was under way when the process died (%d created, %d recorded): the test missed its case", e.fake.Created("payins"), killedAt)
	}
	e.fake.ClearFaults()

	killed := time.Now()
	e.start(settings...)
	e.waitFor(60*time.Second, "the close to resume", func() bool {
		return e.submitted() > killedAt
	})
	resumed := time.Since(killed)
	e.waitCompleted(90 * time.Second)
	t.Logf("the new process resumed the submissions %s after the kill and completed the close %s after it",
		resumed.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	e.checkExactlyOnce()
	if runs := e.stepRuns(); runs["collections"] < 2 {
		t.Errorf("collections step runs = %d, want 2 or more (it was interrupted)", runs["collections"])
	}
}

// TestMonthCloseThreeProcesses: three processes on one database, their schedulers all due to
// start the previous month's close, and all three asked to start it by the API at the same
// moment (twice: at the start and while it runs). One close, one job, each step run once, one
// collection per buyer and one pay-in per collection.
func TestMonthCloseThreeProcesses(t *testing.T) {
	e := startFaultEnv(t, 1500)
	e.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Delay: 5 * time.Millisecond}) // the close lasts a few seconds
	procs := []*proc{e.launch(), e.launch(), e.launch()}                                         // their schedulers start together
	for _, p := range procs {
		e.ready(p)
	}
	var wg sync.WaitGroup
	postAll := func() []int {
		statuses := make([]int, len(procs))
		ready := make(chan struct{})
		for i, p := range procs {
			wg.Go(func() {
				<-ready
				var c map[string]any
				statuses[i], c = e.startClose(p)
				if c["month"] != e.month {
					t.Errorf("process %d answered %v", i, c)
				}
			})
		}
		close(ready)
		wg.Wait()
		return statuses
	}
	first := postAll()
	started := 0
	for _, s := range first {
		switch s {
		case http.StatusAccepted:
			started++
		case http.StatusOK:
		default:
			t.Errorf("POST /v1/admin/month-closes answered %d", s)
		}
	}
	if started > 1 {
		t.Errorf("%d processes answered 202 (started): %v", started, first)
	}
	e.waitFor(60*time.Second, "the submissions under way", func() bool { return e.submitted() > 0 })
	for i, s := range postAll() {
		if s != http.StatusOK {
			t.Errorf("process %d: POST while the close runs answered %d, want 200", i, s)
		}
	}
	e.waitCompleted(60 * time.Second)
	e.checkExactlyOnce()
	if n := e.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'month_close' AND args->>'month' = $1`, e.month); n != 1 {
		t.Errorf("month close jobs = %d, want 1", n)
	}
	for step, runs := range e.stepRuns() {
		if runs != 1 {
			t.Errorf("step %s ran %d times, want 1", step, runs)
		}
	}
}

// TestMonthCloseProviderOutage: MangoPay stops answering the direct debits in the middle of the
// submissions (two calls hang past the client's timeout, then every call answers 503). The
// attempt fails, the close stays running with the error kept and its job waits for its retry;
// nothing is marked failed. Once MangoPay is back, the retry completes the close with one
// pay-in per collection: the collections whose first call MangoPay answered 503 (an answer it
// keeps for that idempotency key) are created on the key's next generation.
func TestMonthCloseProviderOutage(t *testing.T) {
	e := startFaultEnv(t, 1000)
	e.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Delay: 10 * time.Millisecond})
	p := e.start("VHUPAY_PSP_TIMEOUT=1s")
	if status, c := e.startClose(p); status != http.StatusAccepted && status != http.StatusOK {
		t.Fatalf("POST /v1/admin/month-closes: %d %v", status, c)
	}
	e.waitFor(60*time.Second, "200 collections submitted", func() bool { return e.submitted() >= 200 })
	e.fake.ClearFaults()
	e.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Hang: true, Times: 2})
	e.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Status: http.StatusServiceUnavailable})
	// The attempt fails: the close keeps the error, River keeps it on the job and schedules the
	// job's retry (1 s after a first failed attempt, n⁴ s after the n-th).
	var state string
	var errorsKept int
	var retryAt time.Time
	e.waitFor(30*time.Second, "the attempt to fail and its retry to be scheduled", func() bool {
		if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT state, COALESCE(array_length(errors, 1), 0), scheduled_at
			FROM river_job WHERE kind = 'month_close' AND args->>'month' = $1`, e.month).Scan(&state, &errorsKept, &retryAt); err != nil {
			t.Fatal(err)
		}
		return errorsKept > 0
	})
	status, lastError := e.status()
	duringOutage := e.submitted()
	e.fake.ClearFaults() // MangoPay is back
	t.Logf("outage: close %s, job %s with %d error(s) (next attempt at %s), %d collections submitted; error kept: %s",
		status, state, errorsKept, retryAt.Format(time.RFC3339Nano), duringOutage, lastError)
	if status != "running" || !strings.Contains(lastError, "unavailable") || (state != "retryable" && state != "available" && state != "running") {
		t.Errorf("during the outage: close %s, last error %q, job %s; want the close running with the provider's unavailability and the job to be retried",
			status, lastError, state)
	}
	if n := e.count(`SELECT COUNT(*) FROM sepa_collections WHERE month = $1 AND status = 'failed'`, e.month); n != 0 {
		t.Errorf("%d collections failed because of the outage", n)
	}
	if duringOutage >= e.buyers {
		t.Fatalf("every collection was submitted before the outage")
	}

	e.waitCompleted(60 * time.Second)
	e.checkExactlyOnce()
	if n := e.fake.Calls("GET /responses/{key}"); n == 0 {
		t.Errorf("no idempotency key's first answer was read back: the outage did not hit a submission under way")
	}
	var attempts int
	e.waitFor(10*time.Second, "River to record the job completed", func() bool {
		if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT state, attempt FROM river_job
			WHERE kind = 'month_close' AND args->>'month' = $1`, e.month).Scan(&state, &attempts); err != nil {
			t.Fatal(err)
		}
		return state == "completed"
	})
	if attempts < 2 {
		t.Errorf("job completed after %d attempts, want 2 or more", attempts)
	}
}

// TestMonthCloseRateLimited: a close of 3,000 buyers against a fake MangoPay limited to 300 calls
// per window, the window fast-forwarded from 15 minutes to 5 seconds (VHUPAY_MANGOPAY_RATE_WINDOW
// shortens the processes' budget alike: 220 calls per 5 s, a burst of 22). The budget's margin
// under the limit (58 calls, 1.3 s of calls) absorbs calls that a loaded machine delays after their
// slot and that then bunch with later ones: compressed 180 times, a 1.3 s delay here is a
// 4-minute one at MangoPay's real window. The close goes at the budget's pace,
// its progress visible over the API; the process is killed (SIGKILL) halfway and another one
// resumes the close. It completes with one pay-in per collection and at most a handful of 429s.
func TestMonthCloseRateLimited(t *testing.T) {
	buyers := 3000
	if os.Getenv("VHUPAY_TEST_RATE_LIMITED_BUYERS") != "" { // a smaller run on a busy machine
		fmt.Sscan(os.Getenv("VHUPAY_TEST_RATE_LIMITED_BUYERS"), &buyers)
	}
	e := startFaultEnv(t, buyers)
	const window = 5 * time.Second
	e.fake.SetRateLimits([]mangopaytest.RateLimit{{Period: window, Calls: 300}})
	const budget = 220
	settings := []string{"VHUPAY_MANGOPAY_CALLS_PER_15MIN=" + fmt.Sprint(budget), "VHUPAY_MANGOPAY_RATE_WINDOW=" + window.String(),
		"VHUPAY_MONTH_CLOSE_TIMEOUT=8s", "VHUPAY_JOB_RESCUE_AFTER=10s"}
	first := e.start(settings...)
	began := time.Now()
	if status, c := e.startClose(first); status != http.StatusAccepted && status != http.StatusOK {
		t.Fatalf("POST /v1/admin/month-closes: %d %v", status, c)
	}
	// The progress over the API while the collections are submitted.
	var seen []string
	e.waitFor(120*time.Second, "a third of the collections submitted", func() bool {
		var c struct {
			Status   string
			Progress *struct {
				Step        string
				Done, Total int
			}
		}
		if status := e.getJSON(first, "/v1/admin/month-closes/"+e.month, &c); status == http.StatusOK && c.Progress != nil &&
			c.Progress.Step == "collections" && c.Progress.Total == e.buyers {
			if len(seen) == 0 || seen[len(seen)-1] != fmt.Sprint(c.Progress.Done) {
				seen = append(seen, fmt.Sprint(c.Progress.Done))
			}
		}
		return e.submitted() >= e.buyers/3
	})
	pace := float64(e.submitted()) / time.Since(began).Seconds()
	t.Logf("progress seen: %s of %d; %.0f collections/s before the kill (budget: %.0f calls/s)", strings.Join(seen, ", "), e.buyers, pace, budget/window.Seconds())
	if len(seen) < 2 {
		t.Errorf("progress seen %v, want the collections step's done count growing", seen)
	}
	if pace > 1.2*budget/window.Seconds() {
		t.Errorf("%.0f submissions/s, faster than the budget's %.0f calls/s", pace, budget/window.Seconds())
	}
	first.kill(t)
	killedAt := e.submitted()
	e.start(settings...)
	e.waitCompleted(240 * time.Second)
	elapsed := time.Since(began)
	e.checkExactlyOnce()
	limited := e.fake.RateLimited()
	t.Logf("killed with %d submitted; close completed in %s; %d calls refused with 429", killedAt, elapsed.Round(100*time.Millisecond), limited)
	if limited > 5 {
		t.Errorf("%d calls refused with 429, want at most a handful", limited)
	}
}

// getJSON GETs path from a process as the admin and decodes the answer; it returns the status.
func (e *faultEnv) getJSON(p *proc, path string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Errorf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}
