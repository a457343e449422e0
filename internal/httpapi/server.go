package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/audit"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/disputes"
	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// sandboxPagesPrefix is where the sandbox provider's pages are served (sandbox mode only).
const sandboxPagesPrefix = "/sandbox/psp/"

// Verifier checks bearer tokens.
type Verifier interface {
	Verify(token string) (auth.Principal, error)
}

// TestClock is the sandbox test clock as the API sees it.
type TestClock interface {
	Now() time.Time
	Move(ctx context.Context, t time.Time) error
}

// Deps are what the HTTP edge needs. Sandbox-only dependencies are nil outside sandbox mode.
type Deps struct {
	Log         *slog.Logger
	Registerer  prometheus.Registerer
	Gatherer    prometheus.Gatherer
	Verifier    Verifier
	Idempotency *idempotency.Service
	Parties     *parties.Service
	Ready       func(ctx context.Context) error
	OpenAPIJSON []byte
	CORSOrigins []string
	// Edge are the limits of the HTTP edge (header size, rate limits, return_url origins).
	Edge        Edge
	SEPA        *sepa.Service
	Collections *collections.Service
	// Orders, Payments (intents and cards) and Notifications (provider hooks).
	Orders        *orders.Service
	Payments      *payments.Service
	Notifications *payments.Notifications
	MonthCloses   *monthclose.Service
	Invoicing     *invoicing.Service
	// Events lists events; Webhooks manages webhook endpoints.
	Events   *events.Service
	Webhooks *webhooks.Service
	// APIKeys authenticates vhp_sk_ bearer secrets and manages keys; Audit lists the audit trail.
	APIKeys *apikeys.Service
	Audit   *audit.Service
	// Balances are the centres' money: fees, balances, the ledger; Reconciler compares the
	// provider's wallets with it.
	Balances   *balances.Service
	Reconciler *balances.Reconciler
	// Payouts pays centres out (and keeps their payout accounts).
	Payouts *payouts.Service
	// Refunds gives payments back.
	Refunds *refunds.Service
	// Disputes are the card chargebacks and the centres' answers.
	Disputes *disputes.Service

	// ParseHook reads a provider notification's query (the provider adapter's parser; nil: every
	// notification is ignored).
	ParseHook func(url.Values) (psp.Notification, bool)

	// Sandbox mode only.
	TestClock     TestClock
	SandboxPages  http.Handler
	SandboxSettle func(ctx context.Context, force bool) (int, error)
	SandboxScores SandboxScores // also nil with another score partner than the sandbox's
	// ClockMoved runs at once the work a move of the test clock made due (expiries, the month
	// close, sandbox settlement; settle: also what that close submits). Nil: only SandboxSettle
	// runs, for settle.
	ClockMoved func(ctx context.Context, settle bool) error
	// SandboxAdjustWallet moves money in a sandbox provider wallet (POST /v1/sandbox/wallets/adjust).
	SandboxAdjustWallet AdjustWallet
}

// Server holds the handlers' dependencies.
type Server struct {
	// listBuffers keeps the order lists' answer buffers between requests (orders_json.go).
	listBuffers sync.Pool
	log         *slog.Logger
	metrics     *metrics
	verifier    Verifier
	idem        *idempotency.Service
	// ownIdempotency are the routes (full paths) whose handlers apply the Idempotency-Key rules
	// themselves (see idempotent).
	ownIdempotency map[string]bool
	parties        *parties.Service
	ready          func(ctx context.Context) error
	openapi        []byte
	validate       *validator.Validate
	clock          TestClock
	settle         func(ctx context.Context, force bool) (int, error)
	sepa           *sepa.Service
	// collections are the SEPA month-end debits.
	collections *collections.Service
	// sandboxScores is nil outside sandbox mode.
	sandboxScores SandboxScores

	orders        *orders.Service
	payments      *payments.Service
	notifications *payments.Notifications
	parseHook     func(url.Values) (psp.Notification, bool)

	monthCloses  *monthclose.Service
	invoicing    *invoicing.Service
	events       *events.Service
	webhooks     *webhooks.Service
	balances     *balances.Service
	refunds      *refunds.Service
	reconciler   *balances.Reconciler
	payouts      *payouts.Service
	adjustWallet AdjustWallet
	apiKeys      *apikeys.Service
	audit        *audit.Service
	disputes     *disputes.Service
	clockMoved   func(ctx context.Context, settle bool) error

	edge Edge
	// callers limits each authenticated caller, hookSources each address calling the hooks.
	callers, hookSources *limiters
	corsOrigins          map[string]bool
}

// New builds the HTTP handler of the whole API.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{
		log: d.Log, metrics: newMetrics(d.Registerer), verifier: d.Verifier, idem: d.Idempotency,
		parties: d.Parties, ready: d.Ready, openapi: d.OpenAPIJSON, validate: newValidator(), clock: d.TestClock, settle: d.SandboxSettle,
		sepa: d.SEPA, collections: d.Collections, sandboxScores: d.SandboxScores,
		orders: d.Orders, payments: d.Payments, notifications: d.Notifications, parseHook: d.ParseHook,
		monthCloses: d.MonthCloses,
		invoicing:   d.Invoicing,
		events:      d.Events, webhooks: d.Webhooks, clockMoved: d.ClockMoved, balances: d.Balances, refunds: d.Refunds, reconciler: d.Reconciler, adjustWallet: d.SandboxAdjustWallet,
		payouts: d.Payouts,
		apiKeys: d.APIKeys, audit: d.Audit, disputes: d.Disputes,
		edge: d.Edge.withDefaults(), corsOrigins: map[string]bool{},
	}
	s.callers = newLimiters(s.edge.RateLimit, s.edge.RateBurst, nil)
	s.hookSources = newLimiters(s.edge.HookRateLimit, s.edge.HookRateBurst, nil)
	for _, o := range d.CORSOrigins {
		s.corsOrigins[o] = true
	}
	if s.parseHook == nil {
		s.parseHook = func(url.Values) (psp.Notification, bool) { return psp.Notification{}, false }
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestIDs, s.accessLog, s.recovery, s.securityHeaders, s.headerSize, s.hostileInput)
	var apiCORS gin.HandlerFunc
	if len(d.CORSOrigins) > 0 {
		apiCORS = cors.New(cors.Config{
			AllowOrigins:  d.CORSOrigins,
			AllowMethods:  []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowHeaders:  []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"},
			ExposeHeaders: []string{"X-Request-Id", "Idempotent-Replayed", "Location", "Retry-After"},
			MaxAge:        time.Hour,
		})
	}
	r.Use(func(c *gin.Context) {
		// The sandbox provider's pages are the bank's, not the API: its tokenisation endpoint
		// answers any origin itself, and its 3-D Secure and mandate pages post their forms
		// with "Origin: null" (no-referrer), which the API's CORS policy would refuse.
		if strings.HasPrefix(c.Request.URL.Path, sandboxPagesPrefix) {
			c.Next()
			return
		}
		s.cors(c, apiCORS)
	})
	r.NoRoute(func(c *gin.Context) { s.writeError(c, errNotFound) })
	r.NoMethod(func(c *gin.Context) { s.writeError(c, errMethodNotAllowed) })

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", s.openAPI)
	swaggerUI := ginSwagger.WrapHandler(swaggerFiles.Handler, ginSwagger.URL("/openapi.json"), ginSwagger.PersistAuthorization(true))
	r.GET("/swagger/*any", func(c *gin.Context) {
		// gin-swagger would answer doc.json from swag's global registry, which vhupay leaves
		// empty (the document is served from the embedded OpenAPI 3 file): serve that one.
		if c.Param("any") == "/doc.json" {
			s.openAPI(c)
			return
		}
		swaggerUI(c)
	})

	if d.SandboxPages != nil {
		// The simulated provider's bank pages: HTML for a browser, no JWT.
		r.Any(sandboxPagesPrefix+"*path", s.capBody, gin.WrapH(d.SandboxPages))
	}

	s.routeHooks(r)
	// Authentication comes before the body is read: nothing is buffered for an unknown caller.
	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.readBody, s.idempotent)
	s.routeParties(v1)
	s.routeSEPA(v1)
	s.routeCollections(v1)
	s.routeOrders(v1)
	s.routePaymentIntents(v1)
	s.routeRefunds(v1)
	s.routeCards(v1)
	s.routeMonthClose(v1)
	s.routeInvoicing(v1)
	s.routeEvents(v1)
	s.routeWebhooks(v1)
	s.routeAPIKeys(v1)
	s.routeAudit(v1)
	s.routeBalances(v1)
	s.routePayouts(v1)
	s.routeReconciliations(v1)
	s.routeDisputes(v1)
	if s.clock != nil {
		s.routeSandbox(v1)
	}
	return r
}

// routes of the parties capability.
func (s *Server) routeParties(v1 *gin.RouterGroup) {
	platform := s.allow(auth.RoleAdmin, auth.RoleService)
	v1.POST("/buyers", platform, s.createBuyer)
	v1.GET("/buyers", s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService), s.listBuyers)
	v1.GET("/buyers/:id", s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService), s.getBuyer)
	v1.PATCH("/buyers/:id", s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService), s.updateBuyer)
	v1.POST("/centers", platform, s.createCenter)
	v1.GET("/centers", s.listCenters)
	v1.GET("/centers/:id", s.getCenter)
	v1.PATCH("/centers/:id", s.allow(auth.RoleCenter, auth.RoleAdmin, auth.RoleService), s.updateCenter)
}

func (s *Server) routeSandbox(v1 *gin.RouterGroup) {
	v1.GET("/sandbox/clock", s.getClock)
	v1.PUT("/sandbox/clock", s.allow(auth.RoleAdmin), s.putClock)
}

// healthz godoc
//
//	@Summary	Process alive
//	@ID		getHealth
//	@Description	Answers 200 while the process runs; checks nothing else. No authentication.
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	Health
//	@Router		/healthz [get]
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, Health{Status: "ok"}) }

// Health is the answer of the health endpoints.
type Health struct {
	Status string `json:"status" example:"ok"`
} //	@name	Health

// readyz godoc
//
//	@Summary	Database reachable
//	@ID		getReadiness
//	@Description	200 when the database answers, 503 unavailable otherwise (take the instance out of the load balancer). No authentication.
//	@Tags		operations
//	@Produce	json
//	@Produce	application/problem+json
//	@Success	200	{object}	Health
//	@Failure	503	{object}	Problem
//	@Router		/readyz [get]
func (s *Server) readyz(c *gin.Context) {
	if err := s.ready(c.Request.Context()); err != nil {
		logger(c).Warn("not ready", slog.String("err", err.Error()))
		s.writeError(c, errNotReady)
		return
	}
	c.JSON(http.StatusOK, Health{Status: "ok"})
}

func (s *Server) openAPI(c *gin.Context) { c.Data(http.StatusOK, "application/json", s.openapi) }
