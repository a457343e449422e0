// Package mangopaytest is an in-memory fake of the MangoPay API v2.01, served by httptest, for the
// calls vhupay makes. It is as strict as MangoPay's own documentation and SDKs (schema.go names
// the source of every rule; docs/mangopay.md lists the calls):
//
//   - POST /v2.01/oauth/token with Basic auth issues bearer tokens that expire by the fake's clock;
//     every other call needs a live bearer token (else 401 invalid_credentials) and the right
//     ClientId in its path.
//   - Request bodies are checked member by member against MangoPay's field names, types, enums,
//     lengths and character sets: a missing required field, a wrongly typed one, a bad value or an
//     unknown one is a 400 param_error with an "errors" map.
//   - Idempotency-Key on POSTs (16–36 of [A-Za-z0-9-]): the first answer, whatever its status, is
//     kept; a replay answers 409 idempotent_creation_conflict and the first answer is at
//     GET /v2.01/{ClientId}/responses/{key} (StatusCode, ContentLength and Date as strings, as
//     MangoPay answers them).
//   - Rate limits: every answer carries X-RateLimit, X-RateLimit-Remaining and X-RateLimit-Reset,
//     one value per window (Config.RateLimits, MangoPay's four windows by default), counted by the
//     fake's clock; a call over a limit is refused with 429 rate_limit.
//   - Error bodies are MangoPay's: {Message, Type, Id, Date (a float), errors}.
//   - Strong customer authentication of OWNER users: creating one answers PENDING_USER_ACTION with
//     a PendingUserAction.RedirectUrl; reading its wallet with ScaContext USER_PRESENT answers 401
//     "WWW-Authenticate: PendingUserAction RedirectUrl=…" until the owner authenticates; a payout
//     recipient stays PENDING until its owner authenticates. The URLs lead to a page of the fake
//     (GET, ?returnUrl=) that completes the authentication.
//   - Production's anti-fraud rule on people's names (fraud_policy) is on.
//   - Resources: SCA legal users (payers and owners), wallets and the client's fees and
//     repudiation wallets, card registrations (with a tokenisation endpoint behind
//     CardRegistrationURL), cards, direct card pay-ins with 3-D Secure, IBAN bank accounts, web
//     mandates, direct-debit pay-ins, refunds (of pay-ins, transfers, payouts), repudiations,
//     transfers, recipients, bank-wire payouts, disputes with documents and pages, settlement
//     transfers.
//
// Test cards: 4970105181818183 asks for a 3-D Secure challenge (the pay-in stays CREATED with a
// SecureModeRedirectURL until CompleteSecureMode or FailSecureMode, or a GET on that URL with
// ?outcome=succeed|fail); any other valid card is frictionless, unless SecureMode is FORCE. Amount
// 33305 is declined (FAILED 101101). Direct-debit pay-ins stay CREATED until SettleDirectDebit;
// payouts until SettlePayout. Disputes are opened with OpenDispute and decided with DecideDispute.
//
// Faults and counters: InjectFault makes calls answer 500, 429, hang or wait; Calls counts every request
// per route ("POST /payins/card/direct", "GET /payins/{id}", "POST /oauth/token"), faulted ones
// included; Created counts resources actually created.
package mangopaytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Config configures a Server. Every field has a default.
type Config struct {
	ClientID      string        // default "vhupay-test"
	APIKey        string        // default "test-api-key"
	Clock         Clock         // default the machine's clock; decides token expiry, dates and rate limits
	TokenLifetime time.Duration // expires_in of issued tokens; default 1200 s (MangoPay's sandbox)
	// RateLimits are the windows of the rate limit, in the order of the headers; default
	// MangoPayRateLimits.
	RateLimits []RateLimit
}

// RateLimit is one window of the rate limit: at most Calls calls in any Period.
type RateLimit struct {
	Period time.Duration
	Calls  int
}

// MangoPayRateLimits are MangoPay's documented limits (Mangopay/docs
// api-reference/overview/rate-limiting.mdx): 2,300 calls per 15 minutes, 4,500 per 30 minutes,
// 8,800 per hour, 105,600 per day.
var MangoPayRateLimits = []RateLimit{
	{15 * time.Minute, 2300}, {30 * time.Minute, 4500}, {time.Hour, 8800}, {24 * time.Hour, 105600},
}

// Fault is an injected failure.
type Fault struct {
	// Route is "METHOD /template" as in Calls ("POST /payins/card/direct"); empty matches every
	// route except the token endpoint.
	Route string
	// Status is the status to answer (500 when 0; 503, 429...), with a MangoPay error body. A 5xx
	// answer to a POST with an Idempotency-Key is kept as that key's first answer, as MangoPay does.
	// A 429 carries the rate-limit headers, its first window exhausted until Reset.
	Status int
	// Reset is how long after the fault a 429's exhausted window resets (default: the first
	// window's period).
	Reset time.Duration
	// Hang makes the call never answer, until the client gives up or the server closes.
	Hang bool
	// Delay makes the call slow: it is served normally and takes effect at once (a pay-in is
	// created), but its answer leaves only after Delay, and never if the client gives up or dies
	// first. Status and Hang are then ignored. Other calls are not held up meanwhile.
	Delay time.Duration
	// Times is how many matching calls fail; 0 means every one until ClearFaults.
	Times int
}

// Event is a hook notification MangoPay would have sent.
type Event struct {
	Type       string // e.g. "PAYIN_NORMAL_SUCCEEDED"
	ResourceID string
	Date       time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give the client (without /v2.01).
	URL      string
	ClientID string
	APIKey   string

	srv     *httptest.Server
	clock   Clock
	life    time.Duration
	closing chan struct{}
	close   sync.Once

	mu        sync.Mutex
	seq       int
	tokens    map[string]time.Time
	calls     map[string]int
	created   map[string]int
	faults    []*Fault
	events    []Event
	responses map[string]storedResponse
	limits    []RateLimit
	counted   []time.Time // the calls the rate limit counts, oldest first
	limited   int         // calls refused by the rate limit
	sessions  map[string]*scaSession

	users        map[string]*user
	wallets      map[string]*wallet
	registration map[string]*cardRegistration
	cardTokens   map[string]cardData // tokenisation answers, single use
	cards        map[string]*card
	cardNumbers  map[string]string // card id → number (the fake's vault)
	payIns       map[string]*payIn
	refunds      map[string]*refund
	repudiations map[string]*repudiation
	bankAccounts map[string]*bankAccount
	mandates     map[string]*mandate
	transfers    map[string]*transfer
	recipients   map[string]*recipient
	payouts      map[string]*payout
	disputes     map[string]*dispute
	documents    map[string]*disputeDocument
}

type storedResponse struct {
	status     int
	body       []byte
	requestURL string
	date       time.Time
}

// New starts a fake MangoPay. Close it when done.
func New(cfg Config) *Server {
	if cfg.ClientID == "" {
		cfg.ClientID = "vhupay-test"
	}
	if cfg.APIKey == "" {
		cfg.APIKey = "test-api-key"
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = 1200 * time.Second
	}
	if len(cfg.RateLimits) == 0 {
		cfg.RateLimits = MangoPayRateLimits
	}
	s := &Server{
		ClientID: cfg.ClientID, APIKey: cfg.APIKey, clock: cfg.Clock, life: cfg.TokenLifetime,
		closing: make(chan struct{}),
		tokens:  map[string]time.Time{}, calls: map[string]int{}, created: map[string]int{},
		responses: map[string]storedResponse{}, limits: cfg.RateLimits, sessions: map[string]*scaSession{},
		users: map[string]*user{}, wallets: map[string]*wallet{}, registration: map[string]*cardRegistration{},
		cardTokens: map[string]cardData{}, cards: map[string]*card{}, cardNumbers: map[string]string{},
		payIns: map[string]*payIn{}, refunds: map[string]*refund{}, repudiations: map[string]*repudiation{},
		bankAccounts: map[string]*bankAccount{}, mandates: map[string]*mandate{},
		transfers: map[string]*transfer{}, recipients: map[string]*recipient{}, payouts: map[string]*payout{},
		disputes: map[string]*dispute{}, documents: map[string]*disputeDocument{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	s.clientWallets()
	return s
}

// Close releases hanging calls and stops the server.
func (s *Server) Close() {
	s.close.Do(func() { close(s.closing) })
	s.srv.Close()
}

// InjectFault adds a fault; faults are tried in the order they were added.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls is how many requests the route received ("POST /payins/card/direct", "GET /payins/{id}",
// "POST /oauth/token", "GET /responses/{key}"), faulted and refused ones included.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// CallCounts is a copy of every route's count.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Created is how many resources of a kind were created: "users", "wallets", "cardregistrations",
// "cards", "payins", "refunds", "repudiations", "bankaccounts", "mandates", "transfers",
// "recipients", "payouts", "disputes", "disputedocuments", "disputepages", "settlements".
func (s *Server) Created(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created[kind]
}

// Events lists the hook notifications MangoPay would have sent, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// RevokeTokens invalidates every issued token (the next call answers 401 invalid_credentials).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
}

// reply is a handler's answer.
type reply struct {
	status int
	body   any // marshalled as JSON; nil sends no body
	header http.Header
}

func ok(v any) reply      { return reply{status: http.StatusOK, body: v} }
func created(v any) reply { return reply{status: http.StatusOK, body: v} } // MangoPay answers 200 to most creates
func noContent() reply    { return reply{status: http.StatusNoContent} }

const paramErrorMessage = "One or several required parameters are missing or incorrect. An incorrect resource ID also raises this kind of error."

// errorBody is MangoPay's error body; Date is written as a float, as in MangoPay's examples.
type errorBody struct {
	Message string            `json:"Message"`
	Type    string            `json:"Type"`
	ID      string            `json:"Id"`
	Date    json.RawMessage   `json:"Date"`
	Errors  map[string]string `json:"errors"`
}

func (s *Server) apiError(status int, typ, message string, fields map[string]string) reply {
	now := s.clock.Now().Unix()
	if len(fields) == 0 {
		fields = nil
	}
	return reply{status: status, body: errorBody{
		Message: message, Type: typ, ID: fmt.Sprintf("%s#%d", randomHex(8), now),
		Date: json.RawMessage(fmt.Sprintf("%d.0", now)), Errors: fields,
	}}
}

func (s *Server) paramError(fields map[string]string) reply {
	return s.apiError(http.StatusBadRequest, "param_error", paramErrorMessage, fields)
}

func (s *Server) notFound() reply {
	return s.apiError(http.StatusNotFound, "ressource_not_found", "Cannot found the resource with this Id", nil)
}

// route is an API route below /v2.01/{ClientId}.
type route struct {
	method   string
	template string
	schema   schema // nil: no body expected
	handle   func(s *Server, p params, body []byte) reply
	// query, when set, replaces handle for routes that read the query string.
	query func(s *Server, p params, q url.Values) reply
}

type params []string // path parameters, in order

func (s *Server) routes() []route {
	return []route{
		{method: http.MethodPost, template: "/sca/users/legal", schema: scaLegalUserSchema, handle: (*Server).createScaLegalUser},
		{method: http.MethodGet, template: "/sca/users/{id}", handle: (*Server).getUser},
		{method: http.MethodGet, template: "/users/{id}", handle: (*Server).getUser},
		{method: http.MethodPost, template: "/sca/users/{id}/enrollment", handle: (*Server).enrolUser},
		{method: http.MethodPost, template: "/wallets", schema: walletSchema, handle: (*Server).createWallet},
		{method: http.MethodGet, template: "/wallets/{id}", query: (*Server).getWallet},
		{method: http.MethodGet, template: "/clients/wallets/{fundsType}/{currency}", handle: (*Server).getClientWallet},
		{method: http.MethodPost, template: "/cardregistrations", schema: cardRegistrationSchema, handle: (*Server).createCardRegistration},
		{method: http.MethodGet, template: "/cardregistrations/{id}", handle: (*Server).getCardRegistration},
		{method: http.MethodPut, template: "/cardregistrations/{id}", schema: cardRegistrationUpdateSchema, handle: (*Server).updateCardRegistration},
		{method: http.MethodGet, template: "/cards/{id}", handle: (*Server).getCard},
		{method: http.MethodPut, template: "/cards/{id}", schema: cardUpdateSchema, handle: (*Server).updateCard},
		{method: http.MethodPost, template: "/payins/card/direct", schema: cardPayInSchema, handle: (*Server).createCardPayIn},
		{method: http.MethodPost, template: "/payins/directdebit/direct", schema: directDebitPayInSchema, handle: (*Server).createDirectDebitPayIn},
		{method: http.MethodGet, template: "/payins/{id}", handle: (*Server).getPayIn},
		{method: http.MethodPost, template: "/payins/{id}/refunds", schema: payInRefundSchema, handle: (*Server).createPayInRefund},
		{method: http.MethodGet, template: "/refunds/{id}", handle: (*Server).getRefund},
		{method: http.MethodGet, template: "/repudiations/{id}", handle: (*Server).getRepudiation},
		{method: http.MethodPost, template: "/users/{id}/bankaccounts/iban", schema: bankAccountSchema, handle: (*Server).createBankAccount},
		{method: http.MethodGet, template: "/users/{id}/bankaccounts/{id}", handle: (*Server).getBankAccount},
		{method: http.MethodPut, template: "/users/{id}/bankaccounts/{id}", schema: bankAccountUpdateSchema, handle: (*Server).updateBankAccount},
		{method: http.MethodPost, template: "/mandates/directdebit/web", schema: mandateSchema, handle: (*Server).createMandate},
		{method: http.MethodGet, template: "/mandates/{id}", handle: (*Server).getMandate},
		{method: http.MethodPut, template: "/mandates/{id}/cancel", handle: (*Server).cancelMandate},
		{method: http.MethodPost, template: "/transfers", schema: transferSchema, handle: (*Server).createTransfer},
		{method: http.MethodGet, template: "/transfers/{id}", handle: (*Server).getTransfer},
		{method: http.MethodPost, template: "/transfers/{id}/refunds", schema: transferRefundSchema, handle: (*Server).createTransferRefund},
		{method: http.MethodPost, template: "/users/{id}/recipients", schema: recipientSchema, handle: (*Server).createRecipient},
		{method: http.MethodGet, template: "/recipients/{id}", handle: (*Server).getRecipient},
		{method: http.MethodPut, template: "/recipients/{id}", schema: recipientUpdateSchema, handle: (*Server).updateRecipient},
		{method: http.MethodPost, template: "/payouts/bankwire", schema: payoutSchema, handle: (*Server).createPayout},
		{method: http.MethodGet, template: "/payouts/{id}", handle: (*Server).getPayout},
		{method: http.MethodGet, template: "/disputes", query: (*Server).listDisputes},
		{method: http.MethodGet, template: "/payins/{id}/disputes", query: (*Server).listPayInDisputes},
		{method: http.MethodGet, template: "/disputes/{id}", handle: (*Server).getDispute},
		{method: http.MethodPut, template: "/disputes/{id}/submit", schema: disputeSubmitSchema, handle: (*Server).submitDispute},
		{method: http.MethodPut, template: "/disputes/{id}/close", handle: (*Server).closeDispute},
		{method: http.MethodPost, template: "/disputes/{id}/documents", schema: disputeDocumentSchema, handle: (*Server).createDisputeDocument},
		{method: http.MethodGet, template: "/dispute-documents/{id}", handle: (*Server).getDisputeDocument},
		{method: http.MethodPost, template: "/disputes/{id}/documents/{id}/pages", schema: disputeDocumentPageSchema, handle: (*Server).createDisputeDocumentPage},
		{method: http.MethodPut, template: "/disputes/{id}/documents/{id}", schema: disputeDocumentSubmitSchema, handle: (*Server).submitDisputeDocument},
		{method: http.MethodPost, template: "/repudiations/{id}/settlementtransfer", schema: settlementSchema, handle: (*Server).createSettlement},
		{method: http.MethodGet, template: "/settlements/{id}", handle: (*Server).getSettlement},
		{method: http.MethodGet, template: "/responses/{key}", handle: (*Server).getResponse},
		{method: http.MethodGet, template: "/events", query: (*Server).listEvents},
	}
}

// match finds the route of method and path (below /v2.01/{ClientId}); the template is also
// returned for counting when only the method is wrong.
func (s *Server) match(method, path string) (route, params, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range s.routes() {
		tsegs := strings.Split(strings.Trim(rt.template, "/"), "/")
		if len(tsegs) != len(segs) || rt.method != method {
			continue
		}
		var p params
		matched := true
		for i, t := range tsegs {
			if strings.HasPrefix(t, "{") {
				if segs[i] == "" {
					matched = false
					break
				}
				p = append(p, segs[i])
			} else if t != segs[i] {
				matched = false
				break
			}
		}
		if matched {
			return rt, p, true
		}
	}
	return route{}, nil, false
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	switch {
	case r.URL.Path == "/v2.01/oauth/token":
		if answered, _ := s.fault(w, r, r.Method+" /oauth/token", ""); answered {
			return
		}
		if s.rateLimited(w) {
			return
		}
		s.serveToken(w, r, body)
		return
	case strings.HasPrefix(r.URL.Path, "/tokenize/"):
		s.serveTokenize(w, r, strings.TrimPrefix(r.URL.Path, "/tokenize/"), body)
		return
	case strings.HasPrefix(r.URL.Path, "/3ds/"):
		s.serveSecureMode(w, r, strings.TrimPrefix(r.URL.Path, "/3ds/"))
		return
	case strings.HasPrefix(r.URL.Path, "/mandate-signature/"):
		s.serveMandateSignature(w, r, strings.TrimPrefix(r.URL.Path, "/mandate-signature/"))
		return
	case strings.HasPrefix(r.URL.Path, "/sca/"):
		s.serveScaSession(w, r, strings.TrimPrefix(r.URL.Path, "/sca/"))
		return
	}
	rest, found := strings.CutPrefix(r.URL.Path, "/v2.01/")
	if !found {
		s.write(w, s.notFound())
		return
	}
	clientID, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	rt, p, matched := s.match(r.Method, path)
	name := r.Method + " " + path
	if matched {
		name = r.Method + " " + rt.template
	}
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost {
		key = ""
	}
	answered, delay := s.fault(w, r, name, key)
	if answered || s.rateLimited(w) {
		return
	}
	if delay <= 0 {
		s.serveRoute(w, r, clientID, rt, p, matched, key, body)
		return
	}
	// A slow answer: the call takes effect now, its answer leaves after the delay (or never,
	// when the client gives up first).
	rec := httptest.NewRecorder()
	s.serveRoute(rec, r, clientID, rt, p, matched, key, body)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	case <-s.closing:
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// serveRoute answers an API call that no fault answered.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, clientID string, rt route, p params, matched bool, key string, body []byte) {
	if rep, refused := s.authorize(r, clientID); refused {
		s.write(w, rep)
		return
	}
	if !matched {
		s.write(w, s.apiError(http.StatusNotFound, "ressource_not_found", "The requested route does not exist", nil))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if !validKey.MatchString(key) {
			s.write(w, s.paramError(map[string]string{"Idempotency-Key": "The Idempotency-Key must be 16 to 36 characters of letters, digits and '-'."}))
			return
		}
		if _, replay := s.responses[key]; replay {
			s.write(w, s.apiError(http.StatusConflict, "idempotent_creation_conflict", "A resource has already been created with this Idempotency Key", nil))
			return
		}
	}
	var rep reply
	switch {
	case rt.schema != nil:
		if errs := rt.schema.check(body); len(errs) > 0 {
			rep = s.paramError(errs)
		} else {
			rep = rt.handle(s, p, body)
		}
	case len(strings.TrimSpace(string(body))) > 0:
		rep = s.paramError(map[string]string{"body": "This request takes no body."})
	case rt.query != nil:
		rep = rt.query(s, p, r.URL.Query())
	default:
		rep = rt.handle(s, p, body)
	}
	encoded := s.write(w, rep)
	if key != "" {
		s.responses[key] = storedResponse{status: rep.status, body: encoded, requestURL: s.URL + r.URL.RequestURI(), date: s.clock.Now()}
	}
}

var validKey = regexp.MustCompile(`^[A-Za-z0-9-]{16,36}$`)

// fault counts the call and applies the first matching fault: answered when it answered the
// call, delay when the call is to be served normally but answered late.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, name, key string) (answered bool, delay time.Duration) {
	s.mu.Lock()
	s.calls[name]++
	var f *Fault
	for i, candidate := range s.faults {
		if candidate.Route == name || (candidate.Route == "" && name != r.Method+" /oauth/token") {
			f = candidate
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				}
			}
			break
		}
	}
	if f == nil {
		s.mu.Unlock()
		return false, 0
	}
	if f.Delay > 0 {
		s.mu.Unlock()
		return false, f.Delay
	}
	if f.Hang {
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return true, 0
	}
	var rep reply
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status == http.StatusTooManyRequests {
		reset := f.Reset
		if reset <= 0 {
			reset = s.limits[0].Period
		}
		s.limitHeaders(w.Header(), s.clock.Now().Add(reset))
		rep = s.apiError(status, "rate_limit", rateLimitMessage, nil)
	} else {
		rep = s.apiError(status, "internal_error", "An internal error occurred", nil)
	}
	encoded := s.write(w, rep)
	if key != "" && status >= 500 && validKey.MatchString(key) {
		if _, seen := s.responses[key]; !seen {
			s.responses[key] = storedResponse{status: status, body: encoded, requestURL: s.URL + r.URL.RequestURI(), date: s.clock.Now()}
		}
	}
	s.mu.Unlock()
	return true, 0
}

// authorize checks the ClientId in the path and the bearer token.
func (s *Server) authorize(r *http.Request, clientID string) (reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	expiry, known := s.tokens[bearer]
	if !found || !known || !s.clock.Now().Before(expiry) {
		return s.apiError(http.StatusUnauthorized, "invalid_credentials", "The authorization credentials are not valid", nil), true
	}
	if clientID != s.ClientID {
		return s.apiError(http.StatusForbidden, "not_authorized", "The ClientId in the path does not match the token", nil), true
	}
	return reply{}, false
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	id, key, hasAuth := r.BasicAuth()
	form, err := parseForm(body)
	switch {
	case r.Method != http.MethodPost:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || err != nil || form.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	case !hasAuth || id != s.ClientID || key != s.APIKey:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := randomHex(16)
	s.mu.Lock()
	s.tokens[tok] = s.clock.Now().Add(s.life)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int(s.life / time.Second)})
}

// write sends rep and returns the bytes of its body.
func (s *Server) write(w http.ResponseWriter, rep reply) []byte {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return nil
	}
	return writeJSON(w, rep.status, rep.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("mangopaytest: encode answer: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return b
}

// getResponse serves GET /responses/{key}: the first answer given to an Idempotency-Key, with
// StatusCode and ContentLength as strings and Date as an HTTP date (Mangopay/docs
// api-reference/api-responses/view-api-response.mdx: "StatusCode": "200", "Date": "Tue, 19 Jul
// 2022 08:47:59 GMT"; Node SDK typings/models/idempotency.d.ts: StatusCode: string).
func (s *Server) getResponse(p params, _ []byte) reply {
	stored, found := s.responses[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(map[string]any{
		"StatusCode":    strconv.Itoa(stored.status),
		"ContentLength": strconv.Itoa(len(stored.body)),
		"ContentType":   "application/json; charset=utf-8",
		"Date":          stored.date.UTC().Format(http.TimeFormat),
		"RequestURL":    stored.requestURL,
		"Resource":      json.RawMessage(orNull(stored.body)),
	})
}

// listEvents answers GET /events (api-reference/events/list-events.mdx): EventType, AfterDate and
// BeforeDate (Unix seconds, exclusive bounds as for disputes), Sort "Date:ASC" or "Date:DESC",
// page and per_page (at most 100); other parameters are refused, as are malformed values.
func (s *Server) listEvents(_ params, q url.Values) reply {
	for name := range q {
		switch name {
		case "EventType", "AfterDate", "BeforeDate", "Sort", "page", "per_page":
		default:
			return s.paramError(map[string]string{name: "The " + name + " parameter is not supported."})
		}
	}
	lq, refused, bad := s.listQuery(q)
	if bad {
		return refused
	}
	desc := false
	switch q.Get("Sort") {
	case "", "Date:ASC":
	case "Date:DESC":
		desc = true
	default:
		return s.paramError(map[string]string{"Sort": "The Sort parameter is invalid."})
	}
	type event struct {
		ResourceID string `json:"ResourceId"`
		EventType  string `json:"EventType"`
		Date       int64  `json:"Date"`
	}
	var all []event
	for _, e := range s.events {
		d := e.Date.Unix()
		if !lq.within(d) || (q.Get("EventType") != "" && q.Get("EventType") != e.Type) {
			continue
		}
		all = append(all, event{ResourceID: e.ResourceID, EventType: e.Type, Date: d})
	}
	if desc {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	return paged(lq, all)
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newID returns a fresh id with a MangoPay-like prefix; callers hold mu.
func (s *Server) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

// event records a hook notification; callers hold mu.
func (s *Server) event(typ, id string) {
	s.events = append(s.events, Event{Type: typ, ResourceID: id, Date: s.clock.Now()})
}
