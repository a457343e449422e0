package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/txn"
)

const (
	ctxRequestID = "vhupay.request_id"
	ctxLogger    = "vhupay.logger"
	ctxPrincipal = "vhupay.principal"
	ctxBody      = "vhupay.body"
	// ctxNotKept marks an answer that the idempotency store must not keep (it holds a secret).
	ctxNotKept = "vhupay.not_kept"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)

// requestIDs echoes a well-formed X-Request-Id or makes one, and puts a logger carrying it on the context.
func (s *Server) requestIDs(c *gin.Context) {
	rid := c.GetHeader("X-Request-Id")
	if !validRequestID.MatchString(rid) {
		rid = uuid.NewString()
	}
	c.Set(ctxRequestID, rid)
	c.Request = c.Request.WithContext(txn.WithRequestID(c.Request.Context(), rid))
	c.Set(ctxLogger, s.log.With(slog.String("request_id", rid)))
	c.Header("X-Request-Id", rid)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// metrics counts requests and their durations by route template (never the raw path).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vhupay_http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vhupay_http_request_duration_seconds", Help: "HTTP request durations by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// accessLog logs one line per request and records its metrics.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(c.Request.Method, route).Observe(elapsed.Seconds())
	if route == "/healthz" || route == "/readyz" || route == "/metrics" {
		return
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method), slog.String("route", route), slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if p, ok := principalOf(c); ok {
		attrs = append(attrs, slog.String("role", string(p.Role)), slog.String("org", p.Org))
		if p.APIKeyID != "" {
			attrs = append(attrs, slog.String("api_key_id", p.APIKeyID)) // the key's id, never its secret
		}
	}
	logger(c).LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// recovery turns a panic into a bare 500 problem; the stack goes to the log only.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			logger(c).Error("panic", slog.Any("panic", r))
			if !c.Writer.Written() {
				writeProblem(c, s.problemFor(c, errInternal))
			}
			c.Abort()
		}
	}()
	c.Next()
}

func bodyOf(c *gin.Context) []byte {
	if b, ok := c.Get(ctxBody); ok {
		return b.([]byte)
	}
	return nil
}

// authenticate requires a valid bearer token and puts its principal on the context.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(h, "bearer ")
	}
	if !ok || strings.TrimSpace(token) == "" {
		reason := "no bearer token"
		if h != "" {
			reason = "the Authorization header is not \"Bearer <token>\""
		}
		logger(c).Info("unauthenticated", slog.String("reason", reason))
		s.writeError(c, errUnauthenticated)
		return
	}
	token = strings.TrimSpace(token)
	var p auth.Principal
	var err error
	if auth.IsAPIKey(token) && s.apiKeys != nil {
		p, err = s.apiKeys.Authenticate(c.Request.Context(), token)
	} else {
		p, err = s.verifier.Verify(token)
	}
	if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
		s.writeError(c, err) // the key store failed: not the caller's fault
		return
	}
	if err != nil {
		// The reason (expired, bad signature, wrong audience...) goes to the log only: the caller
		// learns nothing that helps forging a token.
		logger(c).Info("unauthenticated", slog.String("reason", auth.Reason(err)), slog.String("err", err.Error()))
		s.writeError(c, errUnauthenticated)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

func principalOf(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return auth.Principal{}, false
	}
	return v.(auth.Principal), true
}

func principal(c *gin.Context) auth.Principal {
	p, _ := principalOf(c)
	return p
}

// allow lets only the given roles through; others get 403.
func (s *Server) allow(roles ...auth.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principal(c).Is(roles...) {
			s.writeError(c, errForbidden)
			return
		}
		c.Next()
	}
}

// capture records what a handler writes, for the idempotency store.
type capture struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capture) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// validIdempotencyKey: 1–255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotent applies the Idempotency-Key rules to a POST (see idempotently), except on the routes
// that apply them themselves (ownIdempotency).
func (s *Server) idempotent(c *gin.Context) {
	if s.ownIdempotency[c.FullPath()] {
		c.Next()
		return
	}
	s.idempotently(c, c.Next)
}

// idempotently runs a POST's handling, run, under the Idempotency-Key rules: replay, reuse, in
// use. Answers of 5xx and 429 are not kept, so that a retry with the same key runs again.
func (s *Server) idempotently(c *gin.Context, run func()) {
	key := c.GetHeader("Idempotency-Key")
	if c.Request.Method != http.MethodPost || key == "" {
		run()
		return
	}
	if !validIdempotencyKey(key) {
		s.writeError(c, errIdempotencyKeyFormat)
		return
	}
	scope := principal(c).Scope()
	hash := s.idem.Hash(c.Request.Method, c.Request.URL.Path, bodyOf(c))
	replay, claim, err := s.idem.Begin(c.Request.Context(), scope, key, hash)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if replay != nil {
		writeReplay(c, replay)
		return
	}
	w := &capture{ResponseWriter: c.Writer}
	c.Writer = w
	completed := false
	release := s.idem.Hold(claim) // a short lease, renewed while the request runs
	defer func() {
		release()
		// Runs on panics too: a request that did not finish frees its key.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
		defer cancel()
		status := w.Status()
		var err error
		if completed && status < 500 && status != http.StatusTooManyRequests && !c.GetBool(ctxNotKept) {
			err = s.idem.Complete(ctx, claim, idempotency.Response{
				Status: status, ContentType: w.Header().Get("Content-Type"), Location: w.Header().Get("Location"), Body: w.body.Bytes(),
			})
		} else {
			err = s.idem.Abandon(ctx, claim)
		}
		if err != nil {
			logger(c).Error("idempotency record not saved", slog.String("err", err.Error()))
		}
	}()
	run()
	completed = true
}

// errIdempotencyKeyFormat: an Idempotency-Key that is not 1–255 printable ASCII characters.
var errIdempotencyKeyFormat = &validationProblem{field: "Idempotency-Key", code: "format", message: "must be 1 to 255 printable ASCII characters"}

// writeReplay answers a request with the kept answer of its Idempotency-Key.
func writeReplay(c *gin.Context, r *idempotency.Response) {
	c.Header("Idempotent-Replayed", "true")
	if r.Location != "" {
		c.Header("Location", r.Location)
	}
	c.Data(r.Status, r.ContentType, r.Body)
	c.Abort()
}
