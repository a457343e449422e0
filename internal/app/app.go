// Package app builds every dependency of a vhupay process from its configuration. It is the only
// package that knows every concrete type.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/storage"
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
	// MonthCloses starts and reads month closes; Jobs runs them.
	MonthCloses *monthclose.Service
	Jobs        *jobs.Queue

	scheduler *jobs.Scheduler
	handler   http.Handler
	testClock *clock.Shared
	idem      *idempotency.Service
	secrets   Secrets
}

// New opens the database, applies the migrations and wires every service.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	secrets, err := ResolveSecrets(cfg)
	if err != nil {
		return nil, err
	}
	db, err := storage.Open(ctx, cfg.DatabaseURL)
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
		Secret: secrets.JWTSecret, JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if a.Provider, err = newProvider(cfg, log); err != nil {
		_ = db.Close()
		return nil, err
	}
	a.idem = idempotency.NewService(storage.NewIdempotency(db), clock.Real{})
	a.Parties = parties.NewService(storage.NewParties(db), a.Clock)
	a.Payers = payers.NewService(storage.NewPayers(db), storage.NewParties(db), a.Provider)
	if err := a.buildMonthClose(cfg, opts); err != nil {
		_ = db.Close()
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps := httpapi.Deps{
		Log: log, Registerer: reg, Gatherer: reg, Verifier: verifier, Idempotency: a.idem,
		Parties: a.Parties, Ready: db.Ping, OpenAPIJSON: api.OpenAPIJSON, CORSOrigins: cfg.CORSOrigins,
		MonthCloses: a.MonthCloses,
	}
	if a.testClock != nil {
		deps.TestClock = a.testClock
	}
	a.handler = httpapi.New(deps)
	return a, nil
}

// newProvider builds the payment provider of the configuration.
func newProvider(cfg config.Config, log *slog.Logger) (psp.Provider, error) {
	switch cfg.PSP {
	case "mangopay":
		return mangopay.New(mangopay.Config{
			BaseURL: cfg.MangoPay.BaseURL, ClientID: cfg.MangoPay.ClientID, APIKey: cfg.MangoPay.APIKey,
			Timeout: cfg.PSPTimeout, Clock: clock.Real{}, Logger: log,
		})
	default:
		return nil, nil // the sandbox provider is wired by its own capability
	}
}

// Handler is the HTTP API.
func (a *App) Handler() http.Handler { return a.handler }

// Secrets returns the resolved secrets (for the token and demo commands).
func (a *App) Secrets() Secrets { return a.secrets }

// Run runs the background work (test clock sync, idempotency purge, the job queue, the month
// close scheduler) until ctx ends; it returns once the job queue has stopped.
func (a *App) Run(ctx context.Context) {
	if a.testClock != nil {
		go a.testClock.Follow(ctx, time.Second, a.Log)
	}
	go a.every(ctx, time.Hour, "idempotency purge", func(ctx context.Context) error {
		_, err := a.idem.Purge(ctx)
		return err
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Jobs.Run(ctx); err != nil {
			a.Log.Error("job queue stopped", "err", err)
		}
	})
	go a.scheduler.Run(ctx)
	<-ctx.Done()
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

// Close releases the database (after Run has returned).
func (a *App) Close() error { return errors.Join(a.Jobs.Close(), a.DB.Close()) }

// Secrets are the keys a process signs and fingerprints with.
type Secrets struct {
	JWTSecret      string `json:"jwt_secret"`
	FingerprintKey string `json:"fingerprint_key"`
}

// ResolveSecrets takes the secrets from the configuration; with the embedded SQLite default, a
// missing one is generated once and kept beside the database file (mode 0600), so that
// `vhupay token` signs with the secret the server checks.
func ResolveSecrets(cfg config.Config) (Secrets, error) {
	s := Secrets{JWTSecret: cfg.JWTSecret, FingerprintKey: cfg.FingerprintKey}
	if cfg.SQLitePath == "" || (s.JWTSecret != "" && s.FingerprintKey != "") {
		return s, nil
	}
	path := cfg.SQLitePath + ".secrets.json"
	var stored Secrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &stored); err != nil {
			return s, fmt.Errorf("read %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		stored = Secrets{JWTSecret: random(), FingerprintKey: random()}
		b, _ := json.MarshalIndent(stored, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return s, fmt.Errorf("keep secrets beside the database: %w", err)
		}
	default:
		return s, fmt.Errorf("read %s: %w", path, err)
	}
	if s.JWTSecret == "" {
		s.JWTSecret = stored.JWTSecret
	}
	if s.FingerprintKey == "" {
		s.FingerprintKey = stored.FingerprintKey
	}
	return s, nil
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
