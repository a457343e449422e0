package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/config"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve answers on the configured address, prints how to start, and drains and returns cleanly
// when its context ends (what SIGTERM does through signal.NotifyContext in main).
func TestServeShutsDownGracefully(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		addr := freeAddr(t)
		env := map[string]string{
			"VHUPAY_DATABASE_URL": storagetest.URL(t, b),
			"VHUPAY_JWT_SECRET":   "test-secret-test-secret-test-secret-0123",
			"VHUPAY_ADDR":         addr,
		}
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr) }()
		var resp *http.Response
		var err error
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if resp, err = http.Get("http://" + addr + "/readyz"); err == nil {
				break
			}
		}
		if err != nil {
			cancel()
			t.Fatalf("vhupay did not answer: %v\n%s", err, stderr.String())
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/readyz = %d", resp.StatusCode)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
		out := stdout.String()
		for _, want := range []string{"Swagger UI:", "/swagger/index.html", "vhupay token --role admin"} {
			if !strings.Contains(out, want) {
				t.Errorf("the banner lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(stderr.String(), "shutting down") {
			t.Errorf("no shutdown log line:\n%s", stderr.String())
		}
	})
}

// With the embedded default, token signs with the secret kept beside the database, which the
// server then accepts; demo creates a buyer and a centre and prints their tokens.
func TestTokenAndDemoOnTheEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"VHUPAY_DATABASE_URL": "sqlite://" + filepath.Join(dir, "vhupay.db")}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "--role", "buyer"}, getenv, &out, &errOut); err == nil {
		t.Fatal("token --role buyer without --org should fail")
	}
	// No server database here yet: token refuses rather than sign with a secret made up now.
	err := run(context.Background(), []string{"token", "--role", "admin"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "no server database here") || !strings.Contains(err.Error(), "VHUPAY_JWT_SECRET") {
		t.Fatalf("token without a server database: err = %v, output %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "vhupay.db.secrets.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("token made a secret up: %v", err)
	}
	cfg0, _ := config.Load(getenv)
	if _, err := app.ResolveSecrets(cfg0); err != nil { // what `vhupay serve` does at start
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"token", "--role", "admin"}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := app.ResolveSecrets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Secret: secrets.JWTSecret, Issuer: "vhupay", Audience: "vhupay-api"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(token); err != nil || p.Role != auth.RoleAdmin {
		t.Fatalf("the printed token does not verify with the kept secret: %+v %v", p, err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"demo"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"demo buyer:  byr_", "demo centre: ctr_", "buyer token:", "centre token:", "admin token:",
		"VHUPAY_CORS_ORIGINS=http://127.0.0.1:5173", "cd docs/example-spa && npm ci && npm run dev",
		"http://127.0.0.1:5173/#api=http%3A%2F%2F127.0.0.1%3A8080&token=ey"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"migrate", "status"}, getenv, &out, &errOut); err != nil || !strings.Contains(out.String(), "00001") {
		t.Errorf("migrate status: %v\n%s", err, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
