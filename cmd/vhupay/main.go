// Command vhupay serves the vhupay payments API and runs its operator commands:
//
//	vhupay [serve]                      serve the API (migrations are applied at start)
//	vhupay migrate up|status            apply or list the database migrations
//	vhupay token --role R [--org ID] [--sub S] [--ttl 24h]
//	                                    print a JWT signed with the configured secret
//	vhupay demo                         create a demo buyer and centre and print tokens for them
//	vhupay month-close --month YYYY-MM  start or resume a month's close and wait for its end
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/netutil"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/storage"
)

func main() {
	app.SetGCDefaults(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vhupay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(cfg, stderr)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		return migrate(ctx, cfg, log, args, stdout)
	case "token":
		return token(cfg, args, stdout, stderr)
	case "demo":
		return demo(ctx, cfg, log, stdout)
	case "month-close":
		return monthClose(ctx, cfg, log, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  vhupay [serve]
  vhupay migrate up|status
  vhupay token --role buyer|center|admin|service [--org ID] [--sub S] [--ttl 24h]
  vhupay demo
  vhupay month-close --month YYYY-MM`

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: a.Handler(),
		// Above the API's own cap (431 as a problem document), so that Go's plain-text 431 only
		// answers the grossly oversized.
		MaxHeaderBytes:    2 * cfg.MaxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	bg, stopBG := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { a.Run(bg); close(ran) }()
	// Stop the background work (job queue, scheduler) and wait for it before a.Close releases
	// the database under it.
	defer func() { stopBG(); <-ran }()

	fmt.Fprintf(stdout, "vhupay listening on http://%s (database: %s, provider: %s)\n", ln.Addr(), storage.Describe(cfg.DatabaseURL), cfg.PSP)
	fmt.Fprintf(stdout, "  Swagger UI:  %s/swagger/index.html\n", cfg.PublicURL)
	fmt.Fprintf(stdout, "  OpenAPI:     %s/openapi.json\n", cfg.PublicURL)
	fmt.Fprintf(stdout, "  A token:     go run ./cmd/vhupay token --role admin   (or: go run ./cmd/vhupay demo)\n")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listen opens the API's listener, serving at most cfg.MaxConnections connections at once
// (further ones wait in the kernel's backlog until one closes).
func listen(cfg config.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, cfg.MaxConnections), nil
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return errors.New("usage: vhupay migrate up|status")
	}
	db, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "up" {
		if err := db.Migrate(ctx, log); err != nil {
			return err
		}
		if err := jobs.Migrate(ctx, db, cfg.DatabaseURL, log); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
	}
	return db.MigrationStatus(ctx, stdout)
}

func token(cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "buyer, center, admin or service")
	org := fs.String("org", "", "buyer id (role buyer) or centre id (role center)")
	sub := fs.String("sub", "", "user id (default: <role>-cli)")
	ttl := fs.Duration("ttl", 24*time.Hour, "validity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := auth.Role(*role)
	if !r.Valid() {
		return errors.New("--role must be buyer, center, admin or service")
	}
	if (r == auth.RoleBuyer || r == auth.RoleCenter) && *org == "" {
		return fmt.Errorf("--org is required for role %s", r)
	}
	if *sub == "" {
		*sub = *role + "-cli"
	}
	if path := app.SecretsPath(cfg); cfg.JWTSecret == "" && cfg.JWKSURL == "" && path != "" {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			// Making a secret up here would sign a token no server accepts.
			return fmt.Errorf("no server database here (%s has no secret beside it, %s): run `vhupay token` in the server's directory "+
				"with its VHUPAY_DATABASE_URL, start `vhupay serve` here first, or set VHUPAY_JWT_SECRET to the server's secret", cfg.DatabaseURL, path)
		}
	}
	secrets, err := app.ResolveSecrets(cfg)
	if err != nil {
		return err
	}
	if secrets.JWTSecret == "" {
		return errors.New("no HS256 secret configured (VHUPAY_JWT_SECRET): tokens come from your identity provider")
	}
	t, err := auth.Sign(secrets.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, auth.Principal{Subject: *sub, Role: r, Org: *org}, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, t)
	return nil
}

func demo(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Parties.CreateBuyer(ctx, parties.NewBuyer{Name: "Garage Démo SARL", SIREN: "812345676", Email: "demo@garage.example",
		Address:             parties.Address{Line1: "1 rue de la Démo", PostalCode: "69007", City: "Lyon", Country: "FR"},
		LegalRepresentative: &parties.Representative{FirstName: "Camille", LastName: "Durand"}})
	if errors.Is(err, parties.ErrBuyerExists) {
		return errors.New("the demo buyer already exists in this database; use `vhupay token` for new tokens")
	}
	if err != nil {
		return err
	}
	c, err := a.Parties.CreateCenter(ctx, parties.NewCenter{Name: "Centre VHU Démo", SIRET: "81234567600017", Email: "demo@cvhu.example",
		Address: parties.Address{Line1: "2 route des Casses", PostalCode: "69100", City: "Villeurbanne", Country: "FR"},
		LegalRepresentative: &parties.Representative{FirstName: "Louis", LastName: "Bernard", Email: "louis.bernard@cvhu.example",
			Birthday: time.Date(1970, 3, 14, 0, 0, 0, 0, time.UTC), Nationality: "FR", CountryOfResidence: "FR"}})
	if errors.Is(err, parties.ErrCenterExists) {
		return errors.New("the demo centre already exists in this database; use `vhupay token` for new tokens")
	}
	if err != nil {
		return err
	}
	now := time.Now()
	sign := func(p auth.Principal) string {
		t, err := auth.Sign(a.Secrets().JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, p, now, 24*time.Hour)
		if err != nil {
			return "(cannot sign: " + err.Error() + ")"
		}
		return t
	}
	buyerToken := sign(auth.Principal{Subject: "demo-buyer-user", Role: auth.RoleBuyer, Org: b.ID})
	centerToken := sign(auth.Principal{Subject: "demo-center-user", Role: auth.RoleCenter, Org: c.ID})
	fmt.Fprintf(stdout, "demo buyer:  %s (%s)\ndemo centre: %s (%s)\n\n", b.ID, b.Name, c.ID, c.Name)
	fmt.Fprintf(stdout, "buyer token:\n%s\n\ncentre token:\n%s\n\nadmin token:\n%s\n",
		buyerToken, centerToken, sign(auth.Principal{Subject: "demo-admin", Role: auth.RoleAdmin}))
	printExampleApp(stdout, cfg, buyerToken, centerToken)
	return nil
}

// exampleAppOrigin is where the reference front end's dev server listens (docs/example-spa).
const exampleAppOrigin = "http://127.0.0.1:5173"

// printExampleApp says how to open the reference front end as the demo buyer and centre.
func printExampleApp(w io.Writer, cfg config.Config, buyerToken, centerToken string) {
	link := func(token string) string {
		return exampleAppOrigin + "/#" + url.Values{"api": {cfg.PublicURL}, "token": {token}}.Encode()
	}
	fmt.Fprintf(w, "\nThe reference front end (docs/example-spa), in French:\n")
	if !slices.Contains(cfg.CORSOrigins, exampleAppOrigin) {
		fmt.Fprintf(w, "  1. serve vhupay with VHUPAY_CORS_ORIGINS=%s (restart it with that variable)\n", exampleAppOrigin)
	} else {
		fmt.Fprintf(w, "  1. vhupay allows it already (VHUPAY_CORS_ORIGINS)\n")
	}
	fmt.Fprintf(w, "  2. cd docs/example-spa && npm ci && npm run dev\n")
	fmt.Fprintf(w, "  3. open, as the garage:\n     %s\n     as the centre:\n     %s\n", link(buyerToken), link(centerToken))
}

// monthClose starts or resumes a month's close and waits for it to complete or fail. The work
// runs in the job queue: this process works it too (so nothing else needs to run), and any
// server on the same database may take part; the close still runs exactly once.
func monthClose(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("month-close", flag.ContinueOnError)
	fs.SetOutput(stderr)
	month := fs.String("month", "", "the month to close, YYYY-MM (Europe/Paris)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *month == "" || fs.NArg() > 0 {
		return errors.New("usage: vhupay month-close --month YYYY-MM")
	}
	if _, _, err := clock.MonthBounds(*month); err != nil {
		return fmt.Errorf("--month %q: %w", *month, err)
	}
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	first := true
	out := newCloseReporter(stdout)
	c, _, err := a.CloseMonth(ctx, *month, func(c monthclose.MonthClose, outcome monthclose.Outcome) {
		if first {
			first = false
			switch outcome {
			case monthclose.Started:
				out.message(fmt.Sprintf("started the close of %s", c.Month))
			case monthclose.Resumed:
				out.message(fmt.Sprintf("resumed the failed close of %s", c.Month))
			default:
				out.message(fmt.Sprintf("the close of %s exists (%s, started %s)", c.Month, c.Status, c.StartedAt.Format(time.RFC3339)))
			}
		}
		out.report(c)
	})
	if out.drawing { // interrupted: keep the last bar
		fmt.Fprintln(stdout)
	}
	if errors.Is(err, monthclose.ErrMonthNotEnded) {
		return fmt.Errorf("%s has not ended yet (the clock says %s)", *month, a.Clock.Now().In(clock.Paris()).Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	if c.Status == monthclose.StatusFailed {
		return fmt.Errorf("the close of %s failed: %s (run this command again to resume it)", c.Month, c.LastError)
	}
	fmt.Fprintf(stdout, "the close of %s is completed: %d score checks, %d collections, %d statements, %d ceiling reviews\n",
		c.Month, c.ScoreChecks, c.Collections, c.Statements, c.CeilingReviews)
	return nil
}

// progressLine says where a close stands: "2026-11 running: refresh_scores 4, collections 1200/20000
// (run 2)".
func progressLine(c monthclose.MonthClose) string {
	var steps []string
	for _, s := range c.Steps {
		switch {
		case s.Completed:
			steps = append(steps, fmt.Sprintf("%s %d", s.Name, s.Count))
		case s.Total > 0 && s.Runs > 1:
			steps = append(steps, fmt.Sprintf("%s %d/%d (run %d)", s.Name, s.Done, s.Total, s.Runs))
		case s.Total > 0:
			steps = append(steps, fmt.Sprintf("%s %d/%d", s.Name, s.Done, s.Total))
		case s.Runs > 1:
			steps = append(steps, fmt.Sprintf("%s (run %d)", s.Name, s.Runs))
		default:
			steps = append(steps, s.Name+" (running)")
		}
	}
	line := c.Month + " " + string(c.Status)
	if len(steps) > 0 {
		line += ": " + strings.Join(steps, ", ")
	}
	if c.LastError != "" && c.Status == monthclose.StatusRunning {
		line += " — last attempt failed, retrying later: " + c.LastError
	}
	return line
}
