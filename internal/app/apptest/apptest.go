// Package apptest starts a real vhupay server on a loopback port for HTTP tests, on a fresh
// database of the chosen backend, and gives a client that checks every exchange against the
// published OpenAPI document: every response (status, media type, body) must be one the document
// describes, and every request the server accepts (2xx) must be one the document allows.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/vhupay/vhupay/api"
	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/cart"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// Secret is the HS256 secret of test servers.
const Secret = "test-secret-test-secret-test-secret-0123"

// CartSecret is the signed carts' secret of test servers (the marketplace back end's).
const CartSecret = "test-cart-secret-test-cart-secret-4567"

// Server is a running vhupay.
type Server struct {
	URL     string
	App     *app.App
	Backend storagetest.Backend
	Client  *http.Client
	router  routers.Router
	stop    func()
	logs    *logBuffer
}

// Option changes the server's environment or build options.
type Option func(env map[string]string, opts *app.Options)

// WithEnv sets an environment variable of the server's configuration.
func WithEnv(name, value string) Option {
	return func(env map[string]string, _ *app.Options) { env[name] = value }
}

// WithBaseClock puts a clock under the sandbox test clock.
func WithBaseClock(c clock.Clock) Option {
	return func(_ map[string]string, o *app.Options) { o.BaseClock = c }
}

// WithDatabaseURL runs the server on an existing database (storagetest.URL) instead of a fresh
// one, for tests of several processes sharing a database.
func WithDatabaseURL(url string) Option {
	return func(env map[string]string, _ *app.Options) { env["VHUPAY_DATABASE_URL"] = url }
}

// WithOptions changes the app's build options.
func WithOptions(fn func(o *app.Options)) Option {
	return func(_ map[string]string, o *app.Options) { fn(o) }
}

// Start runs a server for the test on a fresh database; it stops when the test ends.
func Start(t testing.TB, b storagetest.Backend, options ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"VHUPAY_JWT_SECRET":  Secret,
		"VHUPAY_CART_SECRET": CartSecret,
		"VHUPAY_ADDR":        ln.Addr().String(),
		// Tests send bursts with one token; TestRateLimits sets its own limits.
		"VHUPAY_RATE_LIMIT":      "off",
		"VHUPAY_HOOK_RATE_LIMIT": "off",
	}
	var opts app.Options
	for _, o := range options {
		o(env, &opts)
	}
	if env["VHUPAY_DATABASE_URL"] == "" {
		env["VHUPAY_DATABASE_URL"] = storagetest.URL(t, b)
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	var w io.Writer = logs
	if os.Getenv("VHUPAY_TEST_LOG") != "" {
		w = io.MultiWriter(logs, os.Stderr)
	}
	log := slog.New(slog.NewJSONHandler(w, nil))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			cancel()
			<-done
			_ = a.Close()
		})
	}
	t.Cleanup(stop)
	return &Server{URL: srv.URL, App: a, Backend: b, Client: srv.Client(), router: contract(t), stop: stop, logs: logs}
}

// logBuffer keeps the server's log lines (JSON) for tests to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// LogLines returns the server's log lines so far (JSON objects, one a line) at level or above
// ("DEBUG", "INFO", "WARN", "ERROR").
func (s *Server) LogLines(level string) []string {
	order := map[string]int{"DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3}
	s.logs.mu.Lock()
	text := s.logs.buf.String()
	s.logs.mu.Unlock()
	var out []string
	for _, line := range strings.Split(text, "\n") {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(line), &rec) == nil && order[rec.Level] >= order[level] {
			out = append(out, line)
		}
	}
	return out
}

// Stop stops the server as a process stop would (its background work ends gracefully) before
// the test ends; it returns once everything has stopped.
func (s *Server) Stop() { s.stop() }

var loaded struct {
	once   sync.Once
	router routers.Router
	err    error
}

func contract(t testing.TB) routers.Router {
	loaded.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIYAML)
		if err != nil {
			loaded.err = err
			return
		}
		if err = doc.Validate(context.Background()); err != nil {
			loaded.err = err
			return
		}
		doc.Servers = nil // match paths whatever the test server's address
		loaded.router, loaded.err = legacy.NewRouter(doc)
	})
	if loaded.err != nil {
		t.Fatalf("load api/openapi.yaml: %v", loaded.err)
	}
	return loaded.router
}

// Token signs a token for a role and organisation, valid for an hour.
func (s *Server) Token(t testing.TB, role auth.Role, org string) string {
	t.Helper()
	tok, err := auth.Sign(Secret, "vhupay", "vhupay-api", auth.Principal{Subject: "user-" + string(role) + "-" + org, Role: role, Org: org}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Request describes one call.
type Request struct {
	Method, Path string
	Token        string
	// Body is marshalled to JSON unless it is a []byte or string (sent as is).
	Body   any
	Header map[string]string
	// SkipContract leaves this exchange out of the OpenAPI check (for deliberately undocumented calls).
	SkipContract bool
}

// Response is a call's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request and checks the exchange against the contract.
func (s *Server) Do(t testing.TB, r Request) *Response {
	t.Helper()
	var body []byte
	switch v := r.Body.(type) {
	case nil:
	case []byte:
		body = v
	case string:
		body = []byte(v)
	default:
		var err error
		if body, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(r.Method, s.URL+r.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: respBody}
	if !r.SkipContract {
		s.checkContract(t, req, body, out)
	}
	return out
}

// HTTPClient returns an HTTP client for the server that checks every exchange against the
// contract as Do does, for generated clients (api/goclient) to be contract tests too.
func (s *Server) HTTPClient(t testing.TB) *http.Client {
	return &http.Client{Transport: &contractTransport{t: t, s: s, next: s.Client.Transport}, Timeout: 30 * time.Second}
}

type contractTransport struct {
	t    testing.TB
	s    *Server
	next http.RoundTripper
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	c.s.checkContract(c.t, req, body, &Response{Status: resp.StatusCode, Header: resp.Header, Body: respBody})
	return resp, nil
}

func (s *Server) checkContract(t testing.TB, req *http.Request, body []byte, resp *Response) {
	t.Helper()
	check, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	check.Header = req.Header.Clone()
	route, params, err := s.router.FindRoute(check)
	if err != nil {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			return // an unknown path or method: nothing in the contract to check
		}
		t.Errorf("contract: %s %s answered %d but is not in api/openapi.yaml: %v", req.Method, req.URL.Path, resp.Status, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("contract: the server accepted %s %s but the request breaks api/openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("contract: %s %s → %d breaks api/openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.Status, err, truncate(resp.Body))
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", req.Method, req.URL.Path)
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", truncate(r.Body), err)
	}
}

// Problem decodes an error answer.
func (r *Response) Problem(t testing.TB) httpapi.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.Status, truncate(r.Body))
	}
	var p httpapi.Problem
	r.JSON(t, &p)
	return p
}

// Expect fails the test unless the status is want.
func (r *Response) Expect(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, want, truncate(r.Body))
	}
	return r
}

// ExpectProblem fails the test unless the answer is a problem with this status and code.
func (r *Response) ExpectProblem(t testing.TB, status int, code string) httpapi.Problem {
	t.Helper()
	r.Expect(t, status)
	p := r.Problem(t)
	if p.Code != code || p.Status != status || p.Type != "https://docs.vhupay.dev/errors/"+code || p.RequestID == "" {
		t.Fatalf("problem = %+v, want status %d code %q with type and request_id", p, status, code)
	}
	return p
}

// WithMangoPay runs the server with VHUPAY_PSP=mangopay against a MangoPay API at baseURL (a
// mangopaytest fake), with a short per-call timeout so that outage tests end quickly.
func WithMangoPay(baseURL, clientID, apiKey string) Option {
	return func(env map[string]string, _ *app.Options) {
		env["VHUPAY_PSP"] = "mangopay"
		env["VHUPAY_MANGOPAY_BASE_URL"] = baseURL
		env["VHUPAY_MANGOPAY_CLIENT_ID"] = clientID
		env["VHUPAY_MANGOPAY_API_KEY"] = apiKey
		env["VHUPAY_PSP_TIMEOUT"] = "2s"
		if env["VHUPAY_SEPA_CREDITOR_ID"] == "" {
			env["VHUPAY_SEPA_CREDITOR_ID"] = "FR72ZZZ123456"
		}
		if env["VHUPAY_RETURN_URL_ORIGINS"] == "" {
			env["VHUPAY_RETURN_URL_ORIGINS"] = "https://shop.example,http://localhost:5173"
		}
	}
}

// SignCart signs a cart for buyerID as the marketplace back end would, valid 10 minutes.
func (s *Server) SignCart(t testing.TB, buyerID string, c cart.Claims) string {
	t.Helper()
	tok, err := cart.Sign(CartSecret, buyerID, c, time.Now(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
