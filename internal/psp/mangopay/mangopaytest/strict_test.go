package mangopaytest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// The fake is as strict as MangoPay: one test per rule that the fake once let through, each
// naming its source (Mangopay/docs is github.com/Mangopay/docs; the SDKs are
// github.com/Mangopay/mangopay2-{nodejs,python,java}-sdk).

// fixture is a fake with a buyer, its wallet and a succeeded card pay-in of 100.00 EUR.
type fixture struct {
	s                    *mangopaytest.Server
	bearer, base         string
	user, wallet, payIn  string
	card                 string
	clientForMoreObjects *mangopay.Client
}

func setup(t *testing.T) fixture {
	t.Helper()
	s := mangopaytest.New(mangopaytest.Config{})
	t.Cleanup(s.Close)
	c, err := mangopay.New(mangopay.Config{BaseURL: s.URL, ClientID: s.ClientID, APIKey: s.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := c.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: "fixture-user", Name: "Garage SARL", Email: "a@garage.example",
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"}, TermsAccepted: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "fixture-wallet", OwnerID: u.ID, Description: "buyer"})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: "fixture-reg", UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.Tokenize(reg.ID, mangopaytest.FrictionlessCard, "1230")
	if err != nil {
		t.Fatal(err)
	}
	reg, err = c.CompleteCardRegistration(ctx, reg.ID, data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateCardPayIn(ctx, psp.CardPayInRequest{IdempotencyKey: "fixture-payin", AuthorID: u.ID, CreditedWalletID: w.ID,
		CardID: reg.CardID, Amount: 10000, SecureModeReturnURL: "https://vhupay.example/back", IPAddress: "203.0.113.7",
		BrowserInfo: psp.BrowserInfo{AcceptHeader: "text/html", Language: "fr-FR", ColorDepth: 24, ScreenHeight: 900,
			ScreenWidth: 1440, TimeZoneOffset: -60, UserAgent: "Mozilla/5.0", JavascriptEnabled: true}})
	if err != nil || p.Status != psp.PayInSucceeded {
		t.Fatalf("pay-in: %+v, %v", p, err)
	}
	return fixture{s: s, bearer: token(t, s), base: "/v2.01/" + s.ClientID, user: u.ID, wallet: w.ID, payIn: p.ID, card: reg.CardID,
		clientForMoreObjects: c}
}

func (f fixture) post(t *testing.T, path, body string) (answer, map[string]json.RawMessage) {
	t.Helper()
	return call(t, f.s, "POST", f.base+path, f.bearer, "", body)
}

// TestFakeDirectDebitDescriptorCharacters: a SEPA direct debit's StatementDescriptor holds only
// letters, digits and spaces, 100 at most (Mangopay/docs snippets/p-body/StatementDescriptor1.mdx
// → snippets/rules/max-length-SDD-100-BACS-10-characters-only-alphanumeric-and-spaces.mdx).
func TestFakeDirectDebitDescriptorCharacters(t *testing.T) {
	f := setup(t)
	body := func(descriptor string) string {
		return `{"AuthorId":"` + f.user + `","CreditedWalletId":"` + f.wallet + `","DebitedFunds":{"Currency":"EUR","Amount":100},` +
			`"Fees":{"Currency":"EUR","Amount":0},"MandateId":"mdt_x","StatementDescriptor":"` + descriptor + `"}`
	}
	for _, bad := range []string{"vhupay 2026-11", "vhupay novembre é", "vhupay/11", strings.Repeat("a", 101)} {
		got, _ := f.post(t, "/payins/directdebit/direct", body(bad))
		if got.Status != 400 || got.Fields["StatementDescriptor"] == "" {
			t.Errorf("%q: %+v", bad, got)
		}
	}
	// A valid descriptor passes the schema (then fails on the unknown mandate).
	if got, _ := f.post(t, "/payins/directdebit/direct", body("vhupay 2026 11")); got.Fields["StatementDescriptor"] != "" || got.Fields["MandateId"] == "" {
		t.Errorf("valid descriptor: %+v", got)
	}
}

// TestFakeRefundNeedsFeesWithDebitedFunds: DebitedFunds and Fees go together on a refund, and
// without both MangoPay refunds the initial amounts (Mangopay/docs api-reference/refunds/
// create-refund-payin.mdx and create-refund-transfer.mdx: "Required if the Fees parameter is
// included", "Required if the DebitedFunds parameter is included", "Default value: the amount
// and currency values of the debited funds of the initial transaction").
func TestFakeRefundNeedsFeesWithDebitedFunds(t *testing.T) {
	f := setup(t)
	path := "/payins/" + f.payIn + "/refunds"
	author := `"AuthorId":"` + f.user + `"`
	if got, _ := f.post(t, path, `{`+author+`,"DebitedFunds":{"Currency":"EUR","Amount":1000}}`); got.Status != 400 || got.Fields["Fees"] == "" {
		t.Fatalf("DebitedFunds without Fees: %+v", got)
	}
	if got, _ := f.post(t, path, `{`+author+`,"Fees":{"Currency":"EUR","Amount":0}}`); got.Status != 400 || got.Fields["DebitedFunds"] == "" {
		t.Fatalf("Fees without DebitedFunds: %+v", got)
	}
	got, r := f.post(t, path, `{`+author+`,"DebitedFunds":{"Currency":"EUR","Amount":1000},"Fees":{"Currency":"EUR","Amount":0}}`)
	if got.Status != 200 || string(r["Status"]) != `"SUCCEEDED"` {
		t.Fatalf("partial refund: %+v %s", got, r["Status"])
	}
	// Neither: the initial amount, which is more than what is left.
	got, r = f.post(t, path, `{`+author+`}`)
	if got.Status != 200 || string(r["ResultCode"]) != `"005403"` || !strings.Contains(string(r["DebitedFunds"]), `"Amount":10000`) {
		t.Fatalf("default refund: %+v %s %s", got, r["ResultCode"], r["DebitedFunds"])
	}
}

// TestFakeHeadquartersPostalCodeRequired: HeadquartersAddress.PostalCode is required (Mangopay/docs
// snippets/p-body/HeadquartersAddress.mdx → PostalCode1.mdx, "required").
func TestFakeHeadquartersPostalCodeRequired(t *testing.T) {
	f := setup(t)
	body := func(address string) string {
		return `{"UserCategory":"PAYER","TermsAndConditionsAccepted":true,"LegalPersonType":"BUSINESS","Name":"G SARL",` +
			`"Email":"a@b.example","LegalRepresentative":{"FirstName":"Alice","LastName":"Martin"},"HeadquartersAddress":` + address + `}`
	}
	if got, _ := f.post(t, "/sca/users/legal", body(`{"AddressLine1":"1 rue","City":"Lyon","Country":"FR"}`)); got.Status != 400 ||
		got.Fields["HeadquartersAddress.PostalCode"] == "" {
		t.Fatalf("no postal code: %+v", got)
	}
	if got, _ := f.post(t, "/sca/users/legal", body(`{"AddressLine1":"1 rue","City":"Lyon","PostalCode":"69007","Country":"FR"}`)); got.Status != 200 {
		t.Fatalf("with postal code: %+v", got)
	}
}

// TestFakeTimeZoneOffsetAsTheSDKsSendIt: BrowserInfo.TimeZoneOffset is an integer in the docs
// (Mangopay/docs snippets/p-body/TimeZoneOffset.mdx) and a string such as "+60" in the SDKs
// (mangopay2-nodejs-sdk typings/base.d.ts, typings/index.test-d.ts; mangopay2-java-sdk
// entities/subentities/BrowserInfo.java): both are accepted, anything else is not.
func TestFakeTimeZoneOffsetAsTheSDKsSendIt(t *testing.T) {
	f := setup(t)
	body := func(offset string) string {
		return `{"AuthorId":"` + f.user + `","CreditedWalletId":"` + f.wallet + `","DebitedFunds":{"Currency":"EUR","Amount":1200},` +
			`"Fees":{"Currency":"EUR","Amount":0},"CardId":"` + f.card + `","SecureModeReturnURL":"https://v.example/back","IpAddress":"203.0.113.7",` +
			`"BrowserInfo":{"AcceptHeader":"text/html","JavaEnabled":false,"Language":"fr","ColorDepth":24,"ScreenHeight":900,` +
			`"ScreenWidth":1440,"TimeZoneOffset":` + offset + `,"UserAgent":"Mozilla/5.0","JavascriptEnabled":true}}`
	}
	for i, offset := range []string{`-60`, `"+60"`, `"-120"`} {
		if got, _ := call(t, f.s, "POST", f.base+"/payins/card/direct", f.bearer, "tz-key-00000000000"+strconv.Itoa(i), body(offset)); got.Status != 200 {
			t.Errorf("TimeZoneOffset %s: %+v", offset, got)
		}
	}
	for _, offset := range []string{`"sixty"`, `1.5`, `true`} {
		if got, _ := f.post(t, "/payins/card/direct", body(offset)); got.Status != 400 || got.Fields["BrowserInfo.TimeZoneOffset"] == "" {
			t.Errorf("TimeZoneOffset %s: %+v", offset, got)
		}
	}
}

// TestFakeStoredResponseFormats: GET /responses/{key} answers StatusCode and ContentLength as
// strings and Date as an HTTP date (Mangopay/docs api-reference/api-responses/
// view-api-response.mdx; mangopay2-nodejs-sdk typings/models/idempotency.d.ts).
func TestFakeStoredResponseFormats(t *testing.T) {
	f := setup(t)
	const key = "stored-response-key-01"
	call(t, f.s, "POST", f.base+"/wallets", f.bearer, key, `{"Owners":["`+f.user+`"],"Currency":"EUR","Description":"second"}`)
	_, stored := call(t, f.s, "GET", f.base+"/responses/"+key, f.bearer, "", "")
	var code, length, date string
	if json.Unmarshal(stored["StatusCode"], &code) != nil || code != "200" {
		t.Fatalf("StatusCode %s", stored["StatusCode"])
	}
	if json.Unmarshal(stored["ContentLength"], &length) != nil {
		t.Fatalf("ContentLength %s", stored["ContentLength"])
	}
	if json.Unmarshal(stored["Date"], &date) != nil {
		t.Fatalf("Date %s", stored["Date"])
	}
	if _, err := time.Parse(http.TimeFormat, date); err != nil {
		t.Fatalf("Date %q: %v", date, err)
	}
}

// TestFakeRateLimitHeaders: every answer carries X-RateLimit, X-RateLimit-Remaining and
// X-RateLimit-Reset with one value per window; over a window's limit the answer is 429 rate_limit
// with the headers and no Retry-After (Mangopay/docs api-reference/overview/rate-limiting.mdx).
func TestFakeRateLimitHeaders(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)}
	s := mangopaytest.New(mangopaytest.Config{Clock: clock, RateLimits: []mangopaytest.RateLimit{{Period: time.Minute, Calls: 3}, {Period: time.Hour, Calls: 100}}})
	defer s.Close()
	bearer := token(t, s) // the first counted call
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", s.URL+"/v2.01/"+s.ClientID+"/payins/p1", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get()
	if first.StatusCode != 404 || first.Header.Get("X-RateLimit") != "2, 2" || first.Header.Get("X-RateLimit-Remaining") != "1, 98" {
		t.Fatalf("second call: %d %v", first.StatusCode, first.Header)
	}
	get()
	limited := get()
	reset := strconv.FormatInt(clock.Now().Add(time.Minute).Unix(), 10) + ", " + strconv.FormatInt(clock.Now().Add(time.Hour).Unix(), 10)
	if limited.StatusCode != 429 || limited.Header.Get("X-RateLimit-Remaining") != "0, 97" ||
		limited.Header.Get("X-RateLimit-Reset") != reset || limited.Header.Get("Retry-After") != "" {
		t.Fatalf("over the limit: %d %v, want reset %s", limited.StatusCode, limited.Header, reset)
	}
	if s.RateLimited() != 1 {
		t.Fatalf("refused %d", s.RateLimited())
	}
	clock.Advance(time.Minute)
	if again := get(); again.StatusCode != 404 {
		t.Fatalf("after the reset: %d", again.StatusCode)
	}
}

// TestFakeRefusesPlaceholderNames: production's anti-fraud rule refuses fictitious or placeholder
// names of the people behind users, here the legal representative (Mangopay/docs
// guides/users/types.mdx: 400 fraud_policy).
func TestFakeRefusesPlaceholderNames(t *testing.T) {
	f := setup(t)
	body := func(first, last string) string {
		return `{"UserCategory":"PAYER","TermsAndConditionsAccepted":true,"LegalPersonType":"BUSINESS","Name":"Garage Martin SARL",` +
			`"Email":"a@b.example","LegalRepresentative":{"FirstName":"` + first + `","LastName":"` + last + `"}}`
	}
	for _, names := range [][2]string{{"Representant", "Garage Martin SARL"}, {"test", "Dupont"}, {"Homer", "Simpson"}, {"Jean", "unknown"}} {
		if got, _ := f.post(t, "/sca/users/legal", body(names[0], names[1])); got.Status != 400 || got.Type != "fraud_policy" {
			t.Errorf("%v: %+v", names, got)
		}
	}
	if got, _ := f.post(t, "/sca/users/legal", body("Jean", "Martin")); got.Status != 200 {
		t.Errorf("real names: %+v", got)
	}
}

// TestFakeOwnerRequirements: an OWNER needs accepted terms, a headquarters address, a company
// number when BUSINESS and its representative's birthday, nationality, country of residence and
// e-mail (Mangopay/docs snippets/p-body/TermsAndConditionsAccepted.mdx, HeadquartersAddress.mdx,
// CompanyNumber.mdx, Birthday.mdx, Nationality.mdx, CountryOfResidence.mdx, Email9.mdx), and is
// PENDING_USER_ACTION with an enrolment link (guides/sca/users.mdx).
func TestFakeOwnerRequirements(t *testing.T) {
	f := setup(t)
	got, _ := f.post(t, "/sca/users/legal", `{"UserCategory":"OWNER","TermsAndConditionsAccepted":true,"LegalPersonType":"BUSINESS",`+
		`"Name":"Centre VHU SAS","Email":"c@vhu.example","LegalRepresentative":{"FirstName":"Paul","LastName":"Durand"}}`)
	for _, field := range []string{"HeadquartersAddress", "CompanyNumber", "LegalRepresentative.Birthday", "LegalRepresentative.Nationality",
		"LegalRepresentative.CountryOfResidence", "LegalRepresentative.Email"} {
		if got.Fields[field] == "" {
			t.Errorf("%s not required: %+v", field, got)
		}
	}
	complete := `{"UserCategory":"OWNER","TermsAndConditionsAccepted":true,"LegalPersonType":"BUSINESS","Name":"Centre VHU SAS",` +
		`"Email":"c@vhu.example","CompanyNumber":"81234567600017","HeadquartersAddress":{"AddressLine1":"2 route","City":"Lyon",` +
		`"PostalCode":"69100","Country":"FR"},"LegalRepresentative":{"FirstName":"Paul","LastName":"Durand","Birthday":315532800,` +
		`"Nationality":"FR","CountryOfResidence":"FR","Email":"paul@vhu.example"}}`
	got, owner := f.post(t, "/sca/users/legal", complete)
	if got.Status != 200 || string(owner["UserStatus"]) != `"PENDING_USER_ACTION"` || !strings.Contains(string(owner["PendingUserAction"]), "RedirectUrl") {
		t.Fatalf("owner: %+v %s %s", got, owner["UserStatus"], owner["PendingUserAction"])
	}
	if got, _ := f.post(t, "/sca/users/legal", strings.Replace(complete, `"TermsAndConditionsAccepted":true`, `"TermsAndConditionsAccepted":false`, 1)); got.Type != "user_hasnt_accepted_terms_and_conditions" {
		t.Fatalf("terms not accepted: %+v", got)
	}
}

// TestFakeDisputePageAnswers204: a dispute document page upload answers 204 without a body
// (Mangopay/docs api-reference/dispute-documents/create-dispute-document-page.mdx), and only
// while the document is CREATED.
func TestFakeDisputePageAnswers204(t *testing.T) {
	f := setup(t)
	disputeID, err := f.s.OpenDispute(f.payIn, "FRAUD", true)
	if err != nil {
		t.Fatal(err)
	}
	_, doc := f.post(t, "/disputes/"+disputeID+"/documents", `{"Type":"DELIVERY_PROOF"}`)
	var docID string
	_ = json.Unmarshal(doc["Id"], &docID)
	pages := "/disputes/" + disputeID + "/documents/" + docID + "/pages"
	if got, body := f.post(t, pages, `{"File":"JVBERi0xLjQK"}`); got.Status != 204 || len(body) != 0 {
		t.Fatalf("page: %+v %s", got, body)
	}
	if got, _ := f.post(t, pages, `{"File":"not base64!"}`); got.Status != 400 || got.Fields["File"] == "" {
		t.Fatalf("bad file: %+v", got)
	}
	if got, _ := call(t, f.s, "PUT", f.base+"/disputes/"+disputeID+"/documents/"+docID, f.bearer, "", `{"Status":"VALIDATION_ASKED"}`); got.Status != 200 {
		t.Fatalf("submit document: %+v", got)
	}
	if got, _ := f.post(t, pages, `{"File":"JVBERi0xLjQK"}`); got.Status != 400 {
		t.Fatalf("page after submission: %+v", got)
	}
}

// TestFakeOwnerWalletNeedsSCA: reading an OWNER's wallet needs ScaContext; USER_PRESENT answers
// 401 "WWW-Authenticate: PendingUserAction RedirectUrl=…" without a body until the owner
// authenticates; USER_NOT_PRESENT needs the owner's consent (Mangopay/docs guides/sca/wallets.mdx,
// api-reference/wallets/view-wallet.mdx).
func TestFakeOwnerWalletNeedsSCA(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	owner, err := f.clientForMoreObjects.CreateOwner(ctx, ownerRequest())
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.clientForMoreObjects.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "owner-wallet", OwnerID: owner.ID, Description: "centre"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) *http.Response {
		req, _ := http.NewRequest("GET", f.s.URL+f.base+"/wallets/"+w.ID+query, nil)
		req.Header.Set("Authorization", "Bearer "+f.bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(""); resp.StatusCode != 400 {
		t.Fatalf("no ScaContext: %d", resp.StatusCode)
	}
	if resp := get("?ScaContext=USER_NOT_PRESENT"); resp.StatusCode != 403 {
		t.Fatalf("no consent: %d", resp.StatusCode)
	}
	resp := get("?ScaContext=USER_PRESENT")
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.HasPrefix(challenge, "PendingUserAction RedirectUrl="+f.s.URL+"/sca/") || resp.ContentLength > 0 {
		t.Fatalf("present: %d %q", resp.StatusCode, challenge)
	}
	if err := f.s.Authenticate(strings.TrimPrefix(challenge, "PendingUserAction RedirectUrl=")); err != nil {
		t.Fatal(err)
	}
	if resp := get("?ScaContext=USER_PRESENT"); resp.StatusCode != 200 {
		t.Fatalf("after SCA: %d", resp.StatusCode)
	}
}

func ownerRequest() psp.OwnerRequest {
	return psp.OwnerRequest{
		IdempotencyKey: "owner-ctr_1", Name: "Centre VHU du Rhône SAS", Kind: psp.CompanyBusiness, CompanyNumber: "81234567600017",
		Email: "contact@cvhu.example", Address: psp.Address{Line1: "2 route des Casses", City: "Villeurbanne", PostalCode: "69100", Country: "FR"},
		Representative: psp.Representative{FirstName: "Paul", LastName: "Durand", Email: "paul@cvhu.example",
			Birthday: time.Date(1975, 4, 2, 0, 0, 0, 0, time.UTC), Nationality: "FR", CountryOfResidence: "FR"},
		TermsAccepted: true, Tag: "ctr_1",
	}
}

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
