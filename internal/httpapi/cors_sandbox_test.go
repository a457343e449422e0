package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// With VHUPAY_CORS_ORIGINS set (as every single-page front end needs), the sandbox provider's
// pages stay the bank's: the tokenisation endpoint answers any origin, and the 3-D Secure page's
// form, which Chromium posts with "Origin: null" (the page's no-referrer policy), is not refused
// by the API's CORS policy (it was: 403).
func TestSandboxPagesAreOutsideTheAPIsCORSPolicy(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, apptest.WithEnv("VHUPAY_CORS_ORIGINS", "https://shop.example"))
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		token := s.Token(t, auth.RoleBuyer, buyer.ID)
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(t *testing.T, target, origin string, form url.Values) (*http.Response, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", origin)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, string(body)
		}

		var cr httpapi.CardRegistration
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/card-registrations", Token: token, Body: map[string]any{}}).Expect(t, 201).JSON(t, &cr)
		resp, data := post(t, cr.CardRegistrationURL, "https://partner.example", url.Values{"data": {cr.PreregistrationData},
			"accessKeyRef": {cr.AccessKey}, "cardNumber": {sandbox.ChallengeCard}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"}})
		if resp.StatusCode != 200 || !strings.HasPrefix(data, "data=") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("tokenisation from another origin: %d %q, Access-Control-Allow-Origin %q", resp.StatusCode, data, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		var done httpapi.CardRegistrationResult
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/card-registrations/" + cr.ID, Token: token,
			Body: map[string]any{"registration_data": data}}).Expect(t, 200).JSON(t, &done)
		o := createOrder(t, s, token, orderBody(center.ID, line("P", 1, 1000, nil)))
		var pi httpapi.PaymentIntent
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: token, Body: map[string]any{
			"order_id": o.ID, "method": "card", "card_id": done.CardID, "return_url": "https://shop.example/return",
		}}).Expect(t, 201).JSON(t, &pi)

		resp, body := post(t, pi.NextAction.RedirectToURL.URL, "null", url.Values{"code": {"123456"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/return?payment_intent="+pi.ID {
			t.Fatalf("the 3-D Secure form posted with Origin: null answered %d %s %q", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	})
}
