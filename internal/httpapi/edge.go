package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/validation"
)

// Edge are the HTTP edge's limits. Zero fields take the defaults below; a negative rate turns
// that limit off.
type Edge struct {
	// MaxHeaderBytes caps the request line and headers together; more answers 431.
	MaxHeaderBytes int
	// RateLimit is the sustained requests per second of one authenticated caller (its token's
	// subject and organisation), RateBurst the requests it may send at once. Per process.
	RateLimit float64
	RateBurst int
	// HookRateLimit and HookRateBurst limit the provider hook endpoint per source address.
	HookRateLimit float64
	HookRateBurst int
	// ReturnURLOrigins are the origins (scheme://host[:port]) a return_url may point to.
	// Sandbox: http://localhost and http://127.0.0.1 on any port are allowed too.
	ReturnURLOrigins []string
	Sandbox          bool
}

// The edge's defaults.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultRateLimit      = 20
	DefaultRateBurst      = 40
	DefaultHookRateLimit  = 50
	DefaultHookRateBurst  = 500
)

func (e Edge) withDefaults() Edge {
	if e.MaxHeaderBytes <= 0 {
		e.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if e.RateLimit == 0 {
		e.RateLimit = DefaultRateLimit
	}
	if e.RateBurst <= 0 {
		e.RateBurst = DefaultRateBurst
	}
	if e.HookRateLimit == 0 {
		e.HookRateLimit = DefaultHookRateLimit
	}
	if e.HookRateBurst <= 0 {
		e.HookRateBurst = DefaultHookRateBurst
	}
	return e
}

var (
	errUnsupportedMediaType = newAPIError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
		"Send the body as JSON with Content-Type: application/json.")
	errHeadersTooLarge = newAPIError(http.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "Request headers too large",
		"The request line and headers are too large; send fewer or shorter headers (cookies, tokens).")
	errRateLimited = newAPIError(http.StatusTooManyRequests, "rate_limited", "Too many requests",
		"Too many requests from this caller; wait the Retry-After seconds and try again.")
)

// securityHeaders marks every answer as not to be cached nor sniffed.
func (s *Server) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Next()
}

// headerSize answers 431 when the request line and headers exceed the configured cap. The
// server's own limit (http.Server.MaxHeaderBytes) is set above it, so that most oversized
// requests get a problem document rather than Go's plain-text 431.
func (s *Server) headerSize(c *gin.Context) {
	n := len(c.Request.Method) + len(c.Request.RequestURI) + len(c.Request.Proto) + 4
	for k, vs := range c.Request.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	if n > s.edge.MaxHeaderBytes {
		s.writeError(c, errHeadersTooLarge)
		return
	}
	c.Next()
}

// cleanText reports whether s is UTF-8 without NUL: text every database accepts.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// hostileInput refuses a path that is not clean text (404: no resource has such an id) and a
// query whose names or values are not (422), before any handler or database sees them.
func (s *Server) hostileInput(c *gin.Context) {
	if !cleanText(c.Request.URL.Path) {
		s.writeError(c, errNotFound)
		return
	}
	if c.Request.URL.RawQuery != "" {
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			s.writeError(c, validation.Field("query", "format", "the query string is not well-formed (bad % escape or ;)"))
			return
		}
		var col validation.Collector
		for k, vs := range q {
			if !cleanText(k) {
				col.Add("query", "encoding", "parameter names must be UTF-8 text without NUL")
				continue
			}
			for _, v := range vs {
				if !cleanText(v) {
					col.Add(k, "encoding", "must be UTF-8 text without NUL")
					break
				}
			}
		}
		if err := col.Err(); err != nil {
			s.writeError(c, err)
			return
		}
	}
	c.Next()
}

// readBody caps a request body at MaxBody and reads it once, so that handlers and the
// idempotency layer see the same bytes. It runs after authentication: nothing is read for an
// unauthenticated caller. A larger body answers 413; a body that is not JSON 415; a JSON body
// that is not UTF-8 422.
func (s *Server) readBody(c *gin.Context) {
	if c.Request.Body == nil || c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	if c.Request.ContentLength > MaxBody {
		s.writeError(c, errTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeError(c, errTooLarge)
			return
		}
		s.writeError(c, errUnreadableBody)
		return
	}
	if len(body) > 0 {
		if !isJSON(c.GetHeader("Content-Type")) {
			s.writeError(c, errUnsupportedMediaType)
			return
		}
		if !utf8.Valid(body) {
			s.writeError(c, validation.Field("body", "encoding", "the body must be UTF-8"))
			return
		}
	}
	c.Set(ctxBody, body)
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	c.Next()
}

// capBody caps the body of the routes outside /v1 that take one (the sandbox bank pages' forms).
func (s *Server) capBody(c *gin.Context) {
	if c.Request.ContentLength > MaxBody {
		s.writeError(c, errTooLarge)
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
	}
	c.Next()
}

// isJSON reports whether a Content-Type is application/json (any parameters, UTF-8 only).
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// rateLimit limits each authenticated caller (the token's subject and organisation).
func (s *Server) rateLimit(c *gin.Context) {
	if ok, wait := s.callers.allow(principal(c).Scope()); !ok {
		s.tooMany(c, wait, slog.String("scope", principal(c).Scope()))
		return
	}
	c.Next()
}

// hookRateLimit limits the provider hook endpoint per source address, so that a flood cannot
// spend the provider quota nor crowd out the real notifications. The address is the connection's
// (RemoteIP): X-Forwarded-For, which anyone can write, would let a flood pick a fresh one each time.
func (s *Server) hookRateLimit(c *gin.Context) {
	if ok, wait := s.hookSources.allow(c.RemoteIP()); !ok {
		s.tooMany(c, wait, slog.String("source", c.RemoteIP()))
		return
	}
	c.Next()
}

func (s *Server) tooMany(c *gin.Context, wait time.Duration, who slog.Attr) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	c.Header("Retry-After", strconv.Itoa(secs))
	logger(c).Info("rate limited", who, slog.Int("retry_after_s", secs))
	s.writeError(c, errRateLimited)
}

var errOriginNotAllowed = newAPIError(http.StatusForbidden, "origin_not_allowed", "Origin not allowed",
	"This origin may not call the API from a browser; add it to VHUPAY_CORS_ORIGINS.")

// cors applies the CORS policy (apiCORS, nil when no origin is configured). A preflight from an
// origin that is not allowed answers 403 origin_not_allowed, not a 405 that would send one looking
// for a missing route; other requests from it are served without CORS headers (the browser keeps
// the answer from the page), as calls from servers, which send no Origin, are.
func (s *Server) cors(c *gin.Context, apiCORS gin.HandlerFunc) {
	origin := c.GetHeader("Origin")
	if origin == "" || sameOrigin(c.Request, origin) {
		c.Next()
		return
	}
	if s.corsOrigins[origin] && apiCORS != nil {
		apiCORS(c)
		return
	}
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		s.writeError(c, errOriginNotAllowed)
		return
	}
	c.Next()
}

// sameOrigin reports whether origin is the request's own host (a page served by the API itself).
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host
}

// checkReturnURL refuses a return_url outside the front end's origins (422 on field): the bank
// page sends the browser there, and must not be an open redirect. In sandbox mode localhost and
// 127.0.0.1 on any port are allowed too, and no origin configured allows any.
func (s *Server) checkReturnURL(field, raw string) error {
	if err := payments.ValidateReturnURL(raw); err != nil {
		return validation.Field(field, "url", strings.TrimPrefix(err.Error(), payments.ErrInvalidReturnURL.Error()+": "))
	}
	u, _ := url.Parse(raw) // parsed by ValidateReturnURL
	origin := u.Scheme + "://" + u.Host
	if s.edge.Sandbox && (len(s.edge.ReturnURLOrigins) == 0 || strings.EqualFold(u.Hostname(), "localhost") || u.Hostname() == "127.0.0.1") {
		return nil
	}
	for _, o := range s.edge.ReturnURLOrigins {
		if strings.EqualFold(o, origin) || strings.EqualFold(o, defaultPort(u)) {
			return nil
		}
	}
	return validation.Field(field, "origin", "must be on one of the front end's origins (VHUPAY_RETURN_URL_ORIGINS): "+strings.Join(s.edge.ReturnURLOrigins, ", "))
}

// defaultPort is u's origin without an explicit default port (https://a:443 → https://a).
func defaultPort(u *url.URL) string {
	if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
		return u.Scheme + "://" + u.Hostname()
	}
	return u.Scheme + "://" + u.Host
}
