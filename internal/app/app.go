// Package app builds every dependency of a vhupay process from its configuration. It is the only
// package that knows every concrete type.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vhupay/vhupay/api"
	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/audit"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/cart"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/disputes"
	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/refunds"
	"github.com/vhupay/vhupay/internal/scoring"
	"github.com/vhupay/vhupay/internal/scoring/infolegale"
	scoringsandbox "github.com/vhupay/vhupay/internal/scoring/sandbox"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// Options change how the app is built; tests use them. The zero value is production.
type Options struct {
	// BaseClock is the real clock under the sandbox test clock (default clock.Real).
	BaseClock clock.Clock
	// MonthCloseSteps replace the month close's steps of the same name (placeholders until each
	// capability plugs in its own); steps of other names run after the others, in this order.
	MonthCloseSteps []monthclose.Step
	// Jobs tunes the job queue; its zero fields take the configuration's values, then the
	// defaults (tests: fast polling and short retry delays).
	Jobs jobs.Config
	// SchedulerInterval is how often the month close scheduler reads the clock (default 2s).
	SchedulerInterval time.Duration
	// WrapProvider, when set, wraps the payment provider every service uses (fault-injection
	// tests: a provider that dies after a charge, or drops the database during a refund).
	WrapProvider func(psp.Provider) psp.Provider
	// Webhooks overrides the delivery settings (tests: short retry delays, a resolver, a clock);
	// its zero fields keep the defaults. Store, Clock, Guard.Sandbox and Render are always the app's.
	Webhooks webhooks.Config
	// StatementHook is called between the statements of every unit of work (fault-injection
	// tests: a crash at any point of a payment; see storage.StatementHook). Production: nil.
	StatementHook storage.StatementHook
}

// App is a built vhupay process.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	DB      *storage.DB
	Clock   clock.Clock
	Parties *parties.Service
	// Provider is the payment provider: the sandbox or the MangoPay client.
	Provider psp.Provider
	Payers   *payers.Service
	// Scoring is the score partner; SandboxScores is the sandbox partner (nil with Infolegale).
	Scoring       scoring.Partner
	SandboxScores *scoringsandbox.Partner
	SEPA          *sepa.Service
	Orders        *orders.Service
	// Payments pays orders (card built in; SEPA and invoice plug in through Config.Methods) and
	// manages cards. Without a provider, card operations answer psp_unavailable.
	Payments *payments.Service
	// Collections debits the SEPA payments of each closed month and settles the debits.
	Collections *collections.Service
	// Notifications applies provider hooks in the background.
	Notifications *payments.Notifications
	// MonthCloses starts and reads month closes; Jobs runs them.
	MonthCloses *monthclose.Service
	Jobs        *jobs.Queue
	// Invoicing runs end-of-month invoicing (accounts, vhu_invoice, delivery notes, statements).
	Invoicing *invoicing.Service
	// Events lists events; Webhooks delivers them to integrators' endpoints.
	Events *events.Service
	// Balances are the centres' money: fees, balances, the ledger.
	Balances *balances.Service
	// Disputes records card chargebacks and the centres' answers.
	Disputes *disputes.Service
	// Transfers moves the centres' earnings between wallets at the provider.
	Transfers *balances.Transfers
	// Refunds gives payments back.
	Refunds *refunds.Service
	// Reconciler compares the provider's wallets with the ledger.
	Reconciler *balances.Reconciler
	// Payouts pays centres out: on demand, every Monday, and their outcome.
	Payouts  *payouts.Service
	Webhooks *webhooks.Service
	// APIKeys manages and authenticates API keys; Audit reads the audit trail.
	APIKeys *apikeys.Service
	Audit   *audit.Service

	scheduler *jobs.Scheduler
	handler   http.Handler
	testClock *clock.Shared
	sandbox   *sandbox.Provider
	idem      *idempotency.Service
	secrets   Secrets
}

// New opens the database, applies the migrations and wires every service.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	secrets, err := ResolveSecrets(cfg)
	if err != nil {
		return nil, err
	}
	dbOpts := []storage.Option{storage.WithMaxConns(cfg.DBMaxConns), storage.WithReadConcurrency(cfg.DBReadConcurrency)}
	if opts.StatementHook != nil {
		dbOpts = append(dbOpts, storage.WithStatementHook(opts.StatementHook))
	}
	db, err := storage.Open(ctx, cfg.DatabaseURL, dbOpts...)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, log); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := jobs.Migrate(ctx, db, cfg.DatabaseURL, log); err != nil {
		_ = db.Close()
		return nil, err
	}
	a := &App{Config: cfg, Log: log, DB: db, secrets: secrets}
	db.SetRenderer(httpapi.Render)
	db.SetEventJob(func(ids ...string) txn.Job { return webhooks.FanoutOf(ids...) })
	base := opts.BaseClock
	if base == nil {
		base = clock.Real{}
	}
	a.Clock = base
	if cfg.Sandbox() {
		a.testClock = clock.NewShared(base, storage.NewClockOffsets(db))
		if err := a.testClock.Load(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
		a.Clock = a.testClock
	}

	verifier, err := auth.NewVerifier(ctx, auth.VerifierConfig{
		Secret: secrets.JWTSecret, JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, MaxLifetime: cfg.JWTMaxLifetime,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	budget := providerBudget(cfg, db, a)
	switch cfg.PSP {
	case "mangopay":
		mc := mangopay.Config{
			BaseURL: cfg.MangoPay.BaseURL, ClientID: cfg.MangoPay.ClientID, APIKey: cfg.MangoPay.APIKey,
			Timeout: cfg.PSPTimeout, Clock: clock.Real{}, Logger: log,
		}
		if budget != nil {
			mc.Pacer = budget
		}
		if a.Provider, err = mangopay.New(mc); err != nil {
			_ = db.Close()
			return nil, err
		}
	default:
		a.sandbox = sandbox.New(storage.NewSandboxPSP(db), a.Clock, cfg.PublicURL,
			sandbox.WithLogger(log), sandbox.WithFingerprintKey([]byte(secrets.FingerprintKey)),
			sandbox.WithNotifier(a.notify))
		a.Provider = a.sandbox
	}
	if opts.WrapProvider != nil {
		a.Provider = opts.WrapProvider(a.Provider)
	}
	a.idem = idempotency.NewService(storage.NewIdempotency(db), clock.Real{}, []byte(secrets.FingerprintKey))
	a.Parties = parties.NewService(storage.NewParties(db), a.Clock).WithDefaultFeeRate(cfg.PlatformFeeBPS)
	a.Payers = payers.NewService(storage.NewPayers(db), storage.NewParties(db), a.Provider)
	if err := a.wireSEPA(cfg, log); err != nil {
		_ = db.Close()
		return nil, err
	}
	var orderOpts []orders.Option
	if cfg.Sandbox() {
		orderOpts = append(orderOpts, orders.WithBuyerLines())
	}
	if cfg.CartSecret != "" {
		carts, err := cart.NewVerifier(cfg.CartSecret, clock.Real{})
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		orderOpts = append(orderOpts, orders.WithCarts(carts))
	}
	a.Orders = orders.NewService(storage.NewOrders(db), storage.NewParties(db), a.Clock, orderOpts...)
	a.Invoicing = invoicing.NewService(storage.NewInvoicing(db), storage.NewOrders(db), storage.NewParties(db), a.Clock)
	if a.Provider == nil {
		log.Warn("no payment provider: card payments and card registrations answer 502 psp_unavailable")
	}
	orphans := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vhupay_orphan_payins_refunded_total",
		Help: "Succeeded card pay-ins that no payment intent keeps, found by the reconcile sweep and refunded.",
	})
	orphanCents := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "vhupay_orphan_payins_refunded_cents_total",
		Help: "Amount (euro cents) of the orphan card pay-ins refunded by the reconcile sweep.",
	})
	storage.NewMonthGates(db, base, cfg.Sandbox()) // the payment units' month gates
	storage.NewEarnings(db)                        // and their ledger postings of card successes
	a.Payments = payments.NewService(payments.Config{
		Metrics: orphanMetrics{count: orphans, cents: orphanCents},
		Store:   storage.NewPayments(db), Orders: storage.NewPayments(db), Payers: a.Payers, Provider: a.Provider,
		Clock: a.Clock, Log: log, IntentExpiry: cfg.IntentExpiry, Refunds: lateRefunds{a},
		Methods: map[payments.Method]payments.MethodHandler{
			payments.MethodSEPADebit:  a.SEPA.DebitMethod(db.SEPAUnits()),
			payments.MethodVHUInvoice: a.Invoicing.Method(db.InvoicingUnits()),
		},
		OneTrip: db.SEPAOneTrip(a.SEPA.ScoreRuleAt), // PostgreSQL: a SEPA payment in two round trips
	})
	var collectionsProvider collections.Provider = a.Provider
	closeWorkers, closeBatch := 0, 0 // collections' defaults: 4 calls at a time (MangoPay's rate limits), batches of 200
	if a.sandbox != nil && budget != nil {
		collectionsProvider = pacedCollectionsProvider{Provider: a.Provider, pacer: budget}
	} else if a.sandbox != nil {
		// The sandbox provider is in this process, on this database: no rate limit to honour,
		// and its calls (one commit each) overlap in the database.
		closeWorkers, closeBatch = sandboxCloseWorkers, sandboxCloseBatch
	}
	a.Collections = collections.NewService(collections.Config{Store: storage.NewCollections(db), Buyers: storage.NewParties(db), SEPA: a.SEPA, Payers: a.Payers,
		Provider: collectionsProvider, Clock: a.Clock, Log: log, CreditorID: cfg.SEPACreditorID, RetryAfter: cfg.SEPARetryAfter,
		Workers: closeWorkers, Batch: closeBatch})
	disputeProvider, _ := a.Provider.(disputes.Provider)
	a.Disputes = disputes.NewService(disputes.Config{Store: storage.NewDisputes(db), Provider: disputeProvider,
		Intents: storage.NewPayments(db), Orders: storage.NewOrders(db), Clock: a.Clock, Log: log})
	a.Events = events.NewService(storage.NewEvents(db), a.Clock)
	a.Balances = balances.NewService(storage.NewBalances(db), storage.NewParties(db), a.Clock)
	mover, _ := a.Provider.(balances.MoneyMover)
	a.Transfers = balances.NewTransfers(storage.NewCenterTransfers(db), storage.NewParties(db), a.Payers, mover, a.Clock, log)
	refunder, _ := a.Provider.(refunds.Provider)
	a.Refunds = refunds.NewService(refunds.Config{Store: storage.NewRefunds(db), Provider: refunder, Payers: a.Payers,
		Clock: a.Clock, Log: log, Jobs: true})
	pc := payouts.Config{Store: storage.NewPayouts(db), Centers: storage.NewParties(db), Payees: a.Transfers, Clock: a.Clock,
		Log: log, FingerprintKey: []byte(secrets.FingerprintKey), Minimum: cfg.PayoutMinimum}
	if p, ok := a.Provider.(payouts.Provider); ok {
		pc.Provider = p
	}
	a.Payouts = payouts.NewService(pc)
	a.Notifications = payments.NewNotifications(a.Payments, payments.NotificationHandlers{Mandates: mandateHandler{a.SEPA},
		DirectDebits: a.Collections, Repudiations: repudiations{collections: a.Collections, disputes: a.Disputes},
		Payouts: a.Payouts, Disputes: a.Disputes}, storage.NewNotifications(db), log)
	wallets, _ := a.Provider.(balances.WalletReader)
	a.Reconciler = balances.NewReconciler(storage.NewReconciliations(db), wallets, a.Clock, log)
	wc := opts.Webhooks
	wc.Store, wc.Clock, wc.Render, wc.Log = storage.NewWebhooks(db), a.Clock, httpapi.Render, log
	wc.Guard.Sandbox = cfg.Sandbox()
	a.Webhooks = webhooks.NewService(wc)
	a.APIKeys = apikeys.NewService(storage.NewAPIKeys(db), storage.NewParties(db), a.Clock, log)
	a.Audit = audit.NewService(storage.NewAudit(db))
	if err := a.buildMonthClose(cfg, opts); err != nil {
		_ = db.Close()
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), orphans, orphanCents,
		newStrandedCollector(a.MonthCloses, log))
	deps := httpapi.Deps{
		Log: log, Registerer: reg, Gatherer: reg, Verifier: verifier, Idempotency: a.idem,
		Parties: a.Parties, Ready: db.Ping, OpenAPIJSON: api.OpenAPIJSON, CORSOrigins: cfg.CORSOrigins,
		SEPA: a.SEPA, Collections: a.Collections, Orders: a.Orders, Payments: a.Payments, Notifications: a.Notifications, ParseHook: mangopay.ParseHook, MonthCloses: a.MonthCloses,
		Invoicing: a.Invoicing, Events: a.Events, Webhooks: a.Webhooks, Balances: a.Balances, Reconciler: a.Reconciler, Payouts: a.Payouts,
		Refunds: a.Refunds, APIKeys: a.APIKeys, Audit: a.Audit, Disputes: a.Disputes,
		Edge: httpapi.Edge{MaxHeaderBytes: cfg.MaxHeaderBytes, RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst,
			HookRateLimit: cfg.HookRateLimit, HookRateBurst: cfg.HookRateBurst, ReturnURLOrigins: cfg.ReturnURLOrigins, Sandbox: cfg.Sandbox()},
	}
	if a.testClock != nil {
		deps.TestClock = a.testClock
		if a.SandboxScores != nil {
			deps.SandboxScores = sandboxScores{a.SandboxScores}
		}
	}
	if a.sandbox != nil {
		deps.SandboxPages = a.sandbox.Pages()
		deps.SandboxSettle = a.sandbox.Settle
		deps.ClockMoved = a.clockMoved
		deps.SandboxAdjustWallet = a.adjustSandboxWallet
	}
	a.handler = httpapi.New(deps)
	return a, nil
}

// notify receives the sandbox provider's notifications, as MangoPay's hooks would arrive, and
// applies them like the hook endpoint does.
//
// It applies them before the sandbox answers the browser (a fast hook, as MangoPay's usually
// are), so that the page a buyer returns to already shows the outcome: a signed mandate is
// submitted and its score checked, a 3-D Secure payment succeeded or failed.
func (a *App) notify(ctx context.Context, n psp.Notification) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.Notifications.Apply(ctx, n); err != nil {
		a.Log.Warn("sandbox notification not applied", "kind", n.Kind, "event", n.Event, "resource_id", n.ResourceID, "err", err)
	}
}

// wireSEPA builds the score partner of the configuration and the SEPA service.
func (a *App) wireSEPA(cfg config.Config, log *slog.Logger) error {
	switch cfg.Scoring {
	case "infolegale":
		c, err := infolegale.New(infolegale.Config{BaseURL: cfg.Infolegale.BaseURL, APIKey: cfg.Infolegale.APIKey})
		if err != nil {
			return err
		}
		a.Scoring = c
	default:
		a.SandboxScores = scoringsandbox.New(storage.NewSandboxScores(a.DB))
		a.Scoring = a.SandboxScores
	}
	var provider sepa.Provider
	if a.Provider != nil {
		provider = a.Provider
	}
	svc, err := sepa.NewService(storage.NewSEPA(a.DB), storage.NewParties(a.DB), a.Payers, provider, a.Scoring,
		a.Clock, log, sepa.DefaultConfig([]byte(a.secrets.FingerprintKey)))
	if err != nil {
		return err
	}
	a.SEPA = svc
	a.DB.SetSEPAStanding(svc.Standing, svc.CeilingPolicy().Initial) // the sepa.* events of the units that change a standing
	return nil
}

// Handler is the HTTP API.
func (a *App) Handler() http.Handler { return a.handler }

// Secrets returns the resolved secrets (for the token and demo commands).
func (a *App) Secrets() Secrets { return a.secrets }

// Run runs the background work (test clock sync, sandbox settlement, the job queue with its
// periodic work — see periodicWork —, the month close scheduler) until ctx ends; it returns once
// every part of it has stopped, so that Close can release the database.
func (a *App) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if a.testClock != nil {
		wg.Go(func() { a.testClock.Follow(ctx, time.Second, a.Log) })
	}
	if a.sandbox != nil {
		// Submitted debits settle once the (test) clock is 2 days past their submission; the
		// dispute card's payments are disputed a day after, and answered disputes decided.
		wg.Go(func() {
			a.every(ctx, 2*time.Second, "sandbox settlement", func(ctx context.Context) error {
				if _, err := a.sandbox.Settle(ctx, false); err != nil {
					return err
				}
				_, err := a.sandbox.SettleDisputes(ctx, false)
				return err
			})
		})
	}
	wg.Go(func() {
		if err := a.Jobs.Run(ctx); err != nil {
			a.Log.Error("job queue stopped", "err", err)
		}
	})
	wg.Go(func() { a.scheduler.Run(ctx) })
	wg.Wait()
}

func (a *App) every(ctx context.Context, d time.Duration, name string, fn func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error(name+" failed", "err", err)
			}
		}
	}
}

// Close releases the job queue and the database (after Run has returned). Provider
// notifications not applied yet are kept: the next process applies them.
func (a *App) Close() error {
	return errors.Join(a.Jobs.Close(), a.DB.Close())
}

// Secrets are the keys a process signs and fingerprints with.
type Secrets struct {
	JWTSecret      string `json:"jwt_secret"`
	FingerprintKey string `json:"fingerprint_key"`
}

// SecretsPath is where the secrets made up for the embedded SQLite default are kept ("" with
// another database).
func SecretsPath(cfg config.Config) string {
	if cfg.SQLitePath == "" {
		return ""
	}
	return cfg.SQLitePath + ".secrets.json"
}

// ResolveSecrets takes the secrets from the configuration; with the embedded SQLite default, a
// missing one is generated once and kept beside the database file (mode 0600), so that
// `vhupay token` signs with the secret the server checks.
func ResolveSecrets(cfg config.Config) (Secrets, error) {
	s := Secrets{JWTSecret: cfg.JWTSecret, FingerprintKey: cfg.FingerprintKey}
	// With a JWKS, tokens come from the identity provider: no local HS256 secret is made up.
	needJWT := s.JWTSecret == "" && cfg.JWKSURL == ""
	if cfg.SQLitePath == "" || (!needJWT && s.FingerprintKey != "") {
		return s, nil
	}
	path := SecretsPath(cfg)
	var stored Secrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &stored); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if stored.JWTSecret, err = auth.NewSecret(); err != nil {
			return s, err
		}
		if stored.FingerprintKey, err = auth.NewSecret(); err != nil {
			return s, err
		}
		b, _ := json.MarshalIndent(stored, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return s, fmt.Errorf("keep secrets beside the database: %w", err)
		}
	default:
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	if needJWT {
		s.JWTSecret = stored.JWTSecret
	}
	if s.FingerprintKey == "" {
		s.FingerprintKey = stored.FingerprintKey
	}
	return s, nil
}

// sandboxScores adapts the sandbox score partner to the HTTP layer's port, so that httpapi does
// not import an adapter.
type sandboxScores struct{ p *scoringsandbox.Partner }

func (s sandboxScores) Set(ctx context.Context, siren string, a httpapi.SandboxAnswer) (httpapi.SandboxAnswer, error) {
	got, err := s.p.Set(ctx, siren, scoringsandbox.Answer{Value: a.Value, Unavailable: a.Unavailable})
	return httpapi.SandboxAnswer{Value: got.Value, Unavailable: got.Unavailable}, err
}
