package mangopay_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

const tokenRoute = "POST /oauth/token"

func TestTokenReusedAndRenewedBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	user, _ := e.buyer(t, "buyer-token")
	for range 3 {
		if _, err := e.client.GetCard(ctx, "card_nope"); !errors.Is(err, psp.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n := e.fake.Calls(tokenRoute); n != 1 {
		t.Fatalf("token calls after 5 calls: %d, want 1", n)
	}

	e.clock.Advance(1169 * time.Second) // the sandbox token lives 1200 s; renewal starts 30 s before
	if _, err := e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "w2", OwnerID: user.ID}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls(tokenRoute); n != 1 {
		t.Fatalf("token calls before the renewal window: %d, want 1", n)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "w3", OwnerID: user.ID}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls(tokenRoute); n != 2 {
		t.Fatalf("token calls inside the renewal window: %d, want 2", n)
	}
	if n := e.fake.Calls("POST /wallets"); n != 3 {
		t.Fatalf("wallet calls %d, want 3 (no 401 retry)", n)
	}
}

func TestTokenFetchedOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := e.client.GetPayIn(ctx, "payin_nope"); !errors.Is(err, psp.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.fake.Calls(tokenRoute); n != 1 {
		t.Fatalf("token calls %d, want 1", n)
	}
}

func TestRevokedTokenIsRenewedOnce(t *testing.T) {
	e := newEnv(t)
	e.buyer(t, "buyer-revoked")
	e.fake.RevokeTokens()
	if _, err := e.client.GetCard(ctx, "card_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("after revocation: %v", err)
	}
	if n := e.fake.Calls(tokenRoute); n != 2 {
		t.Fatalf("token calls %d, want 2", n)
	}
}

func TestBadCredentialsAreUnavailable(t *testing.T) {
	e := newEnv(t, func(c *mangopay.Config) { c.APIKey = "wrong" })
	if _, err := e.client.GetCard(ctx, "card_1"); !errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("bad API key: %v", err)
	}
}

func TestIdempotentReplayRecoversTheOriginal(t *testing.T) {
	e := newEnv(t)
	first, _ := e.buyer(t, "buyer-replay")
	again, err := e.client.CreateLegalUser(ctx, psp.LegalUserRequest{
		IdempotencyKey: "buyer-replay", Name: "Garage du Centre SARL", Email: "compta@garage.example", TermsAccepted: true,
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"},
	})
	if err != nil || again.ID != first.ID {
		t.Fatalf("replay: %+v, %v; want %s", again, err, first.ID)
	}
	if e.fake.Created("users") != 1 || e.fake.Calls("GET /responses/{key}") != 1 {
		t.Fatalf("created %d users, %d response reads", e.fake.Created("users"), e.fake.Calls("GET /responses/{key}"))
	}

	// A refusal is replayed as the same refusal.
	bad := psp.LegalUserRequest{IdempotencyKey: "refused-once", Name: "X", Email: "not-an-email",
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"}}
	var first4xx, second4xx *psp.RejectedError
	_, err1 := e.client.CreateLegalUser(ctx, bad)
	_, err2 := e.client.CreateLegalUser(ctx, bad)
	if !errors.As(err1, &first4xx) || !errors.As(err2, &second4xx) || first4xx.Fields["Email"] != second4xx.Fields["Email"] {
		t.Fatalf("replayed refusal: %v / %v", err1, err2)
	}
}

func TestIdempotencyKeyFormat(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9-]{16,36}$`)
	keys := map[string]bool{}
	for _, in := range []struct {
		path, key string
		gen       int
	}{
		{"/wallets", "b_01J", 0}, {"/users/legal", "b_01J", 0}, {"/wallets", "b_01J", 1},
		{"/wallets", strings.Repeat("é", 300), 0}, {"/wallets", "0123456789abcdef", 0},
	} {
		k := mangopay.IdempotencyKey(in.path, in.key, in.gen)
		if !valid.MatchString(k) {
			t.Errorf("key %q out of MangoPay's format", k)
		}
		if k != mangopay.IdempotencyKey(in.path, in.key, in.gen) {
			t.Errorf("key for %v not deterministic", in)
		}
		keys[k] = true
	}
	if len(keys) != 5 {
		t.Fatalf("keys collide: %v", keys)
	}
}

func TestServerErrorOnPostIsRecoveredWithoutDoubleSubmission(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-500")
	cardID := e.card(t, user.ID, mangopaytest.FrictionlessCard)
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Status: 500, Times: 1})

	p := e.cardPayIn(t, "pi_500", user, wallet, cardID, 2000)
	if p.Status != psp.PayInSucceeded {
		t.Fatalf("pay-in %+v", p)
	}
	// 500 (key spent) → 409 → stored 500 → next key generation → created.
	if got := e.fake.Created("payins"); got != 1 {
		t.Fatalf("created %d pay-ins, want 1", got)
	}
	// The caller retrying later with the same key gets the same pay-in.
	again := e.cardPayIn(t, "pi_500", user, wallet, cardID, 2000)
	if again.ID != p.ID || e.fake.Created("payins") != 1 {
		t.Fatalf("retry gave %s, want %s; created %d", again.ID, p.ID, e.fake.Created("payins"))
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name      string
		fault     mangopaytest.Fault
		call      func(e env) error
		route     string
		wantCalls int
		wantErr   error
	}{
		{
			name:  "500 on GET is retried, then unavailable",
			fault: mangopaytest.Fault{Route: "GET /mandates/{id}", Status: 500},
			call: func(e env) error {
				_, err := e.client.GetMandate(ctx, "mdt_1")
				return err
			},
			route: "GET /mandates/{id}", wantCalls: 3, wantErr: psp.ErrUnavailable,
		},
		{
			name:  "503 on PUT is not retried",
			fault: mangopaytest.Fault{Route: "PUT /cards/{id}", Status: 503},
			call: func(e env) error {
				_, err := e.client.DeactivateCard(ctx, "card_1")
				return err
			},
			route: "PUT /cards/{id}", wantCalls: 1, wantErr: psp.ErrUnavailable,
		},
		{
			name:  "token endpoint down",
			fault: mangopaytest.Fault{Route: tokenRoute, Status: 500},
			call: func(e env) error {
				_, err := e.client.GetPayIn(ctx, "payin_1")
				return err
			},
			route: "GET /payins/{id}", wantCalls: 0, wantErr: psp.ErrUnavailable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.InjectFault(tt.fault)
			err := tt.call(e)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if got := e.fake.Calls(tt.route); got != tt.wantCalls {
				t.Fatalf("%s called %d times, want %d", tt.route, got, tt.wantCalls)
			}
		})
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	e := newEnv(t, func(c *mangopay.Config) { c.Timeout = 50 * time.Millisecond })
	user, _ := e.buyer(t, "buyer-hang")

	e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Hang: true})
	if _, err := e.client.GetPayIn(ctx, "payin_1"); !errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("hanging GET: %v", err)
	}
	if n := e.fake.Calls("GET /payins/{id}"); n != 3 {
		t.Fatalf("GET attempts %d, want 3", n)
	}

	// A POST that hangs once is retried with the same key and creates one wallet.
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /wallets", Hang: true, Times: 1})
	w, err := e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "hang-wallet", OwnerID: user.ID})
	if err != nil || w.ID == "" {
		t.Fatalf("wallet after a hang: %+v, %v", w, err)
	}
	if e.fake.Created("wallets") != 2 { // the buyer's and this one
		t.Fatalf("wallets created %d, want 2", e.fake.Created("wallets"))
	}
}

// stub answers the token endpoint and then status and body for every call.
func stub(t *testing.T, status int, body string) *mangopay.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2.01/oauth/token" {
			fmt.Fprint(w, `{"access_token":"t","token_type":"bearer","expires_in":1199}`)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := mangopay.New(mangopay.Config{BaseURL: srv.URL, ClientID: "c", APIKey: "k", Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorBodiesDecoded(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   *psp.RejectedError
		is     error
	}{
		{
			name:   "float Date and field errors",
			status: 400,
			body: `{"Message":"One or several required parameters are missing or incorrect.","Type":"param_error",` +
				`"Id":"5e83fbe8#1740581497","Date":1740581497.0,"errors":{"CreditedWalletId":"The CreditedWalletId field is required."}}`,
			want: &psp.RejectedError{Code: "param_error", Message: "One or several required parameters are missing or incorrect.",
				Reference: "5e83fbe8#1740581497", Fields: map[string]string{"CreditedWalletId": "The CreditedWalletId field is required."}},
		},
		{
			name:   "integer Date, null errors",
			status: 400,
			body:   `{"Message":"Currencies differ","Type":"currency_incompatibility","Id":"x","Date":1740581497,"errors":null}`,
			want:   &psp.RejectedError{Code: "currency_incompatibility", Message: "Currencies differ", Reference: "x"},
		},
		{
			name:   "non-string field error",
			status: 403,
			body:   `{"Message":"Forbidden","Type":"forbidden_ressource","Date":"1740581497","errors":{"ScaContext":["required"]}}`,
			want:   &psp.RejectedError{Code: "forbidden_ressource", Message: "Forbidden", Fields: map[string]string{"ScaContext": `["required"]`}},
		},
		{
			name:   "not JSON",
			status: 422,
			body:   `<html>bad gateway page</html>`,
			want:   &psp.RejectedError{Code: "http_422"},
		},
		{name: "not found", status: 404, body: `{"Type":"ressource_not_found"}`, is: psp.ErrNotFound},
		{name: "server error", status: 502, body: `<html></html>`, is: psp.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stub(t, tt.status, tt.body).GetPayIn(ctx, "payin_1")
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("error %v, want %v", err, tt.is)
				}
				return
			}
			var got *psp.RejectedError
			if !errors.As(err, &got) {
				t.Fatalf("error %v, want a RejectedError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIBANNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(c *mangopay.Config) { c.Logger = logger })
	user, _ := e.buyer(t, "buyer-iban")

	good := psp.BankAccountRequest{
		IdempotencyKey: "iban-ok", UserID: user.ID, OwnerName: "Garage",
		OwnerAddress: psp.Address{Line1: "1 rue", City: "Paris", Country: "FR"}, IBAN: goodIBAN,
	}
	account, err := e.client.CreateBankAccount(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	badIBAN := "FR7630006000011234567890188" // wrong check digits
	bad := good
	bad.IdempotencyKey, bad.IBAN = "iban-bad", badIBAN
	_, err = e.client.CreateBankAccount(ctx, bad)
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || rejected.Fields["IBAN"] == "" {
		t.Fatalf("bad IBAN: %v", err)
	}

	logger.Info("bank account created", slog.Any("request", good), slog.Any("account", account))
	logger.Error("bank account refused", slog.Any("request", bad), slog.Any("error", err))
	text := fmt.Sprintf("%v %+v %#v %s %v", good, good, good, bad, err)

	for _, out := range []string{logs.String(), text} {
		for _, iban := range []string{goodIBAN, badIBAN, "3000600001123456789"} {
			if strings.Contains(out, iban) {
				t.Fatalf("IBAN %s appears in:\n%s", iban, out)
			}
		}
	}
	if !strings.Contains(logs.String(), "FR76 **** **** **** **** ***0 189") {
		t.Fatalf("masked IBAN missing from logs:\n%s", logs.String())
	}
}

func TestIBANScrubbedFromProviderText(t *testing.T) {
	c := stub(t, 400, `{"Message":"IBAN FR7630006000011234567890189 is invalid","Type":"param_error","errors":{"IBAN":"FR7630006000011234567890189 invalid"}}`)
	_, err := c.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: "k", UserID: "u", IBAN: goodIBAN})
	if err == nil || strings.Contains(fmt.Sprintf("%v %+v", err, err), goodIBAN) {
		t.Fatalf("error %v", err)
	}
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || strings.Contains(rejected.Fields["IBAN"], goodIBAN) {
		t.Fatalf("fields %v", rejected)
	}
}
