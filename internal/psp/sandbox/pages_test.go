package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// pagesFixture serves the provider's pages from an httptest server whose URL is the public URL.
func pagesFixture(t *testing.T, b storagetest.Backend) (*fixture, *httptest.Server) {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	f := newFixture(t, b, srv.URL)
	handler = f.p.Pages()
	return f, srv
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, target string, form url.Values) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://shop.test")
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(b)}
}

func TestTokenisationEndpoint(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f, _ := pagesFixture(t, b)
		ctx := context.Background()
		by := f.buyer(t)
		reg, err := f.p.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: key("cr"), UserID: by.userID})
		if err != nil {
			t.Fatal(err)
		}
		form := func(field, value string) url.Values {
			v := url.Values{"data": {reg.PreregistrationData}, "accessKeyRef": {reg.AccessKey},
				"cardNumber": {sandbox.FrictionlessCard}, "cardExpirationDate": {"0128"}, "cardCvx": {"321"}}
			if field != "" {
				v.Set(field, value)
			}
			return v
		}
		for _, tc := range []struct {
			name, field, value, want string
		}{
			{"wrong data", "data", "nope", "errorCode=09101"},
			{"wrong accessKeyRef", "accessKeyRef", "nope", "errorCode=09101"},
			{"missing accessKeyRef", "accessKeyRef", "", "errorCode=09101"},
			{"Luhn", "cardNumber", "4970107111111118", "errorCode=105202"},
			{"past expiry", "cardExpirationDate", "1025", "errorCode=105203"},
			{"CVX of 2 digits", "cardCvx", "12", "errorCode=105204"},
		} {
			r := do(t, http.MethodPost, reg.CardRegistrationURL, form(tc.field, tc.value))
			if r.status != http.StatusOK || r.body != tc.want || r.header.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Errorf("%s: %d %q %v; want 200 %q, CORS, text/plain", tc.name, r.status, r.body, r.header, tc.want)
			}
		}
		pre := do(t, http.MethodOptions, reg.CardRegistrationURL, nil)
		if pre.status != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight: %d %v", pre.status, pre.header)
		}

		r := do(t, http.MethodPost, reg.CardRegistrationURL, form("", ""))
		if r.status != http.StatusOK || !strings.HasPrefix(r.body, "data=") || len(r.body) < 40 {
			t.Fatalf("good card: %d %q", r.status, r.body)
		}
		got, err := f.p.CompleteCardRegistration(ctx, reg.ID, r.body)
		if err != nil || got.Status != psp.CardRegistrationValidated || got.CardID == "" {
			t.Fatalf("complete = %+v, %v", got, err)
		}
		card, _ := f.p.GetCard(ctx, got.CardID)
		if card.Alias != "497010XXXXXX1119" || card.ExpirationDate != "0128" {
			t.Errorf("card = %+v", card)
		}
		if r := do(t, http.MethodPost, reg.CardRegistrationURL, form("", "")); r.body != "errorCode=02631" {
			t.Errorf("tokenise a completed registration: %q", r.body)
		}
		if r := do(t, http.MethodGet, reg.CardRegistrationURL, nil); r.status != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d", r.status)
		}
		if logs := f.logs.String(); strings.Contains(logs, sandbox.FrictionlessCard) || strings.Contains(logs, "4970107111111118") ||
			strings.Contains(logs, reg.AccessKey) || strings.Contains(logs, strings.TrimPrefix(r.body, "data=")) {
			t.Errorf("a log line holds the card number, the access key or the token:\n%s", logs)
		}
	})
}

func TestSecurePages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		returnURL := "https://shop.test/checkout/return?payment_intent=pi_0193abc"

		t.Run("wrong code then the right one", func(t *testing.T) {
			f, _ := pagesFixture(t, b)
			by, _, pi := f.challenged(t, 123456, returnURL)
			page := do(t, http.MethodGet, pi.RedirectURL, nil)
			for _, want := range []string{"1 234,56 €", "vhupay marketplace", "497010XXXXXX8183", `name="code"`, "Valider", "Annuler",
				`<span id="tries">3</span>`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("3-D Secure page lacks %q", want)
				}
			}
			if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
				t.Errorf("page: %d %v", page.status, page.header)
			}
			r := do(t, http.MethodPost, pi.RedirectURL, url.Values{"code": {"111111"}, "action": {"validate"}})
			if r.status != http.StatusOK || !strings.Contains(r.body, "Code incorrect. Il vous reste 2 essais.") {
				t.Errorf("wrong code: %d\n%s", r.status, r.body)
			}
			r = do(t, http.MethodPost, pi.RedirectURL, url.Values{"code": {"111111"}})
			if !strings.Contains(r.body, "Il vous reste 1 essai.") {
				t.Errorf("second wrong code:\n%s", r.body)
			}
			r = do(t, http.MethodPost, pi.RedirectURL, url.Values{"code": {sandbox.SecureCode}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != returnURL {
				t.Fatalf("right code: %d Location %q; want 303 to %q", r.status, r.header.Get("Location"), returnURL)
			}
			if got, _ := f.p.GetPayIn(ctx, pi.ID); got.Status != psp.PayInSucceeded {
				t.Errorf("pay-in = %+v", got)
			}
			if f.balance(t, by.walletID) != 123456 {
				t.Error("wallet not credited")
			}
			done := do(t, http.MethodGet, pi.RedirectURL, nil)
			if done.status != http.StatusOK || strings.Contains(done.body, "<form") || !strings.Contains(done.body, "Paiement authentifié") ||
				!strings.Contains(done.body, `href="https://shop.test/checkout/return?payment_intent=pi_0193abc"`) {
				t.Errorf("finished page: %d\n%s", done.status, done.body)
			}
			again := do(t, http.MethodPost, pi.RedirectURL, url.Values{"code": {sandbox.SecureCode}})
			if again.status != http.StatusConflict || strings.Contains(again.body, "<form") {
				t.Errorf("post after the end: %d", again.status)
			}
		})

		t.Run("three wrong codes", func(t *testing.T) {
			f, _ := pagesFixture(t, b)
			_, cardID, pi := f.challenged(t, 5000, returnURL)
			var r reply
			for range 3 {
				r = do(t, http.MethodPost, pi.RedirectURL, url.Values{"code": {"000000"}})
			}
			if r.status != http.StatusSeeOther || r.header.Get("Location") != returnURL {
				t.Fatalf("third wrong code: %d %q", r.status, r.header.Get("Location"))
			}
			got, _ := f.p.GetPayIn(ctx, pi.ID)
			if got.Status != psp.PayInFailed || got.Failure != psp.FailureCardBlocked {
				t.Errorf("pay-in = %+v", got)
			}
			if c, _ := f.p.GetCard(ctx, cardID); c.Active || c.Validity != psp.CardValidityInvalid {
				t.Errorf("card = %+v, want blocked", c)
			}
			if page := do(t, http.MethodGet, pi.RedirectURL, nil); !strings.Contains(page.body, "Paiement refusé") {
				t.Errorf("finished page:\n%s", page.body)
			}
		})

		t.Run("cancel", func(t *testing.T) {
			f, _ := pagesFixture(t, b)
			_, _, pi := f.challenged(t, 5000, returnURL)
			r := do(t, http.MethodPost, pi.RedirectURL, url.Values{"action": {"cancel"}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != returnURL {
				t.Fatalf("cancel: %d %q", r.status, r.header.Get("Location"))
			}
			if got, _ := f.p.GetPayIn(ctx, pi.ID); got.Failure != psp.FailureAuthenticationFailed {
				t.Errorf("pay-in = %+v", got)
			}
		})

		t.Run("unknown", func(t *testing.T) {
			_, srv := pagesFixture(t, b)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				r := do(t, method, srv.URL+"/sandbox/psp/3ds/sbx_payin_unknown", url.Values{"code": {"1"}})
				if r.status != http.StatusNotFound || !strings.Contains(r.body, "Page introuvable") {
					t.Errorf("%s unknown: %d", method, r.status)
				}
			}
		})
	})
}

func TestMandatePages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		returnURL := "https://shop.test/bank?mandate_id=mdt_0193abc"
		f, srv := pagesFixture(t, b)
		by := f.buyer(t)

		m := f.mandate(t, by, "Garage Martin SARL", ibanSucceeds, returnURL)
		page := do(t, http.MethodGet, m.RedirectURL, nil)
		for _, want := range []string{"Garage Martin SARL", "FR76 **** **** **** **** ***0 189", "vhupay marketplace", "Signer", "Refuser", m.BankReference} {
			if !strings.Contains(page.body, want) {
				t.Errorf("signature page lacks %q", want)
			}
		}
		if strings.Contains(page.body, ibanSucceeds) {
			t.Error("signature page shows the IBAN")
		}
		if r := do(t, http.MethodPost, m.RedirectURL, url.Values{"action": {"maybe"}}); r.status != http.StatusBadRequest {
			t.Errorf("unknown action: %d", r.status)
		}
		r := do(t, http.MethodPost, m.RedirectURL, url.Values{"action": {"sign"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != returnURL {
			t.Fatalf("sign: %d %q; want 303 to %q", r.status, r.header.Get("Location"), returnURL)
		}
		if got, _ := f.p.GetMandate(ctx, m.ID); got.Status != psp.MandateSubmitted {
			t.Errorf("mandate = %+v", got)
		}
		if r := do(t, http.MethodPost, m.RedirectURL, url.Values{"action": {"refuse"}}); r.status != http.StatusConflict ||
			!strings.Contains(r.body, "Mandat signé") || strings.Contains(r.body, "<form") {
			t.Errorf("refuse after signing: %d\n%s", r.status, r.body)
		}

		refused := f.mandate(t, by, "Garage Martin SARL", ibanSucceeds, returnURL+"&x=1")
		r = do(t, http.MethodPost, refused.RedirectURL, url.Values{"action": {"refuse"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != returnURL+"&x=1" {
			t.Fatalf("refuse: %d %q", r.status, r.header.Get("Location"))
		}
		if got, _ := f.p.GetMandate(ctx, refused.ID); got.Status != psp.MandateFailed {
			t.Errorf("mandate = %+v", got)
		}
		if page := do(t, http.MethodGet, refused.RedirectURL, nil); !strings.Contains(page.body, "Mandat refusé") || strings.Contains(page.body, "<form") {
			t.Errorf("refused page:\n%s", page.body)
		}
		if r := do(t, http.MethodGet, srv.URL+"/sandbox/psp/mandates/sbx_mandate_x", nil); r.status != http.StatusNotFound {
			t.Errorf("unknown mandate: %d", r.status)
		}
		if strings.Contains(f.logs.String(), ibanSucceeds) {
			t.Error("a log line holds the IBAN")
		}
	})
}

func TestFormatEuros(t *testing.T) {
	for cents, want := range map[int64]string{0: "0,00 €", 5: "0,05 €", 12345: "123,45 €", 123456: "1 234,56 €",
		100000000: "1 000 000,00 €", -250: "-2,50 €"} {
		if got := sandbox.FormatEuros(cents); got != want {
			t.Errorf("FormatEuros(%d) = %q, want %q", cents, got, want)
		}
	}
}
