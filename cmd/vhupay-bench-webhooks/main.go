// Command vhupay-bench-webhooks measures the webhook fan-out (docs/benchmarks.md):
//
//	go run ./cmd/vhupay-bench-webhooks [-events 10000] [-endpoints 3] [-postgres URL] [-timeout 5m]
//
// It creates a fresh PostgreSQL database, builds and runs vhupay in this process (sandbox mode,
// so that http:// loopback receivers are allowed; job queue running), starts a receiver on a
// loopback port that answers 200 at once, and creates -endpoints platform endpoints on it that
// subscribe to every event. It then writes -events events as the units of work write them
// (txn.Tx.Emit: the event and its event outbox row in the unit's transaction, 500 per unit; the
// job queue's dispatcher turns the rows into fan-out jobs) and
// waits until the receiver has had every (event, endpoint) delivery. It prints the time from the
// first event's commit to the last delivery, the deliveries per second and any duplicate
// deliveries, then drops the database (unless -keep).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/benchkit"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

func main() {
	app.SetGCDefaults(os.Getenv) // as cmd/vhupay: the server measured runs with its defaults
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vhupay-bench-webhooks:", err)
		os.Exit(1)
	}
}

type options struct {
	postgres  string
	events    int
	endpoints int
	perUnit   int
	timeout   time.Duration
	keep      bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.postgres, "postgres", envOr("VHUPAY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL URL of a database to connect to for creating the benchmark database (env VHUPAY_BENCH_POSTGRES_URL)")
	flag.IntVar(&o.events, "events", 10000, "events to fan out")
	flag.IntVar(&o.endpoints, "endpoints", 3, "endpoints, each subscribed to every event")
	flag.IntVar(&o.perUnit, "per-unit", 500, "events written per unit of work")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.BoolVar(&o.keep, "keep", false, "keep the database")
	flag.Parse()
	return o
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// receiver counts the deliveries of each (endpoint path, event id).
type receiver struct {
	mu         sync.Mutex
	seen       map[string]int
	want       int
	duplicates atomic.Int64
	last       atomic.Int64 // unix nanoseconds of the last new delivery
	done       chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	b, _ := io.ReadAll(req.Body)
	_ = json.Unmarshal(b, &body)
	w.WriteHeader(http.StatusOK)
	k := req.URL.Path + " " + body.ID
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[k]++
	if r.seen[k] > 1 {
		r.duplicates.Add(1)
		return
	}
	r.last.Store(time.Now().UnixNano())
	if len(r.seen) == r.want {
		close(r.done)
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func run() error {
	o := parseFlags()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scratch, err := benchkit.ScratchDatabase(ctx, o.postgres, "vhupay_hooks_", o.keep)
	if err != nil {
		return err
	}
	defer scratch.Close()

	rcv := &receiver{seen: map[string]int{}, want: o.events * o.endpoints, done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: rcv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	env := map[string]string{
		"VHUPAY_DATABASE_URL": scratch.URL, "VHUPAY_JWT_SECRET": benchkit.RandomHex(24), "VHUPAY_ADDR": "127.0.0.1:0",
		"VHUPAY_PSP": "sandbox", "VHUPAY_SCORING": "sandbox", "VHUPAY_RATE_LIMIT": "off", "VHUPAY_HOOK_RATE_LIMIT": "off",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	runDone := make(chan struct{})
	go func() { a.Run(ctx); close(runDone) }()
	defer func() { cancel(); <-runDone }()

	platform := auth.Principal{Subject: "bench", Role: auth.RoleAdmin}
	for i := range o.endpoints {
		if _, err := a.Webhooks.Create(ctx, platform, webhooks.CreateInput{
			URL: fmt.Sprintf("http://%s/endpoint-%d", ln.Addr(), i), EnabledEvents: []string{webhooks.All}}); err != nil {
			return fmt.Errorf("create endpoint: %w", err)
		}
	}

	began := time.Now()
	var firstCommit time.Time
	object := map[string]any{"id": "bench", "object": "bench"}
	for written := 0; written < o.events; {
		n := min(o.perUnit, o.events-written)
		err := a.DB.Units().InTx(ctx, func(tx txn.Tx) error {
			for range n {
				if err := tx.Emit(ctx, txn.Event{Type: "order.confirmed", Object: object, At: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("emit: %w", err)
		}
		if firstCommit.IsZero() {
			firstCommit = time.Now()
		}
		written += n
	}
	wrote := time.Since(began)
	fmt.Printf("wrote %d events in %s (%d per unit of work)\n", o.events, wrote.Round(time.Millisecond), o.perUnit)

	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	deadline := time.After(o.timeout)
	for waiting := true; waiting; {
		select {
		case <-rcv.done:
			waiting = false
		case <-progress.C:
			fmt.Printf("  %s: %d of %d deliveries\n", time.Since(firstCommit).Round(time.Second), rcv.count(), rcv.want)
		case <-deadline:
			return fmt.Errorf("only %d of %d deliveries after %s", rcv.count(), rcv.want, o.timeout)
		}
	}
	took := time.Unix(0, rcv.last.Load()).Sub(firstCommit)
	fmt.Printf("\n%d events × %d endpoints = %d deliveries: the last %s after the first event's commit (%.0f deliveries/s), "+
		"%s after the first write; %d duplicate deliveries; goal ≤ 60 s\n",
		o.events, o.endpoints, rcv.want, took.Round(time.Millisecond), float64(rcv.want)/took.Seconds(),
		time.Unix(0, rcv.last.Load()).Sub(began).Round(time.Millisecond), rcv.duplicates.Load())
	return nil
}
