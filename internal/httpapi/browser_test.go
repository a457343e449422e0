package httpapi_test

// Real-browser tests: a headless Chromium (internal/browsertest) plays the buyer, on a small
// merchant front end that the test serves on its own loopback origin, and on the sandbox
// provider's pages that the app serves under /sandbox/psp/. The API calls are the ones a merchant
// back end makes. Screenshots go to the test's artifact directory (kept with
// `go test -artifacts -outputdir DIR`, else removed when the test ends); their paths are logged.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/browsertest"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// frontEnd is the merchant's web front end: a card form that tokenises the card straight at the
// provider with fetch (the card number never reaches the merchant), and the pages the provider
// sends the browser back to.
type frontEnd struct {
	URL string

	mu            sync.Mutex
	registrations map[string]httpapi.CardRegistration // by id
}

// Paths of the front end's return pages.
const (
	frontCheckoutReturn = "/checkout/return"
	frontSEPAReturn     = "/sepa/return"
)

// cardFormPage tokenises the card with the registration's secrets and shows the provider's answer
// ("data=..." or "errorCode=...") in #result; #result's data-answers counts the answers.
var cardFormPage = template.Must(template.New("card").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Garage Martin — Carte de paiement</title></head>
<body>
<h1>Enregistrer une carte</h1>
<form id="card" data-registration-url="{{.CardRegistrationURL}}">
<input type="hidden" name="data" value="{{.PreregistrationData}}">
<input type="hidden" name="accessKeyRef" value="{{.AccessKey}}">
<p><label>Numéro de carte <input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" required></label></p>
<p><label>Expiration (MMAA) <input id="cardExpirationDate" name="cardExpirationDate" inputmode="numeric" maxlength="4" required></label></p>
<p><label>Cryptogramme <input id="cardCvx" name="cardCvx" inputmode="numeric" maxlength="3" required></label></p>
<p><button id="register" type="submit">Enregistrer la carte</button></p>
</form>
<output id="result" data-answers="0" hidden></output>
<script>
const form = document.getElementById("card");
const result = document.getElementById("result");
form.addEventListener("submit", async (event) => {
	event.preventDefault();
	let answer;
	try {
		const resp = await fetch(form.dataset.registrationUrl, {method: "POST", body: new URLSearchParams(new FormData(form))});
		answer = await resp.text();
	} catch (err) {
		answer = "fetch failed: " + err;
	}
	result.textContent = answer;
	result.hidden = false;
	result.dataset.answers = Number(result.dataset.answers) + 1;
});
</script>
</body></html>`))

var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Garage Martin — Retour</title></head>
<body><h1 id="back">Retour sur la boutique</h1><p id="query">{{.}}</p></body></html>`))

// startFrontEnd serves the front end on loopback until the test ends.
func startFrontEnd(t *testing.T) *frontEnd {
	t.Helper()
	f := &frontEnd{registrations: map[string]httpapi.CardRegistration{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /card/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		cr, ok := f.registrations[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := cardFormPage.Execute(w, cr); err != nil {
			t.Errorf("render the card form: %v", err)
		}
	})
	back := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := returnPage.Execute(w, r.URL.RawQuery); err != nil {
			t.Errorf("render the return page: %v", err)
		}
	}
	mux.HandleFunc("GET "+frontCheckoutReturn, back)
	mux.HandleFunc("GET "+frontSEPAReturn, back)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// cardPage returns the URL of the card form for a registration.
func (f *frontEnd) cardPage(cr httpapi.CardRegistration) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registrations[cr.ID] = cr
	return f.URL + "/card/" + cr.ID
}

// screenshot saves a PNG of the whole page in the test's artifact directory and logs its path.
func screenshot(t *testing.T, browser context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", name, path)
}

// textOf returns the visible text of the element with the id, trimmed; it waits for the element.
func textOf(t *testing.T, browser context.Context, id string) string {
	t.Helper()
	got, err := chromedp.Run(browser, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("read #%s: %v", id, err)
	}
	return strings.TrimSpace(got)
}

// pageText returns the text the page shows.
func pageText(t *testing.T, browser context.Context) string {
	t.Helper()
	got, err := chromedp.Run(browser, chromedp.Evaluate[string]("document.body.innerText"))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return got
}

// open navigates to url and waits until the element with the id is visible.
func open(t *testing.T, browser context.Context, url, id string) {
	t.Helper()
	if err := chromedp.Do(browser, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID(id))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// click clicks the button with the id, waits for the page the browser then lands on (after any
// redirect) and returns its URL.
func click(t *testing.T, browser context.Context, id string) string {
	t.Helper()
	resp, err := chromedp.RunResponse(browser, chromedp.Click(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		t.Fatalf("click #%s: landed on %+v, want a 200 page", id, resp)
	}
	location, err := chromedp.Run(browser, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return location
}

// registerCardInBrowser registers a card as a merchant's front end does: the back end starts a
// registration, the browser posts the card form to card_registration_url and shows the answer,
// the back end completes the registration with it. A wrong number is typed first: the provider
// answers errorCode=105202 and the same registration takes the corrected card (the page reloaded).
func registerCardInBrowser(t *testing.T, s *apptest.Server, browser context.Context, front *frontEnd, token, number string) string {
	t.Helper()
	var cr httpapi.CardRegistration
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: token, Body: map[string]any{}}).Expect(t, 201).JSON(t, &cr)
	// typeCard opens the card form, types the card, posts it and returns the answer the page shows.
	typeCard := func(number string) string {
		t.Helper()
		open(t, browser, front.cardPage(cr), "cardNumber")
		err := chromedp.Do(browser,
			chromedp.SendKeys(chromedp.ID("cardNumber"), number),
			chromedp.SendKeys(chromedp.ID("cardExpirationDate"), "1230"),
			chromedp.SendKeys(chromedp.ID("cardCvx"), "123"),
			chromedp.Click(chromedp.ID("register")),
			chromedp.WaitVisible(chromedp.CSS(`#result[data-answers="1"]`)),
		)
		if err != nil {
			t.Fatalf("post the card form: %v", err)
		}
		return textOf(t, browser, "result")
	}
	wrong := number[:len(number)-1] + fmt.Sprint((number[len(number)-1]-'0'+1)%10) // breaks the Luhn check
	if got := typeCard(wrong); got != "errorCode="+sandbox.TokenCardNumber {
		t.Errorf("a wrong card number answered %q, want errorCode=%s", got, sandbox.TokenCardNumber)
	}
	data := typeCard(number)
	screenshot(t, browser, "card-form")
	if !strings.HasPrefix(data, "data=") || len(data) < len("data=")+16 {
		t.Fatalf("the tokenisation answered %q in the page", data)
	}

	var res httpapi.CardRegistrationResult
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: token,
		Body: map[string]any{"registration_data": data}}).Expect(t, 200).JSON(t, &res)
	if res.ID != cr.ID || res.Status != "validated" || !strings.HasPrefix(res.CardID, "card_") {
		t.Fatalf("completed registration = %+v", res)
	}
	return res.CardID
}

// TestBrowserCardFlow registers a card and pays orders with it in Chromium: the first after two
// wrong 3-D Secure codes and the right one, the second cancelled on the bank's page, the third with
// three wrong codes, which block the card.
func TestBrowserCardFlow(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		token := s.Token(t, auth.RoleBuyer, buyer.ID)
		front := startFrontEnd(t)
		browser := browsertest.New(t)

		card := registerCardInBrowser(t, s, browser, front, token, sandbox.ChallengeCard)
		var c httpapi.Card
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: token}).Expect(t, 200).JSON(t, &c)
		if c.Alias != "497010XXXXXX8183" || c.Expiration != "1230" || c.Status != "active" {
			t.Fatalf("card = %+v", c)
		}

		// pay creates an order and a card intent that needs 3-D Secure, and opens its page.
		pay := func(t *testing.T, unitPrice int64) (httpapi.Order, httpapi.PaymentIntent) {
			t.Helper()
			o := createOrder(t, s, token, orderBody(center.ID, line("P", 1, unitPrice, nil)))
			var pi httpapi.PaymentIntent
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: token,
				Body: map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": front.URL + frontCheckoutReturn}}).
				Expect(t, 201).JSON(t, &pi)
			if pi.Status != "requires_action" || pi.NextAction == nil || !strings.HasPrefix(pi.NextAction.RedirectToURL.URL, s.URL+"/sandbox/psp/3ds/") {
				t.Fatalf("intent = %+v", pi)
			}
			open(t, browser, pi.NextAction.RedirectToURL.URL, "code")
			return o, pi
		}
		// enterCode types a code, clicks "Valider" and returns where the browser lands.
		enterCode := func(t *testing.T, code string) string {
			t.Helper()
			if err := chromedp.Do(browser, chromedp.SendKeys(chromedp.ID("code"), code)); err != nil {
				t.Fatalf("type the code: %v", err)
			}
			return click(t, browser, "validate")
		}
		// wrongCode types a wrong code and checks that the page shows again with left tries.
		wrongCode := func(t *testing.T, pageURL string, left int) {
			t.Helper()
			if at := enterCode(t, "000000"); at != pageURL {
				t.Fatalf("after a wrong code the browser is at %s, want the 3-D Secure page", at)
			}
			if got := textOf(t, browser, "tries"); got != fmt.Sprint(left) {
				t.Errorf("tries left = %q, want %d", got, left)
			}
			if msg := textOf(t, browser, "error"); !strings.Contains(msg, fmt.Sprintf("Il vous reste %d essai", left)) {
				t.Errorf("after a wrong code the page says %q", msg)
			}
		}
		landing := func(pi httpapi.PaymentIntent) string {
			return front.URL + frontCheckoutReturn + "?payment_intent=" + pi.ID
		}

		t.Run("two wrong codes then the right one", func(t *testing.T) {
			o, pi := pay(t, 102880) // 1 028,80 € + 20 % VAT = 1 234,56 €
			screenshot(t, browser, "3ds")
			for id, want := range map[string]string{"amount": sandbox.FormatEuros(pi.Amount), "validate": "Valider", "cancel": "Annuler", "tries": "3"} {
				if got := textOf(t, browser, id); got != want {
					t.Errorf("#%s = %q, want %q", id, got, want)
				}
			}
			if pi.Amount != 123456 || sandbox.FormatEuros(pi.Amount) != "1 234,56 €" {
				t.Errorf("amount = %d", pi.Amount)
			}
			if page := pageText(t, browser); !strings.Contains(page, sandbox.Merchant) || !strings.Contains(page, "497010XXXXXX8183") {
				t.Errorf("the 3-D Secure page shows %q, want the merchant and the card's alias", page)
			}

			wrongCode(t, pi.NextAction.RedirectToURL.URL, 2)
			wrongCode(t, pi.NextAction.RedirectToURL.URL, 1)
			screenshot(t, browser, "3ds-last-try")
			if at := enterCode(t, "123456"); at != landing(pi) {
				t.Errorf("after the right code the browser is at %s, want %s", at, landing(pi))
			}
			if got := textOf(t, browser, "back"); got != "Retour sur la boutique" {
				t.Errorf("return page says %q", got)
			}

			var got httpapi.PaymentIntent
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: token}).Expect(t, 200).JSON(t, &got)
			if got.Status != "succeeded" || got.NextAction != nil || got.LastError != nil {
				t.Errorf("intent after 3-D Secure = %+v", got)
			}
			if o := getOrder(t, s, token, o.ID); o.Status != "confirmed" || o.Payment == nil || o.Payment.Status != "succeeded" {
				t.Errorf("order after the payment = %+v", o)
			}
		})

		t.Run("cancel with no code typed", func(t *testing.T) {
			// "Annuler" submits although the code field is required (formnovalidate).
			_, pi := pay(t, 2000)
			if at := click(t, browser, "cancel"); at != landing(pi) {
				t.Errorf("after cancelling the browser is at %s, want %s", at, landing(pi))
			}
			var got httpapi.PaymentIntent
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: token}).Expect(t, 200).JSON(t, &got)
			if got.Status != "failed" || got.LastError == nil || got.LastError.Code != "authentication_failed" {
				t.Errorf("intent after cancelling = %+v", got)
			}
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: token}).Expect(t, 200).JSON(t, &c)
			if c.Status != "active" {
				t.Errorf("card after a cancelled authentication = %+v, want active", c)
			}
		})

		t.Run("three wrong codes block the card", func(t *testing.T) {
			o, pi := pay(t, 5000)
			wrongCode(t, pi.NextAction.RedirectToURL.URL, 2)
			wrongCode(t, pi.NextAction.RedirectToURL.URL, 1)
			if at := enterCode(t, "000000"); at != landing(pi) {
				t.Errorf("after the third wrong code the browser is at %s, want %s", at, landing(pi))
			}

			var got httpapi.PaymentIntent
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: token}).Expect(t, 200).JSON(t, &got)
			if got.Status != "failed" || got.LastError == nil || got.LastError.Code != "card_blocked" {
				t.Errorf("intent after three wrong codes = %+v", got)
			}
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/cards/" + card, Token: token}).Expect(t, 200).JSON(t, &c)
			if c.Status != "blocked" {
				t.Errorf("card = %+v, want blocked", c)
			}
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: token,
				Body: map[string]any{"order_id": o.ID, "method": "card", "card_id": card, "return_url": front.URL + frontCheckoutReturn}}).
				ExpectProblem(t, 409, "card_blocked")

			// The bank's page, opened again, shows the outcome and no form.
			open(t, browser, pi.NextAction.RedirectToURL.URL, "outcome")
			screenshot(t, browser, "3ds-blocked")
			if got := textOf(t, browser, "outcome"); got != "Paiement refusé." {
				t.Errorf("finished 3-D Secure page says %q", got)
			}
		})
	})
}

// TestBrowserMandateSignature signs a SEPA mandate on the provider's e-signature page in Chromium,
// which enables SEPA for the buyer, and refuses a second one.
func TestBrowserMandateSignature(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		buyer := createBuyer(t, s, "812345676")
		token := s.Token(t, auth.RoleBuyer, buyer.ID)
		front := startFrontEnd(t)
		browser := browsertest.New(t)

		var a httpapi.BankAccount
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: token, Body: bankAccountBody(ibanFR)}).Expect(t, 201).JSON(t, &a)
		profile := func(t *testing.T) httpapi.SEPAProfile {
			t.Helper()
			var p httpapi.SEPAProfile
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: token}).Expect(t, 200).JSON(t, &p)
			return p
		}
		if p := profile(t); p.Enabled {
			t.Fatalf("SEPA enabled before any mandate: %+v", p)
		}
		newMandate := func(t *testing.T) httpapi.Mandate {
			t.Helper()
			var m httpapi.Mandate
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: token,
				Body: map[string]any{"return_url": front.URL + frontSEPAReturn}}).Expect(t, 201).JSON(t, &m)
			if m.Status != "pending_signature" || !strings.HasPrefix(m.SignatureURL, s.URL+"/sandbox/psp/mandates/") {
				t.Fatalf("mandate = %+v", m)
			}
			return m
		}
		mandateStatus := func(t *testing.T, id string) string {
			t.Helper()
			var m httpapi.Mandate
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + id, Token: token}).Expect(t, 200).JSON(t, &m)
			return m.Status
		}

		t.Run("sign", func(t *testing.T) {
			m := newMandate(t)
			open(t, browser, m.SignatureURL, "sign")
			screenshot(t, browser, "mandate")
			if got := textOf(t, browser, "iban"); got != a.MaskedIBAN {
				t.Errorf("the signature page shows the IBAN %q, want %q", got, a.MaskedIBAN)
			}
			page := pageText(t, browser)
			for _, want := range []string{"Garage Martin SARL", sandbox.Merchant} {
				if !strings.Contains(page, want) {
					t.Errorf("the signature page does not show %q:\n%s", want, page)
				}
			}
			if strings.Contains(strings.ReplaceAll(page, " ", ""), ibanFR) {
				t.Errorf("the signature page shows the full IBAN:\n%s", page)
			}
			if got := textOf(t, browser, "sign"); got != "Signer" {
				t.Errorf("sign button = %q", got)
			}
			if got := textOf(t, browser, "refuse"); got != "Refuser" {
				t.Errorf("refuse button = %q", got)
			}

			want := front.URL + frontSEPAReturn + "?mandate_id=" + m.ID
			if at := click(t, browser, "sign"); at != want {
				t.Errorf("after signing the browser is at %s, want %s", at, want)
			}
			if got := mandateStatus(t, m.ID); got != "submitted" {
				t.Errorf("signed mandate = %s, want submitted", got)
			}
			p := profile(t)
			if !p.Enabled || len(p.Reasons) != 0 || p.Score == nil || p.Score.Value != 14 || p.DefaultMandateID == nil || *p.DefaultMandateID != m.ID {
				t.Errorf("profile after the signature = %+v", p)
			}

			open(t, browser, m.SignatureURL, "outcome")
			screenshot(t, browser, "mandate-signed")
			if got := textOf(t, browser, "outcome"); got != "Mandat signé." {
				t.Errorf("signed mandate page says %q", got)
			}
		})

		t.Run("refuse", func(t *testing.T) {
			m := newMandate(t)
			open(t, browser, m.SignatureURL, "refuse")
			want := front.URL + frontSEPAReturn + "?mandate_id=" + m.ID
			if at := click(t, browser, "refuse"); at != want {
				t.Errorf("after refusing the browser is at %s, want %s", at, want)
			}
			if got := mandateStatus(t, m.ID); got != "failed" {
				t.Errorf("refused mandate = %s, want failed", got)
			}
			if p := profile(t); !p.Enabled {
				t.Errorf("a refused second mandate disabled SEPA: %+v", p)
			}
		})
	})
}
