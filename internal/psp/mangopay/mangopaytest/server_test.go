package mangopaytest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// token gets a bearer token the way MangoPay's clients do.
func token(t *testing.T, s *mangopaytest.Server) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v2.01/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth(s.ClientID, s.APIKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" || out.ExpiresIn != 1200 {
		t.Fatalf("token: %+v, %v", out, err)
	}
	return out.AccessToken
}

type answer struct {
	Status int
	Type   string
	Fields map[string]string
}

func call(t *testing.T, s *mangopaytest.Server, method, path, bearer, key, body string) (answer, map[string]json.RawMessage) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	var e struct {
		Type   string
		Errors map[string]string `json:"errors"`
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &e)
	return answer{Status: resp.StatusCode, Type: e.Type, Fields: e.Errors}, raw
}

const user = `{"UserCategory":"PAYER","TermsAndConditionsAccepted":true,"LegalPersonType":"BUSINESS","Name":"G SARL",` +
	`"Email":"a@b.example","LegalRepresentative":{"FirstName":"Alice","LastName":"Martin"}}`

func TestFakeChecksRequests(t *testing.T) {
	s := mangopaytest.New(mangopaytest.Config{})
	defer s.Close()
	bearer := token(t, s)
	base := "/v2.01/" + s.ClientID
	field := func(name, msg string) map[string]string { return map[string]string{name: msg} }
	tests := []struct {
		name                    string
		method, path, auth, key string
		body                    string
		want                    answer
	}{
		{"happy", "POST", base + "/sca/users/legal", bearer, "", user, answer{Status: 200}},
		{"no token", "POST", base + "/sca/users/legal", "", "", user, answer{Status: 401, Type: "invalid_credentials"}},
		{"unknown token", "POST", base + "/sca/users/legal", "forged", "", user, answer{Status: 401, Type: "invalid_credentials"}},
		{"other client id", "POST", "/v2.01/someone-else/sca/users/legal", bearer, "", user, answer{Status: 403, Type: "not_authorized"}},
		{"unknown field", "POST", base + "/sca/users/legal", bearer, "", strings.Replace(user, `"Name"`, `"CompanyName":"x","Name"`, 1),
			answer{Status: 400, Type: "param_error", Fields: field("CompanyName", "The CompanyName field is not a member of this request.")}},
		{"missing field", "POST", base + "/sca/users/legal", bearer, "", strings.Replace(user, `"Email":"a@b.example",`, ``, 1),
			answer{Status: 400, Type: "param_error", Fields: field("Email", "The Email field is required.")}},
		{"wrong type", "POST", base + "/sca/users/legal", bearer, "", strings.Replace(user, `true`, `"yes"`, 1),
			answer{Status: 400, Type: "param_error", Fields: field("TermsAndConditionsAccepted", "The TermsAndConditionsAccepted field must be a boolean.")}},
		{"bad enum", "POST", base + "/sca/users/legal", bearer, "", strings.Replace(user, `BUSINESS`, `SARL`, 1),
			answer{Status: 400, Type: "param_error", Fields: field("LegalPersonType", "The LegalPersonType field has an invalid value.")}},
		{"nested unknown field", "POST", base + "/sca/users/legal", bearer, "", strings.Replace(user, `"Name"`, `"HeadquartersAddress":{"Line1":"x","AddressLine1":"a","City":"c","PostalCode":"75001","Country":"FR"},"Name"`, 1),
			answer{Status: 400, Type: "param_error", Fields: field("HeadquartersAddress.Line1", "The Line1 field is not a member of this request.")}},
		{"short idempotency key", "POST", base + "/sca/users/legal", bearer, "short", user,
			answer{Status: 400, Type: "param_error", Fields: field("Idempotency-Key", "The Idempotency-Key must be 16 to 36 characters of letters, digits and '-'.")}},
		{"body on cancel", "PUT", base + "/mandates/m1/cancel", bearer, "", `{}`,
			answer{Status: 400, Type: "param_error", Fields: field("body", "This request takes no body.")}},
		{"unknown route", "GET", base + "/nothing/here", bearer, "", "", answer{Status: 404, Type: "ressource_not_found"}},
		{"unknown pay-in", "GET", base + "/payins/p1", bearer, "", "", answer{Status: 404, Type: "ressource_not_found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := call(t, s, tt.method, tt.path, tt.auth, tt.key, tt.body)
			if tt.want.Status == 200 {
				got.Fields, got.Type = nil, ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFakeIdempotency(t *testing.T) {
	s := mangopaytest.New(mangopaytest.Config{})
	defer s.Close()
	bearer := token(t, s)
	base := "/v2.01/" + s.ClientID
	const key = "0123456789abcdef-key"

	first, created := call(t, s, "POST", base+"/sca/users/legal", bearer, key, user)
	replay, body := call(t, s, "POST", base+"/sca/users/legal", bearer, key, user)
	if first.Status != 200 || replay.Status != 409 || replay.Type != "idempotent_creation_conflict" {
		t.Fatalf("first %+v, replay %+v", first, replay)
	}
	if string(body["errors"]) != "null" || !strings.HasSuffix(string(body["Date"]), ".0") {
		t.Fatalf("409 body %s", body)
	}
	got, stored := call(t, s, "GET", base+"/responses/"+key, bearer, "", "")
	var resource map[string]json.RawMessage
	_ = json.Unmarshal(stored["Resource"], &resource)
	if got.Status != 200 || string(stored["StatusCode"]) != `"200"` || string(resource["Id"]) != string(created["Id"]) {
		t.Fatalf("stored response %s", stored)
	}
	if s.Created("users") != 1 || s.Calls("POST /sca/users/legal") != 2 {
		t.Fatalf("created %d, calls %d", s.Created("users"), s.Calls("POST /sca/users/legal"))
	}
	if got, _ := call(t, s, "GET", base+"/responses/unknown-key-0000000", bearer, "", ""); got.Status != 404 {
		t.Fatalf("unknown key: %+v", got)
	}
}

func TestFakeFaults(t *testing.T) {
	s := mangopaytest.New(mangopaytest.Config{})
	defer s.Close()
	bearer := token(t, s)
	base := "/v2.01/" + s.ClientID
	s.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 429, Times: 1})
	s.InjectFault(mangopaytest.Fault{Status: 503, Times: 1})
	if got, _ := call(t, s, "GET", base+"/payins/p1", bearer, "", ""); got.Status != 429 || got.Type != "rate_limit" {
		t.Fatalf("first: %+v", got)
	}
	if got, _ := call(t, s, "GET", base+"/payins/p1", bearer, "", ""); got.Status != 503 {
		t.Fatalf("second: %+v", got)
	}
	if got, _ := call(t, s, "GET", base+"/payins/p1", bearer, "", ""); got.Status != 404 {
		t.Fatalf("third: %+v", got)
	}
	if n := s.Calls("GET /payins/{id}"); n != 3 {
		t.Fatalf("calls %d", n)
	}
}

// TestFakeDelay: a slow call takes effect at once and is answered after its delay, without
// holding up the other calls; a client that gives up waiting finds the resource through its
// idempotency key.
func TestFakeDelay(t *testing.T) {
	s := mangopaytest.New(mangopaytest.Config{})
	defer s.Close()
	bearer := token(t, s)
	base := "/v2.01/" + s.ClientID
	const delay = time.Second
	s.InjectFault(mangopaytest.Fault{Route: "POST /sca/users/legal", Delay: delay, Times: 2})
	slow := make(chan int, 1)
	began := time.Now()
	go func() {
		got, _ := call(t, s, "POST", base+"/sca/users/legal", bearer, "slow-user-key-0000001", user)
		slow <- got.Status
	}()
	for s.Created("users") == 0 { // the slow call has taken effect
		time.Sleep(time.Millisecond)
	}
	if got, _ := call(t, s, "GET", base+"/users/u1", bearer, "", ""); got.Status != 404 {
		t.Fatalf("a call during the delay: %+v", got)
	}
	select {
	case status := <-slow:
		t.Fatalf("the slow call answered %d before the other call", status)
	default:
	}
	if status := <-slow; status != 200 || time.Since(began) < delay {
		t.Fatalf("slow call: %d after %s", status, time.Since(began))
	}

	// A client that gives up: the user exists all the same, and its key tells which.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+base+"/sca/users/legal", strings.NewReader(user))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Idempotency-Key", "slow-user-key-0000002")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the slow call answered %d before its delay", resp.StatusCode)
	}
	if s.Created("users") != 2 {
		t.Fatalf("users created = %d, want 2", s.Created("users"))
	}
	if got, _ := call(t, s, "POST", base+"/sca/users/legal", bearer, "slow-user-key-0000002", user); got.Status != 409 {
		t.Fatalf("replay: %+v", got)
	}
	if got, stored := call(t, s, "GET", base+"/responses/slow-user-key-0000002", bearer, "", ""); got.Status != 200 || string(stored["StatusCode"]) != `"200"` {
		t.Fatalf("stored answer: %+v %s", got, stored["StatusCode"])
	}
	if n := len(s.PayIns()); n != 0 {
		t.Fatalf("pay-ins: %d", n)
	}
}

func TestFakeTokenizationRefusesBadCards(t *testing.T) {
	s := mangopaytest.New(mangopaytest.Config{})
	defer s.Close()
	bearer := token(t, s)
	base := "/v2.01/" + s.ClientID
	_, u := call(t, s, "POST", base+"/sca/users/legal", bearer, "", user)
	var userID string
	_ = json.Unmarshal(u["Id"], &userID)
	_, reg := call(t, s, "POST", base+"/cardregistrations", bearer, "", `{"UserId":"`+userID+`","Currency":"EUR","CardType":"CB_VISA_MASTERCARD"}`)
	var regURL, access, pre string
	_ = json.Unmarshal(reg["CardRegistrationURL"], &regURL)
	_ = json.Unmarshal(reg["AccessKey"], &access)
	_ = json.Unmarshal(reg["PreregistrationData"], &pre)
	for _, tt := range []struct{ number, expiry, cvx, want string }{
		{"4970107111111118", "1230", "123", "errorCode=02625"}, // Luhn
		{"4970107111111119", "0120", "123", "errorCode=02626"}, // past
		{"4970107111111119", "1230", "12", "errorCode=02627"},
	} {
		resp, err := http.PostForm(regURL, url.Values{"accessKeyRef": {access}, "data": {pre}, "cardNumber": {tt.number}, "cardExpirationDate": {tt.expiry}, "cardCvx": {tt.cvx}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tt.want {
			t.Errorf("%v: %s", tt, b)
		}
	}
}
