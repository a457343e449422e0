package mangopay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// What would have failed in production although the fake let it through (issue 17).

// sepaBuyer is a buyer with a submitted mandate.
func (e env) sepaBuyer(t *testing.T, key string) (psp.User, psp.Wallet, psp.Mandate) {
	t.Helper()
	user, wallet := e.buyer(t, key)
	account, err := e.client.CreateBankAccount(ctx, psp.BankAccountRequest{
		IdempotencyKey: key, UserID: user.ID, OwnerName: "Garage du Centre",
		OwnerAddress: psp.Address{Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "FR"},
		IBAN:         "FR7630006000011234567890189",
	})
	if err != nil {
		t.Fatalf("bank account: %v", err)
	}
	m, err := e.client.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: key, BankAccountID: account.ID, ReturnURL: "https://shop.example/m"})
	if err != nil {
		t.Fatalf("mandate: %v", err)
	}
	if err := e.fake.SubmitMandate(m.ID); err != nil {
		t.Fatal(err)
	}
	return user, wallet, m
}

// TestCollectionDescriptorAcceptedBySEPA: the month close's collections send "vhupay 2026-11";
// MangoPay takes only letters, digits and spaces on a SEPA debit's StatementDescriptor, so the
// client sends "vhupay 2026 11" and the debit is made instead of a 400.
func TestCollectionDescriptorAcceptedBySEPA(t *testing.T) {
	e := newEnv(t)
	user, wallet, m := e.sepaBuyer(t, "buyer-descriptor")
	p, err := e.client.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{
		IdempotencyKey: "col_1", AuthorID: user.ID, CreditedWalletID: wallet.ID, MandateID: m.ID, Amount: 4200,
		StatementDescriptor: "vhupay 2026-11", Tag: "col_1",
	})
	if err != nil || p.Status != psp.PayInCreated {
		t.Fatalf("direct debit: %+v, %v", p, err)
	}
	payIns := e.fake.PayIns()
	if len(payIns) != 1 || payIns[0].StatementDescriptor != "vhupay 2026 11" {
		t.Fatalf("pay-ins at MangoPay: %+v", payIns)
	}
}

func TestDirectDebitDescriptor(t *testing.T) {
	for in, want := range map[string]string{
		"vhupay 2026-11":            "vhupay 2026 11",
		"vhupay novembre":           "vhupay novembre",
		"  Pièces — décembre/2026 ": "Pi ces d cembre 2026",
		"---":                       "",
		strings.Repeat("ab", 60):    strings.Repeat("ab", 50),
	} {
		if got := mangopay.DirectDebitDescriptor(in); got != want {
			t.Errorf("DirectDebitDescriptor(%q) = %q, want %q", in, got, want)
		}
	}
}

// recordedSleeps replaces the client's waits: each wait is recorded and moves the clock instead.
type recordedSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recordedSleeps) install(e env) {
	e.client.SetSleep(func(ctx context.Context, d time.Duration) error {
		r.mu.Lock()
		r.waits = append(r.waits, d)
		r.mu.Unlock()
		e.clock.Advance(d)
		return ctx.Err()
	})
}

func (r *recordedSleeps) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// TestRateLimitWaitsForTheReset: MangoPay answers 429 with X-RateLimit-* headers and no
// Retry-After. The client waits until the exhausted window resets (not ~750 ms of retries), then
// the call succeeds; the state of every window is exposed.
func TestRateLimitWaitsForTheReset(t *testing.T) {
	var sleeps recordedSleeps
	e := newEnvWith(t, mangopaytest.Config{RateLimits: []mangopaytest.RateLimit{
		{Period: 20 * time.Second, Calls: 3}, {Period: 15 * time.Minute, Calls: 100}, {Period: time.Hour, Calls: 200},
		{Period: 24 * time.Hour, Calls: 1000}, {Period: time.Minute, Calls: 50},
	}})
	sleeps.install(e)
	user, _ := e.buyer(t, "buyer-limits") // token, user, wallet: the 20 s window is full
	started := e.clock.Now()

	owner, err := e.client.GetOwner(ctx, user.ID) // 429 (not counted), wait 20 s, then answered
	if err != nil || owner.ID != user.ID {
		t.Fatalf("GetOwner: %+v, %v", owner, err)
	}
	if waits := sleeps.all(); len(waits) != 1 || waits[0] != 20*time.Second {
		t.Fatalf("waits %v, want one of 20s (until the reset)", waits)
	}
	if e.fake.RateLimited() != 1 {
		t.Fatalf("429 answers: %d", e.fake.RateLimited())
	}
	limits := e.client.RateLimit()
	if len(limits.Windows) != 5 || limits.Limited {
		t.Fatalf("rate limit state: %+v", limits)
	}
	if w := limits.Windows[1]; w.Limit() != 100 || w.Made != 4 || w.Remaining != 96 || !w.Reset.Equal(started.Add(15*time.Minute)) {
		t.Fatalf("15-minute window: %+v", w)
	}
}

func newEnvWith(t *testing.T, fakeCfg mangopaytest.Config, tweak ...func(*mangopay.Config)) env {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)}
	fakeCfg.Clock = clock
	fake := mangopaytest.New(fakeCfg)
	t.Cleanup(fake.Close)
	cfg := mangopay.Config{
		BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Clock: clock,
		Timeout: 5 * time.Second, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	client, err := mangopay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env{client: client, fake: fake, clock: clock}
}

// TestRateLimitResetBeyondTheDeadline: a reset further than the caller's deadline (or the wait
// cap) fails at once with psp.ErrRateLimited, which is psp.ErrUnavailable: the caller retries
// later with the same key.
func TestRateLimitResetBeyondTheDeadline(t *testing.T) {
	var sleeps recordedSleeps
	e := newEnv(t)
	sleeps.install(e)
	e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 429, Reset: 10 * time.Minute})
	deadline, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := e.client.GetPayIn(deadline, "payin_1")
	if !errors.Is(err, psp.ErrRateLimited) || !errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("error %v, want psp.ErrRateLimited", err)
	}
	if len(sleeps.all()) != 0 || e.fake.Calls("GET /payins/{id}") != 1 {
		t.Fatalf("waited %v, %d calls", sleeps.all(), e.fake.Calls("GET /payins/{id}"))
	}
	if limits := e.client.RateLimit(); !limits.Limited || len(limits.Windows) != 4 || limits.Windows[0].Remaining != 0 {
		t.Fatalf("state after the 429: %+v", limits)
	}

	// Without a deadline the cap decides: 10 minutes is more than the default 30 s.
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrRateLimited) {
		t.Fatalf("without a deadline: %v", err)
	}
	// A context that ends while waiting for the reset: rate limited.
	e.client.SetSleep(func(context.Context, time.Duration) error { return context.Canceled })
	e.fake.ClearFaults()
	e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 429, Reset: 5 * time.Second})
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrRateLimited) {
		t.Fatalf("context ended while waiting: %v", err)
	}
	sleeps.install(e)
	// A reset within the cap is waited for; every attempt answering 429 ends in ErrRateLimited.
	e.fake.ClearFaults()
	e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 429, Reset: 5 * time.Second})
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrRateLimited) {
		t.Fatalf("429 for ever: %v", err)
	}
	if waits := sleeps.all(); len(waits) != 2 || waits[0] != 5*time.Second {
		t.Fatalf("waits %v, want two of 5s", waits)
	}
}

// pacer records what the client tells it.
type pacer struct {
	mu       sync.Mutex
	waits    int
	observed []psp.RateLimit
	refuse   error
}

func (p *pacer) Wait(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits++
	return p.refuse
}

func (p *pacer) Observe(l psp.RateLimit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.observed = append(p.observed, l)
}

// TestPacerAskedBeforeEveryRequest: an injected pacer (the month close's shared budget) is asked
// before every HTTP request and told the state of every answer, 429s included; when it refuses,
// nothing is sent and the call is unavailable.
func TestPacerAskedBeforeEveryRequest(t *testing.T) {
	var sleeps recordedSleeps
	p := &pacer{}
	e := newEnv(t, func(c *mangopay.Config) { c.Pacer = p })
	sleeps.install(e)
	e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 429, Reset: 2 * time.Second, Times: 1})
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("GetPayIn: %v", err)
	}
	// token, 429, retry
	if p.waits != 3 || len(p.observed) != 3 || !p.observed[1].Limited || p.observed[2].Limited || len(p.observed[2].Windows) != 4 {
		t.Fatalf("pacer: %d waits, observed %+v", p.waits, p.observed)
	}
	p.refuse = context.DeadlineExceeded
	calls := e.fake.Calls("GET /payins/{id}")
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("refused by the pacer: %v", err)
	}
	if e.fake.Calls("GET /payins/{id}") != calls {
		t.Fatal("a request went out although the pacer refused")
	}
}

// TestPayerCreatedWithItsRealRepresentative: buyers are created on the SCA endpoint with the
// nested LegalRepresentative of a real person; without one the client refuses before calling
// MangoPay (production refuses placeholder names with fraud_policy).
func TestPayerCreatedWithItsRealRepresentative(t *testing.T) {
	e := newEnv(t)
	user, _ := e.buyer(t, "buyer-rep")
	if e.fake.Calls("POST /sca/users/legal") != 1 || e.fake.Calls("POST /users/legal") != 0 {
		t.Fatalf("calls %v", e.fake.CallCounts())
	}
	if name, first, last, _ := e.fake.UserName(user.ID); name != "Garage du Centre SARL" || first != "Alice" || last != "Martin" {
		t.Fatalf("user at MangoPay: %s / %s %s", name, first, last)
	}
	_, err := e.client.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: "no-rep", Name: "Garage SARL", Email: "a@garage.example", TermsAccepted: true})
	if !errors.Is(err, psp.ErrRepresentativeRequired) || e.fake.Calls("POST /sca/users/legal") != 1 {
		t.Fatalf("without a representative: %v (%d calls)", err, e.fake.Calls("POST /sca/users/legal"))
	}
	_, err = e.client.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: "fake-rep", Name: "Garage SARL", Email: "a@garage.example",
		TermsAccepted: true, Representative: psp.Representative{FirstName: "Representant", LastName: "Garage SARL"}})
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || rejected.Code != "fraud_policy" {
		t.Fatalf("placeholder names: %v", err)
	}
}

// TestOwnerWalletReadNeedsTheCentre: reading an OWNER's wallet may answer 401 with
// "WWW-Authenticate: PendingUserAction RedirectUrl=…": that is the centre's authentication to
// ask for (psp.PendingActionError), not an expired token to renew.
func TestOwnerWalletReadNeedsTheCentre(t *testing.T) {
	e := newEnv(t)
	owner, wallet := e.centre(t, "ctr_1")
	tokens := e.fake.Calls("POST /oauth/token")

	_, err := e.client.GetOwnerWallet(ctx, wallet.ID, psp.OwnerPresent)
	var pending *psp.PendingActionError
	if !errors.As(err, &pending) || !strings.HasPrefix(pending.Action.URL, e.fake.URL+"/sca/") {
		t.Fatalf("owner wallet: %v", err)
	}
	if errors.Is(err, psp.ErrUnavailable) || e.fake.Calls("POST /oauth/token") != tokens || e.fake.Calls("GET /wallets/{id}") != 1 {
		t.Fatalf("a token renewal or a retry: %d token calls, %d reads", e.fake.Calls("POST /oauth/token"), e.fake.Calls("GET /wallets/{id}"))
	}
	if err := e.fake.Authenticate(pending.Action.URL); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.GetOwnerWallet(ctx, wallet.ID, psp.OwnerPresent); err != nil || got.ID != wallet.ID || got.OwnerID != owner.ID {
		t.Fatalf("after the centre's authentication: %+v, %v", got, err)
	}

	// In the background, without the owner's consent: refused, never a token renewal.
	var rejected *psp.RejectedError
	if _, err := e.client.GetOwnerWallet(ctx, wallet.ID, psp.OwnerNotPresent); !errors.As(err, &rejected) || rejected.Code != "forbidden_ressource" {
		t.Fatalf("not present, no consent: %v", err)
	}
	if err := e.fake.GrantProxyConsent(owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetOwnerWallet(ctx, wallet.ID, psp.OwnerNotPresent); err != nil {
		t.Fatalf("not present, with consent: %v", err)
	}
	// An expired token is still renewed.
	e.fake.RevokeTokens()
	if _, err := e.client.GetWallet(ctx, wallet.ID); err == nil {
		t.Fatal("an owner's wallet read without ScaContext succeeded")
	}
	if e.fake.Calls("POST /oauth/token") != tokens+1 {
		t.Fatalf("token calls %d", e.fake.Calls("POST /oauth/token"))
	}
}

// TestAuthenticateHeaderForms: the redirect comes as RedirectUrl or redirectUrl (both spellings
// are in Mangopay/docs: guides/sca/wallets.mdx, api-reference/wallets/view-wallet.mdx), quoted or
// not (the Java SDK's RestTool.handleSca401 reads up to the first space).
func TestAuthenticateHeaderForms(t *testing.T) {
	const want = "https://sca.mangopay.com?token=0193d02f30df7a188c51cf890a191d21"
	for _, header := range []string{
		"PendingUserAction RedirectUrl=" + want,
		"PendingUserAction redirectUrl=" + want + " ",
		`pendingUserAction RedirectUrl="` + want + `"`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2.01/oauth/token" {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":"t","token_type":"bearer","expires_in":1200}`))
				return
			}
			w.Header().Set("WWW-Authenticate", header)
			w.WriteHeader(http.StatusUnauthorized)
		}))
		client, _ := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: "c", APIKey: "k"})
		_, err := client.GetOwnerWallet(ctx, "wlt_1", psp.OwnerPresent)
		var pending *psp.PendingActionError
		if !errors.As(err, &pending) || pending.Action.URL != want {
			t.Errorf("%q: %v", header, err)
		}
		srv.Close()
	}
}
