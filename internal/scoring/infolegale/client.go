// Package infolegale is the scoring.Partner backed by Infolegale's company-score web service.
//
// Infolegale publishes no API reference. What this client relies on is the one public trace of
// the service, a French lender's client code (see the project's reference/mangopay.md §8):
//
//	GET {base}/getScore?token=<api key>&siren=<9 digits>
//
// answering XML whose root element is "service" (namespace Infolegale/Webservices/getScore), with
// children "errors", "request" and "content" (namespace Infolegale/Webservices/Main), the score
// being the integer at content/scoreInfo/score. Elements are matched by local name, whatever
// their namespace prefix. Everything below that is not in the trace is a choice of this client,
// documented where it is made; check it against the contract Infolegale hands over.
package infolegale

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vhupay/vhupay/internal/scoring"
)

// DefaultTimeout bounds one score call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody bounds the answer read; a score answer is a few hundred bytes.
const maxBody = 1 << 20

// Config configures a Client.
type Config struct {
	BaseURL    string        // absolute http(s) URL of the web service; "/getScore" is appended
	APIKey     string        // sent as the "token" query parameter; never logged
	HTTPClient *http.Client  // nil: a new http.Client
	Timeout    time.Duration // bound on one call, connection to last byte; 0: DefaultTimeout
}

// String shows the configuration with the API key redacted.
func (c Config) String() string {
	return fmt.Sprintf("infolegale.Config{BaseURL: %q, APIKey: %s, Timeout: %s}", c.BaseURL, redact(c.APIKey), c.Timeout)
}

// GoString is String, so that %#v does not show the key either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the configuration with the API key redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("api_key", redact(c.APIKey)),
		slog.Duration("timeout", c.Timeout),
	)
}

func redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// Client calls Infolegale. It is safe for concurrent use. Printed with fmt or slog it shows its
// endpoint and timeout, never the API key.
type Client struct {
	endpoint *url.URL // {base}/getScore
	apiKey   string
	http     *http.Client
	timeout  time.Duration
}

var _ scoring.Partner = (*Client)(nil)

// String describes the client without its API key.
func (c Client) String() string {
	return fmt.Sprintf("infolegale.Client{endpoint: %q, timeout: %s}", c.endpointString(), c.timeout)
}

func (c Client) endpointString() string {
	if c.endpoint == nil {
		return ""
	}
	return c.endpoint.String()
}

// Format prints String for every verb: fmt would otherwise print the unexported key.
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the endpoint and timeout only.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.endpointString()), slog.Duration("timeout", c.timeout))
}

// ErrConfig is returned by New for an unusable configuration.
var ErrConfig = errors.New("infolegale: invalid configuration")

// New returns a client for cfg. It returns ErrConfig (wrapped) when BaseURL is not an absolute
// http or https URL, when APIKey is empty, or when Timeout is negative.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: base URL must be an absolute http(s) URL", ErrConfig)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("%w: base URL must have no query or fragment", ErrConfig)
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("%w: API key is empty", ErrConfig)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout", ErrConfig)
	}
	c := &Client{
		endpoint: base.JoinPath("getScore"),
		apiKey:   cfg.APIKey,
		http:     cfg.HTTPClient,
		timeout:  cfg.Timeout,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// Score asks Infolegale for the score of the company with this SIREN and returns it, within
// 0..scoring.Scale.
//
// Errors (wrapped; messages never contain the API key):
//   - scoring.ErrUnknownCompany when siren is not 9 digits (no call is made), or when the answer's
//     errors say that the company is unknown (see unknownCompany);
//   - scoring.ErrUnavailable for a transport failure, the call's own timeout, any status but 200,
//     an answer over 1 MiB or not the expected XML, any other error in the answer, a missing
//     score, or a score outside 0..20;
//   - ctx's error, without ErrUnavailable, when ctx itself ended (the caller gave up, not the
//     partner), so that the attempt is not recorded as an outage.
//
// A decimal score ("13.5" or "13,5") is rounded down: a company at 9.9 does not reach 10.
func (c *Client) Score(ctx context.Context, siren string) (int, error) {
	if !isSIREN(siren) {
		return 0, fmt.Errorf("infolegale getScore: %w: a SIREN is 9 digits", scoring.ErrUnknownCompany)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := *c.endpoint
	u.RawQuery = url.Values{"token": {c.apiKey}, "siren": {siren}}.Encode()
	req, err := http.NewRequestWithContext(callCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("infolegale getScore: %w: build request", scoring.ErrUnavailable)
	}
	req.Header.Set("Accept", "application/xml, text/xml")

	resp, err := c.http.Do(req)
	if err != nil {
		return 0, c.failure(ctx, "call", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, c.failure(ctx, "read answer", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("infolegale getScore: %w: status %d", scoring.ErrUnavailable, resp.StatusCode)
	}
	if len(body) > maxBody {
		return 0, fmt.Errorf("infolegale getScore: %w: answer over %d bytes", scoring.ErrUnavailable, maxBody)
	}
	return c.parseScore(body)
}

// failure turns a transport error into the error Score returns: the caller's context error when
// the caller's ctx ended, ErrUnavailable otherwise. The *url.Error wrapper is dropped because its
// message holds the request URL, and so the API key.
func (c *Client) failure(ctx context.Context, step string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("infolegale getScore: %s: %w", step, ctxErr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("infolegale getScore: %w: %s: %s", scoring.ErrUnavailable, step, c.redact(err.Error()))
}

// redact removes the API key, plain or query-escaped, from a message that may echo it.
func (c *Client) redact(msg string) string {
	msg = strings.ReplaceAll(msg, c.apiKey, "[redacted]")
	if key := url.QueryEscape(c.apiKey); key != c.apiKey {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	return msg
}

// answer is the part of getScore's XML this client reads.
type answer struct {
	XMLName xml.Name
	Errors  *struct {
		Entries []entry `xml:",any"`
		Text    string  `xml:",chardata"`
	} `xml:"errors"`
	Score *string `xml:"content>scoreInfo>score"`
}

// entry is one element under "errors", whatever its shape: <code>message</code>,
// <error code="...">message</error>, <error><code/><message/></error>.
type entry struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []entry    `xml:",any"`
}

// describe flattens the entry: its name, attributes, text and children's descriptions.
func (e entry) describe() string {
	var b strings.Builder
	b.WriteString(e.XMLName.Local)
	for _, a := range e.Attrs {
		b.WriteString(" " + a.Name.Local + "=" + a.Value)
	}
	if t := strings.TrimSpace(e.Text); t != "" {
		b.WriteString(": " + t)
	}
	for _, c := range e.Children {
		b.WriteString(" (" + c.describe() + ")")
	}
	return b.String()
}

// parseScore reads a 200 answer.
func (c *Client) parseScore(body []byte) (int, error) {
	var a answer
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charsetReader
	if err := dec.Decode(&a); err != nil {
		return 0, fmt.Errorf("infolegale getScore: %w: unreadable XML", scoring.ErrUnavailable)
	}
	if a.XMLName.Local != "service" {
		return 0, fmt.Errorf("infolegale getScore: %w: unexpected root element %q", scoring.ErrUnavailable, a.XMLName.Local)
	}
	if a.Errors != nil {
		if len(a.Errors.Entries) > 0 || strings.TrimSpace(a.Errors.Text) != "" {
			return 0, answerError(a, c.redact)
		}
	}
	if a.Score == nil || strings.TrimSpace(*a.Score) == "" {
		return 0, fmt.Errorf("infolegale getScore: %w: no score in the answer", scoring.ErrUnavailable)
	}
	v, err := parseValue(*a.Score)
	if err != nil {
		return 0, fmt.Errorf("infolegale getScore: %w: %v", scoring.ErrUnavailable, err)
	}
	return v, nil
}

// answerError classifies an answer that carries errors; redact cleans the partner's text, which
// could echo the token.
func answerError(a answer, redact func(string) string) error {
	var parts []string
	for _, e := range a.Errors.Entries {
		parts = append(parts, e.describe())
	}
	if t := strings.TrimSpace(a.Errors.Text); t != "" {
		parts = append(parts, t)
	}
	detail := truncate(redact(strings.Join(parts, "; ")), 300)
	for _, p := range parts {
		if unknownCompany(p) {
			return fmt.Errorf("infolegale getScore: %w: %s", scoring.ErrUnknownCompany, detail)
		}
	}
	return fmt.Errorf("infolegale getScore: %w: answer errors: %s", scoring.ErrUnavailable, detail)
}

// unknownCompany reports whether an error entry of the answer says that the SIREN matches no
// company. The public trace does not show Infolegale's error codes, so this is a heuristic on the
// entry's name, attributes and text: it must name the company (siren, entreprise, société,
// company) and say it was not found (inconnu, introuvable, n'existe pas, non trouvé, unknown, not
// found, does not exist). An entry about the token is never an unknown company, so that a bad API
// key looks like an outage rather than disabling every buyer. Replace this with Infolegale's codes
// once known.
func unknownCompany(s string) bool {
	s = strings.ToLower(s)
	if strings.Contains(s, "token") {
		return false
	}
	company := containsAny(s, "siren", "entreprise", "société", "societe", "company")
	missing := containsAny(s, "inconnu", "introuvable", "n'existe pas", "non trouv", "unknown",
		"not found", "notfound", "not_found", "does not exist")
	return company && missing
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// parseValue reads a score: an integer, or a decimal with '.' or ',' rounded down, within 0..20.
// A sign, an exponent or anything but digits is refused.
func parseValue(s string) (int, error) {
	s = strings.TrimSpace(s)
	whole, frac, decimal := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if strings.HasPrefix(whole, "-") {
		return 0, fmt.Errorf("score %q is below 0", truncate(s, 20))
	}
	if !allDigits(whole) || (decimal && !allDigits(frac)) {
		return 0, fmt.Errorf("score %q is not a number", truncate(s, 20))
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 2 {
		return 0, fmt.Errorf("score %q is outside 0..%d", truncate(s, 20), scoring.Scale)
	}
	v, _ := strconv.Atoi("0" + whole)
	if !scoring.InRange(v) || (v == scoring.Scale && strings.Trim(frac, "0") != "") {
		return 0, fmt.Errorf("score %q is outside 0..%d", truncate(s, 20), scoring.Scale)
	}
	return v, nil
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for k := range len(s) {
		if s[k] < '0' || s[k] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// charsetReader lets the decoder read answers declared ISO-8859-1 or windows-1252, which French
// web services often send; anything else but UTF-8 is refused (the answer is then unreadable).
// Windows-1252's 0x80–0x9F are read as Latin-1 control characters: harmless for digits and names.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b)*2)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}

func isSIREN(s string) bool { return len(s) == 9 && allDigits(s) }
