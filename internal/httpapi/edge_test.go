package httpapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// raw sends a request outside the contract check (headers and bodies the document cannot describe).
func raw(t *testing.T, s *apptest.Server, method, path string, body []byte, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestEdgeHeadersMediaTypeAndSizes(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	admin := s.Token(t, auth.RoleAdmin, "")
	r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: admin}).Expect(t, 200)
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("API answer headers: Cache-Control %q, X-Content-Type-Options %q", r.Header.Get("Cache-Control"), r.Header.Get("X-Content-Type-Options"))
	}
	p := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers"}).ExpectProblem(t, 401, "unauthenticated")
	_ = p
	body := []byte(`{"name":"x"}`)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", ""} {
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: body, Header: map[string]string{"Content-Type": ct}}).
			ExpectProblem(t, 415, "unsupported_media_type")
	}
	// charset=utf-8 is JSON too: the body reaches validation.
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: body, Header: map[string]string{"Content-Type": "application/json; charset=utf-8"}}).
		ExpectProblem(t, 422, "validation_failed")

	// No body is read for an unauthenticated caller: 401, not 413.
	big := bytes.Repeat([]byte("a"), 2<<20)
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Body: big}).ExpectProblem(t, 401, "unauthenticated")
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: big}).ExpectProblem(t, 413, "payload_too_large")

	// Headers over 16 KiB: 431 as a problem.
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: admin, Header: map[string]string{"X-Padding": strings.Repeat("p", 17<<10)}}).
		ExpectProblem(t, 431, "headers_too_large")
	if lines := s.LogLines("ERROR"); len(lines) > 0 {
		t.Errorf("client mistakes logged at ERROR:\n%s", strings.Join(lines, "\n"))
	}
}

func TestRateLimits(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite, apptest.WithEnv("VHUPAY_RATE_LIMIT", "0.5"), apptest.WithEnv("VHUPAY_RATE_BURST", "3"),
		apptest.WithEnv("VHUPAY_HOOK_RATE_LIMIT", "0.5"), apptest.WithEnv("VHUPAY_HOOK_RATE_BURST", "2"))
	admin := s.Token(t, auth.RoleAdmin, "")
	for range 3 {
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: admin}).Expect(t, 200)
	}
	r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: admin})
	r.ExpectProblem(t, 429, "rate_limited")
	if sec, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || sec < 1 || sec > 2 {
		t.Errorf("Retry-After = %q, want 1 or 2 seconds", r.Header.Get("Retry-After"))
	}
	// A POST refused by the limit is not kept as the key's answer.
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: centerBody("81234567600017"),
		Header: map[string]string{"Idempotency-Key": "k1"}}).ExpectProblem(t, 429, "rate_limited")
	// Another caller has its own budget.
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: s.Token(t, auth.RoleService, "")}).Expect(t, 200)

	// The provider hook: per source address.
	hook := "/v1/psp/mangopay/hooks?EventType=PAYIN_NORMAL_SUCCEEDED&RessourceId=123&Date=1700000000"
	for range 2 {
		s.Do(t, apptest.Request{Method: "GET", Path: hook}).Expect(t, 200)
	}
	r = s.Do(t, apptest.Request{Method: "GET", Path: hook})
	r.ExpectProblem(t, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("hook 429 without Retry-After")
	}
	time.Sleep(2100 * time.Millisecond)
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: centerBody("81234567600017"),
		Header: map[string]string{"Idempotency-Key": "k1"}}).Expect(t, 201)
}

func TestJSONMembersMatchExactly(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	admin := s.Token(t, auth.RoleAdmin, "")
	line := map[string]any{"reference": "R1", "label": "Phare", "quantity": 1, "unit_price_excl_vat": 1000}
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"buyer_id": "byr_x", "CENTER_ID": "ctr_x", "delivery_mode": "pickup", "lines": []any{line}}, "CENTER_ID"},
		{map[string]any{"buyer_id": "byr_x", "center_id": "ctr_x", "delivery_mode": "pickup", "lines": []any{line, withField(line, "foo", 1)}}, "lines[1].foo"},
		{map[string]any{"buyer_id": "byr_x", "center_id": "ctr_x", "delivery_mode": "pickup", "lines": []any{withField(line, "Quantity", 2)}}, "lines[0].Quantity"},
		{map[string]any{"buyer_id": "byr_x", "center_id": "ctr_x", "delivery_mode": "pickup", "lines": []any{withField(line, "label", "a\x00b")}}, "lines[0].label"},
		{map[string]any{"buyer_id": "byr_x", "center_id": "ctr_x", "delivery_mode": "pickup", "lines": []any{line, withField(line, "quantity", "2")}}, "lines[1].quantity"},
		{map[string]any{"buyer_id": "byr_x", "center_id": "ctr_x", "delivery_mode": "pickup", "lines": map[string]any{"0": line}}, "lines"},
	}
	for _, tc := range cases {
		p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: admin, Body: tc.body}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%v: errors = %+v, want one on %s", tc.body, p.Errors, tc.field)
		}
	}
	// Invalid UTF-8 in a body.
	p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: admin, Body: []byte("{\"center_id\":\"\xff\xfe\"}")}).ExpectProblem(t, 422, "validation_failed")
	if len(p.Errors) != 1 || p.Errors[0].Code != "encoding" {
		t.Errorf("invalid UTF-8: %+v", p.Errors)
	}
}

func TestReturnURLOrigins(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, apptest.WithEnv("VHUPAY_RETURN_URL_ORIGINS", "https://shop.example, https://pro.shop.example:8443"))
		buyer := createBuyer(t, s, "812345676")
		tok := s.Token(t, auth.RoleBuyer, buyer.ID)
		intent := func(u string) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: tok, Body: map[string]any{
				"order_id": "ord_00000000000000000000000000000000", "method": "card", "card_id": "card_x", "return_url": u}})
		}
		for _, u := range []string{"https://evil.example/return", "https://shop.example.evil.example/", "https://pro.shop.example/x", "https://shop.example:444/"} {
			p := intent(u).ExpectProblem(t, 422, "validation_failed")
			if len(p.Errors) != 1 || p.Errors[0].Field != "return_url" || p.Errors[0].Code != "origin" {
				t.Errorf("%s: %+v", u, p.Errors)
			}
		}
		// Allowed: the origins (a default port written out is the same origin), and localhost in the sandbox.
		for _, u := range []string{"https://shop.example/checkout", "https://shop.example:443/c", "https://pro.shop.example:8443/c", "http://localhost:5173/r"} {
			if r := intent(u); r.Status == 422 && strings.Contains(string(r.Body), "return_url") {
				t.Errorf("%s refused: %s", u, r.Body)
			}
		}
		mandate := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/ba_x/mandates", Token: tok, Body: map[string]any{"return_url": "https://evil.example/"}})
		if p := mandate.ExpectProblem(t, 422, "validation_failed"); p.Errors[0].Code != "origin" {
			t.Errorf("mandate: %+v", p.Errors)
		}
	})
}

func TestCORSPreflight(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite, apptest.WithEnv("VHUPAY_CORS_ORIGINS", "https://shop.example"))
	pre := func(s *apptest.Server, origin string) *http.Response {
		return raw(t, s, "OPTIONS", "/v1/buyers/byr_x", nil, map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization,content-type"})
	}
	r := pre(s, "https://shop.example")
	if r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "PATCH") {
		t.Errorf("allowed preflight: %d %v", r.StatusCode, r.Header)
	}
	for _, srv := range []*apptest.Server{s, apptest.Start(t, storagetest.SQLite)} {
		r = pre(srv, "https://evil.example")
		if r.StatusCode != 403 || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from another origin: %d %v", r.StatusCode, r.Header)
		}
	}
}

func TestUnauthenticatedReasonIsLoggedNotAnswered(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	now := time.Now()
	expired, _ := auth.Sign(apptest.Secret, "vhupay", "vhupay-api", auth.Principal{Subject: "u", Role: auth.RoleAdmin}, now.Add(-3*time.Hour), time.Hour)
	wrongAud, _ := auth.Sign(apptest.Secret, "vhupay", "other-api", auth.Principal{Subject: "u", Role: auth.RoleAdmin}, now, time.Hour)
	tooLong, _ := auth.Sign(apptest.Secret, "vhupay", "vhupay-api", auth.Principal{Subject: "u", Role: auth.RoleAdmin}, now, 48*time.Hour)
	badSig, _ := auth.Sign("another-secret-another-secret-another", "vhupay", "vhupay-api", auth.Principal{Subject: "u", Role: auth.RoleAdmin}, now, time.Hour)
	crit := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u", "role": "admin", "iss": "vhupay", "aud": "vhupay-api",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	crit.Header["crit"] = []string{"b64"}
	critTok, _ := crit.SignedString([]byte(apptest.Secret))
	for reason, tok := range map[string]string{"expired": expired, "wrong audience": wrongAud, "lifetime too long": tooLong,
		"bad signature": badSig, "unknown crit header": critTok} {
		r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: tok})
		p := r.ExpectProblem(t, 401, "unauthenticated")
		if strings.Contains(string(r.Body), reason) || p.Detail != "A valid bearer token is required." {
			t.Errorf("%s: the answer says too much: %s", reason, r.Body)
		}
		found := false
		for _, l := range s.LogLines("INFO") {
			if strings.Contains(l, `"msg":"unauthenticated"`) && strings.Contains(l, `"reason":"`+reason+`"`) && strings.Contains(l, p.RequestID) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no log line with the reason", reason)
		}
	}
}
