// Package mangopay is the MangoPay API v2.01 client behind the psp port, hand-written on net/http
// (there is no maintained Go SDK).
//
// Transport rules, decided once for every call:
//   - OAuth2 client credentials: one bearer token is reused until 30 seconds before it expires (by
//     the injected clock), then renewed; one renewal at a time. A 401 renews the token and retries
//     the call once, except a 401 carrying "WWW-Authenticate: PendingUserAction RedirectUrl=…"
//     (MangoPay's strong customer authentication of an owner, e.g. reading its wallet): that is
//     *psp.PendingActionError with the URL, and the token is kept.
//   - Every call has its own deadline (Config.Timeout) on top of the caller's context.
//   - Rate limits: every answer's X-RateLimit, X-RateLimit-Remaining and X-RateLimit-Reset (one
//     comma-separated value per window, however many windows) are kept (RateLimit) and handed to
//     Config.Pacer, which is also asked before every request. A 429 waits until the exhausted
//     windows reset, then tries again (at most Config.MaxAttempts attempts in all); when the reset
//     is further than the caller's deadline or Config.MaxRateLimitWait, the call fails at once
//     with psp.ErrRateLimited (which wraps psp.ErrUnavailable), as it does when the context ends
//     during the wait. MangoPay sends no Retry-After.
//   - 5xx, connection errors and timeouts are retried with exponential backoff for GET and POST, then
//     psp.ErrUnavailable. POSTs are safe to retry only because every POST carries an
//     Idempotency-Key: a repeat of a POST that did reach MangoPay answers 409
//     idempotent_creation_conflict and the original answer is recovered from
//     GET /v2.01/{ClientId}/responses/{key}. PUTs (deactivate, cancel, complete a registration) are
//     retried on 429 only.
//   - Idempotency keys: MangoPay wants 16–36 characters of [A-Za-z0-9-] and blocks a key for 24 h
//     whatever its first answer was. The key sent is derived deterministically from the caller's
//     key and the endpoint (32 hex digits of a SHA-256), plus a generation number: when the
//     recovered original answer is a 5xx or 429 (nothing was created, but the key is spent), the
//     client moves to the next generation of the same caller key. So the same caller key always
//     converges on the one resource it created, across retries and restarts.
//   - Error bodies ({Message, Type, Id, Date, errors}, Date being an integer or a float) become
//     *psp.RejectedError, psp.ErrNotFound or psp.ErrUnavailable; nothing else of MangoPay's text
//     leaves the client, and request secrets (the IBAN) are scrubbed from it.
package mangopay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// Clock tells the time; it decides when the token is renewed.
type Clock interface {
	Now() time.Time
}

// Config configures a Client. BaseURL, ClientID and APIKey are required.
type Config struct {
	BaseURL    string       // "https://api.sandbox.mangopay.com", without /v2.01
	ClientID   string       // the MangoPay client id
	APIKey     string       // the MangoPay API key
	HTTPClient *http.Client // nil means a client without timeout of its own (Timeout applies per call)
	Timeout    time.Duration
	Clock      Clock
	Logger     *slog.Logger // debug lines per HTTP attempt (method, path, status); nil logs nothing
	// MaxAttempts bounds the attempts of one call on 429, 5xx and transport errors (default 3).
	MaxAttempts int
	// Backoff is the wait before the second attempt after a 5xx or a transport error (or a 429
	// without a usable reset), doubled for each further one, capped at MaxBackoff (defaults
	// 250 ms and 4 s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRateLimitWait bounds how long one call waits for a rate limit to reset when its context
	// has no earlier deadline (default 30 s): beyond it the call fails with psp.ErrRateLimited.
	MaxRateLimitWait time.Duration
	// Pacer, when set, is asked before every request and told the rate-limit state of every
	// answer (a budget shared by processes, such as the month close's). Nil: no pacing.
	Pacer Pacer
}

// Pacer spreads the client's requests over time. The client calls Wait before every HTTP request
// (token requests and retries included) and Observe after every answer that carries MangoPay's
// rate-limit headers, or that is a 429.
type Pacer interface {
	// Wait returns when a request may go out, or with ctx's error (the call then fails with
	// psp.ErrUnavailable).
	Wait(ctx context.Context) error
	// Observe receives the provider's latest rate-limit state. It must not block.
	Observe(psp.RateLimit)
}

// Default values of Config.
const (
	DefaultTimeout     = 15 * time.Second
	DefaultMaxAttempts = 3
	DefaultBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff  = 4 * time.Second
	// DefaultMaxRateLimitWait is the default of Config.MaxRateLimitWait.
	DefaultMaxRateLimitWait = 30 * time.Second
	// tokenMargin is how long before its expiry a token is renewed.
	tokenMargin = 30 * time.Second
	// maxKeyGenerations bounds how many spent keys one call walks through (see the package doc).
	maxKeyGenerations = 4
)

// Client is a MangoPay API client. It is safe for concurrent use.
type Client struct {
	base         string
	clientID     string
	apiKey       string
	http         *http.Client
	timeout      time.Duration
	clock        Clock
	log          *slog.Logger
	maxAttempts  int
	backoff      time.Duration
	maxBackoff   time.Duration
	maxLimitWait time.Duration
	pacer        Pacer
	// sleep waits d or until ctx ends; tests replace it to see the waits without waiting.
	sleep func(ctx context.Context, d time.Duration) error

	refresh chan struct{} // one token renewal at a time; also guards tok
	tok     token

	limitsMu sync.Mutex
	limits   psp.RateLimit
}

type token struct {
	value   string
	renewAt time.Time
}

var (
	_ psp.Provider = (*Client)(nil)
	_ psp.MoneyOut = (*Client)(nil)
)

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" || cfg.ClientID == "" || cfg.APIKey == "" {
		return nil, errors.New("mangopay: BaseURL, ClientID and APIKey are required")
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("mangopay: base URL: %w", err)
	}
	c := &Client{
		base:         strings.TrimRight(cfg.BaseURL, "/"),
		clientID:     cfg.ClientID,
		apiKey:       cfg.APIKey,
		http:         cfg.HTTPClient,
		timeout:      cfg.Timeout,
		clock:        cfg.Clock,
		log:          cfg.Logger,
		maxAttempts:  cfg.MaxAttempts,
		backoff:      cfg.Backoff,
		maxBackoff:   cfg.MaxBackoff,
		maxLimitWait: cfg.MaxRateLimitWait,
		pacer:        cfg.Pacer,
		sleep:        sleepCtx,
		refresh:      make(chan struct{}, 1),
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.backoff <= 0 {
		c.backoff = DefaultBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.maxLimitWait <= 0 {
		c.maxLimitWait = DefaultMaxRateLimitWait
	}
	return c, nil
}

// RateLimit returns the rate-limit state of MangoPay's latest answer that carried one (zero
// before any).
func (c *Client) RateLimit() psp.RateLimit {
	c.limitsMu.Lock()
	defer c.limitsMu.Unlock()
	out := c.limits
	out.Windows = append([]psp.RateLimitWindow(nil), c.limits.Windows...)
	return out
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// request is one logical API call.
type request struct {
	method string
	path   string       // below /v2.01/{ClientId}, ids already escaped, with its query string if any
	body   any          // nil sends no body
	key    string       // the caller's idempotency key; required for POST unless noKey
	noKey  bool         // a POST that must not be replayed (each call asks for something new)
	secret string       // a value never to echo back in errors (the IBAN)
	header *http.Header // when set, receives the answer's headers
}

// call performs r and decodes a 2xx answer into out (when out is not nil).
func (c *Client) call(ctx context.Context, r request, out any) error {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("mangopay %s %s: encode: %w", r.method, r.path, err)
		}
	}
	if r.method != http.MethodPost || r.noKey {
		res, err := c.send(ctx, r.method, r.path, "", payload)
		if err != nil {
			return err
		}
		if r.header != nil {
			*r.header = res.header
		}
		return c.decode(r, res.status, res.body, out)
	}
	if r.key == "" {
		return fmt.Errorf("mangopay %s %s: an idempotency key is required", r.method, r.path)
	}
	for gen := 0; gen < maxKeyGenerations; gen++ {
		key := IdempotencyKey(r.path, r.key, gen)
		res, err := c.send(ctx, r.method, r.path, key, payload)
		if err != nil {
			return err
		}
		if res.status != http.StatusConflict {
			return c.decode(r, res.status, res.body, out)
		}
		if e := decodeAPIError(res.body); e.Type != "idempotent_creation_conflict" {
			return c.decode(r, res.status, res.body, out)
		}
		orig, err := c.storedResponse(ctx, key)
		if err != nil {
			return fmt.Errorf("mangopay %s %s: recover the answer to key %s: %w", r.method, r.path, key, err)
		}
		if orig.status >= 500 || orig.status == http.StatusTooManyRequests {
			c.log.DebugContext(ctx, "mangopay idempotency key spent, next generation",
				slog.String("path", r.path), slog.Int("generation", gen+1))
			continue
		}
		return c.decode(r, orig.status, orig.body, out)
	}
	return fmt.Errorf("mangopay %s %s: every idempotency key generation failed: %w", r.method, r.path, psp.ErrUnavailable)
}

type response struct {
	status int
	body   []byte
	header http.Header
}

// storedResponse reads MangoPay's record of the first answer to an idempotency key.
func (c *Client) storedResponse(ctx context.Context, key string) (response, error) {
	res, err := c.send(ctx, http.MethodGet, "/responses/"+url.PathEscape(key), "", nil)
	if err != nil {
		return response{}, err
	}
	if res.status == http.StatusNotFound {
		// The first request is still being processed (or MangoPay lost it): try again later.
		return response{}, fmt.Errorf("original answer not available yet: %w", psp.ErrUnavailable)
	}
	if res.status/100 != 2 {
		return response{}, fmt.Errorf("status %d: %w", res.status, psp.ErrUnavailable)
	}
	var stored struct {
		StatusCode json.Number     `json:"StatusCode"`
		Resource   json.RawMessage `json:"Resource"`
	}
	if err := json.Unmarshal(res.body, &stored); err != nil {
		return response{}, fmt.Errorf("decode: %v: %w", err, psp.ErrUnavailable)
	}
	code, err := strconv.Atoi(stored.StatusCode.String())
	if err != nil {
		return response{}, fmt.Errorf("status code %q: %w", stored.StatusCode, psp.ErrUnavailable)
	}
	body := []byte(stored.Resource)
	var quoted string // tolerate a Resource given as a JSON string holding the body
	if json.Unmarshal(body, &quoted) == nil {
		body = []byte(quoted)
	}
	return response{status: code, body: body}, nil
}

// send performs one HTTP exchange with retries (see the package doc) and returns any status other
// than 401, 429 and 5xx as is.
func (c *Client) send(ctx context.Context, method, path, key string, payload []byte) (response, error) {
	retryFailures := method != http.MethodPut
	renewed := false
	for attempt := 1; ; attempt++ {
		bearer, err := c.bearer(ctx)
		if err != nil {
			return response{}, fmt.Errorf("mangopay %s %s: %w", method, path, err)
		}
		res, err := c.attempt(ctx, method, path, key, payload, bearer)
		var wait time.Duration
		unavailable := psp.ErrUnavailable // what a context ending during the wait means
		switch {
		case err != nil:
			if ctx.Err() != nil || !retryFailures || attempt >= c.maxAttempts {
				return response{}, fmt.Errorf("mangopay %s %s: %w: %v", method, path, psp.ErrUnavailable, err)
			}
			wait = c.backoffFor(attempt)
		case res.status == http.StatusUnauthorized:
			if action, ok := authenticateAction(res.header); ok {
				return response{}, fmt.Errorf("mangopay %s %s: %w", method, path, &psp.PendingActionError{Action: action})
			}
			if renewed {
				return response{}, fmt.Errorf("mangopay %s %s: credentials refused: %w", method, path, psp.ErrUnavailable)
			}
			c.forget(bearer)
			renewed = true
			attempt-- // a renewed token does not use up an attempt
			continue
		case res.status == http.StatusTooManyRequests:
			if attempt >= c.maxAttempts {
				return response{}, fmt.Errorf("mangopay %s %s: still rate limited after %d attempts: %w", method, path, attempt, psp.ErrRateLimited)
			}
			if wait, err = c.rateLimitWait(ctx, parseRateLimit(res.header, true, c.clock.Now()), attempt); err != nil {
				return response{}, fmt.Errorf("mangopay %s %s: %w", method, path, err)
			}
			unavailable = psp.ErrRateLimited
		case res.status >= 500:
			if !retryFailures || attempt >= c.maxAttempts {
				return response{}, fmt.Errorf("mangopay %s %s: status %d: %w", method, path, res.status, psp.ErrUnavailable)
			}
			wait = c.backoffFor(attempt)
		default:
			return res, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return response{}, fmt.Errorf("mangopay %s %s: %w: %v", method, path, unavailable, err)
		}
	}
}

// attempt is a single HTTP request, paced, then under the per-call timeout.
func (c *Client) attempt(ctx context.Context, method, path, key string, payload []byte, bearer string) (response, error) {
	if err := c.pace(ctx); err != nil {
		return response{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/v2.01/"+url.PathEscape(c.clientID)+path, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.do(req)
	if err != nil {
		c.log.DebugContext(ctx, "mangopay call failed", slog.String("method", method), slog.String("path", path), slog.String("error", err.Error()))
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return response{}, err
	}
	c.log.DebugContext(ctx, "mangopay call", slog.String("method", method), slog.String("path", path),
		slog.Int("status", resp.StatusCode), slog.String("idempotency_key", key))
	return response{status: resp.StatusCode, body: data, header: resp.Header}, nil
}

// pace asks the pacer, if any, for leave to send one request. It is asked before the per-call
// timeout starts, so that waiting for the shared budget never eats into a call's own time.
func (c *Client) pace(ctx context.Context) error {
	if c.pacer == nil {
		return nil
	}
	if err := c.pacer.Wait(ctx); err != nil {
		return fmt.Errorf("pacer: %w", err)
	}
	return nil
}

// do sends one HTTP request (paced by its caller): the answer's rate-limit state is kept and
// handed to the pacer.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	limited := resp.StatusCode == http.StatusTooManyRequests
	if limits := parseRateLimit(resp.Header, limited, c.clock.Now()); len(limits.Windows) > 0 || limited {
		c.limitsMu.Lock()
		c.limits = limits
		c.limitsMu.Unlock()
		if c.pacer != nil {
			c.pacer.Observe(limits)
		}
	}
	return resp, nil
}

// parseRateLimit reads MangoPay's rate-limit headers: X-RateLimit (calls made), X-RateLimit-
// Remaining and X-RateLimit-Reset (Unix seconds), each a comma-separated list with one value per
// window, the windows in the same order in the three. Lists of different lengths, or values that
// are not integers, give no windows (the SDKs ignore them too).
func parseRateLimit(h http.Header, limited bool, now time.Time) psp.RateLimit {
	out := psp.RateLimit{Limited: limited, ObservedAt: now}
	made, remaining, reset := headerInts(h, "X-RateLimit"), headerInts(h, "X-RateLimit-Remaining"), headerInts(h, "X-RateLimit-Reset")
	if len(made) == 0 || len(made) != len(remaining) || len(made) != len(reset) {
		return out
	}
	for i := range made {
		out.Windows = append(out.Windows, psp.RateLimitWindow{Made: int(made[i]), Remaining: int(remaining[i]), Reset: time.Unix(reset[i], 0).UTC()})
	}
	return out
}

// headerInts splits every value of header name on commas; nil when any part is not an integer.
func headerInts(h http.Header, name string) []int64 {
	var out []int64
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				return nil
			}
			out = append(out, n)
		}
	}
	return out
}

// rateLimitWait is how long to wait after a 429: until the exhausted windows reset (the earliest
// reset ahead when none says it is exhausted), or the backoff when the answer tells no future
// reset. It is psp.ErrRateLimited when the reset is beyond the context's deadline or the wait cap.
func (c *Client) rateLimitWait(ctx context.Context, limits psp.RateLimit, attempt int) (time.Duration, error) {
	now := c.clock.Now()
	exhausted, until := limits.Exhausted()
	if !exhausted {
		for _, w := range limits.Windows {
			if w.Reset.After(now) && (until.IsZero() || w.Reset.Before(until)) {
				until = w.Reset
			}
		}
	}
	if !until.After(now) {
		return c.backoffFor(attempt), nil
	}
	wait := until.Sub(now)
	limit := c.maxLimitWait
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < limit {
		limit = time.Until(deadline)
	}
	if wait > limit {
		return 0, fmt.Errorf("limit resets at %s, in %s: %w", until.Format(time.RFC3339), wait.Round(time.Second), psp.ErrRateLimited)
	}
	return wait, nil
}

// authenticateAction reads "WWW-Authenticate: PendingUserAction RedirectUrl=<url>" (MangoPay spells
// the parameter RedirectUrl or redirectUrl).
func authenticateAction(h http.Header) (psp.PendingAction, bool) {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "PendingUserAction") {
			continue
		}
		for _, p := range strings.FieldsFunc(params, func(r rune) bool { return r == ' ' || r == ',' }) {
			name, value, found := strings.Cut(p, "=")
			if found && strings.EqualFold(name, "RedirectUrl") {
				if value = strings.Trim(value, `"`); value != "" {
					return psp.PendingAction{URL: value}, true
				}
			}
		}
	}
	return psp.PendingAction{}, false
}

// backoffFor is the wait before the attempt after attempt.
func (c *Client) backoffFor(attempt int) time.Duration {
	d := c.backoff << (attempt - 1)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	return d
}

// sleepCtx waits d, or returns ctx's error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bearer returns a valid token, renewing it when it expires within tokenMargin.
func (c *Client) bearer(ctx context.Context) (string, error) {
	select {
	case c.refresh <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %v", psp.ErrUnavailable, ctx.Err())
	}
	defer func() { <-c.refresh }()
	if c.tok.value != "" && c.clock.Now().Before(c.tok.renewAt) {
		return c.tok.value, nil
	}
	tok, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.tok = tok
	return tok.value, nil
}

// forget drops bearer if it is still the current token, so that the next call renews it.
func (c *Client) forget(bearer string) {
	c.refresh <- struct{}{}
	defer func() { <-c.refresh }()
	if c.tok.value == bearer {
		c.tok = token{}
	}
}

func (c *Client) fetchToken(ctx context.Context) (token, error) {
	if err := c.pace(ctx); err != nil {
		return token{}, fmt.Errorf("token: %w: %v", psp.ErrUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v2.01/oauth/token", strings.NewReader(form))
	if err != nil {
		return token{}, fmt.Errorf("token: %w: %v", psp.ErrUnavailable, err)
	}
	req.SetBasicAuth(c.clientID, c.apiKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	obtained := c.clock.Now()
	resp, err := c.do(req)
	if err != nil {
		return token{}, fmt.Errorf("token: %w: %v", psp.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return token{}, fmt.Errorf("token: %w: %v", psp.ErrUnavailable, err)
	}
	c.log.DebugContext(ctx, "mangopay token", slog.Int("status", resp.StatusCode))
	if resp.StatusCode != http.StatusOK {
		// Bad credentials (400 unauthorized_client, 401) are a configuration problem: callers can
		// only report the provider as unavailable.
		var e struct {
			Error string `json:"error"`
			Type  string `json:"Type"`
		}
		_ = json.Unmarshal(data, &e)
		return token{}, fmt.Errorf("token: status %d %s%s: %w", resp.StatusCode, e.Error, e.Type, psp.ErrUnavailable)
	}
	var t struct {
		AccessToken string      `json:"access_token"`
		TokenType   string      `json:"token_type"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &t); err != nil || t.AccessToken == "" {
		return token{}, fmt.Errorf("token: malformed answer: %w", psp.ErrUnavailable)
	}
	secs, err := t.ExpiresIn.Float64()
	if err != nil || secs <= 0 {
		secs = 0
	}
	lifetime := time.Duration(secs * float64(time.Second))
	margin := tokenMargin
	if lifetime < 2*margin {
		margin = lifetime / 2
	}
	return token{value: t.AccessToken, renewAt: obtained.Add(lifetime - margin)}, nil
}

// decode turns an answer into out or into the psp error it stands for.
func (c *Client) decode(r request, status int, body []byte, out any) error {
	if status/100 == 2 {
		if out == nil || len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("mangopay %s %s: decode answer: %w: %v", r.method, r.path, psp.ErrUnavailable, err)
		}
		return nil
	}
	e := decodeAPIError(body)
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("mangopay %s %s: %w", r.method, r.path, psp.ErrNotFound)
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusUnauthorized:
		return fmt.Errorf("mangopay %s %s: status %d: %w", r.method, r.path, status, psp.ErrUnavailable)
	}
	rejected := &psp.RejectedError{
		Code:      e.Type,
		Message:   scrub(e.Message, r.secret),
		Reference: e.ID,
	}
	if rejected.Code == "" {
		rejected.Code = "http_" + strconv.Itoa(status)
	}
	if len(e.Errors) > 0 {
		rejected.Fields = make(map[string]string, len(e.Errors))
		for field, msg := range e.Errors {
			rejected.Fields[field] = scrub(msg, r.secret)
		}
	}
	return fmt.Errorf("mangopay %s %s: %w", r.method, r.path, rejected)
}

// apiError is MangoPay's error body. Date is a Unix time that comes as an integer or a float.
type apiError struct {
	Message string            `json:"Message"`
	Type    string            `json:"Type"`
	ID      string            `json:"Id"`
	Date    json.Number       `json:"Date"`
	Errors  map[string]string `json:"errors"`
}

// Time returns Date as a time, zero when absent.
func (e apiError) Time() time.Time {
	f, err := e.Date.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(f), 0).UTC()
}

// decodeAPIError reads an error body leniently: a body that is not MangoPay's JSON gives a zero
// apiError, and "errors" members that are not strings are kept as their JSON text.
func decodeAPIError(body []byte) apiError {
	var raw struct {
		Message string                     `json:"Message"`
		Type    string                     `json:"Type"`
		ID      string                     `json:"Id"`
		Date    json.RawMessage            `json:"Date"`
		Errors  map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return apiError{}
	}
	e := apiError{Message: raw.Message, Type: raw.Type, ID: raw.ID}
	if d := strings.Trim(string(raw.Date), `"`); d != "" && d != "null" {
		if _, err := strconv.ParseFloat(d, 64); err == nil {
			e.Date = json.Number(d)
		}
	}
	if len(raw.Errors) > 0 {
		e.Errors = make(map[string]string, len(raw.Errors))
		for k, v := range raw.Errors {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			e.Errors[k] = s
		}
	}
	return e
}

// scrub removes a secret (and its spaced-out forms) from provider text.
func scrub(text, secret string) string {
	if secret == "" || text == "" {
		return text
	}
	compact := strings.ReplaceAll(secret, " ", "")
	for _, s := range []string{secret, compact, strings.ToLower(compact), psp.MaskIBAN(compact)} {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}

// IdempotencyKey is the Idempotency-Key sent to MangoPay for a POST to path (below
// /v2.01/{ClientId}) made with the caller's key, at a generation (0 first). It is 32 lower-case hex
// digits, a deterministic function of its three inputs, and always fits MangoPay's format.
func IdempotencyKey(path, callerKey string, generation int) string {
	sum := sha256.Sum256([]byte(path + "\x00" + callerKey + "\x00" + strconv.Itoa(generation)))
	return hex.EncodeToString(sum[:16])
}
