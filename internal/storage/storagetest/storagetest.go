// Package storagetest gives tests fresh, migrated databases: always an embedded SQLite file, and
// PostgreSQL when VHUPAY_TEST_POSTGRES_URL is set (for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable). Each test package migrates one
// PostgreSQL template database once; every test gets its own copy, dropped when the test ends, and
// Main drops the template when the package's tests end.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/storage"
)

// EnvPostgres names the variable holding an admin URL of the test PostgreSQL server.
const EnvPostgres = "VHUPAY_TEST_POSTGRES_URL"

// Backend is a database kind tests run on.
type Backend string

// The backends.
const (
	SQLite   Backend = storage.SQLite
	Postgres Backend = storage.Postgres
)

// Backends returns SQLite, plus PostgreSQL when VHUPAY_TEST_POSTGRES_URL is set.
func Backends() []Backend {
	if os.Getenv(EnvPostgres) == "" {
		return []Backend{SQLite}
	}
	return []Backend{SQLite, Postgres}
}

// Each runs fn as a subtest on every backend. Without VHUPAY_TEST_POSTGRES_URL the PostgreSQL
// subtest is reported as skipped with the reason.
func Each(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range []Backend{SQLite, Postgres} {
		t.Run(string(b), func(t *testing.T) {
			if b == Postgres && os.Getenv(EnvPostgres) == "" {
				t.Skip("PostgreSQL tests skipped: set " + EnvPostgres + " (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); .ci/run does")
			}
			fn(t, b)
		})
	}
}

// template is the package's migrated PostgreSQL template database.
var template struct {
	once sync.Once
	name string
	err  error
}

// Main runs a test package's tests and then drops its PostgreSQL template. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if template.name != "" {
		if err := execAdmin(context.Background(), "DROP DATABASE IF EXISTS "+template.name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "storagetest: drop template:", err)
		}
	}
	os.Exit(code)
}

// URL creates a fresh, migrated database for the test and returns its vhupay URL
// (sqlite://<file> or postgres://...). The database is removed when the test ends.
func URL(t testing.TB, b Backend) string {
	t.Helper()
	switch b {
	case SQLite:
		u := "sqlite://" + filepath.Join(t.TempDir(), "vhupay.db")
		db, err := storage.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(context.Background(), quiet()); err != nil {
			t.Fatal(err)
		}
		return u
	case Postgres:
		admin := os.Getenv(EnvPostgres)
		if admin == "" {
			t.Skip("PostgreSQL tests skipped: set " + EnvPostgres)
		}
		template.once.Do(func() { template.name, template.err = makeTemplate() })
		if template.err != nil {
			t.Fatalf("postgres template: %v", template.err)
		}
		name := "vhupay_t_" + randomHex(6)
		ctx := context.Background()
		var err error
		for i := 0; i < 20; i++ { // the template may be briefly busy with another copy
			if err = execAdmin(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template.name); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("create test database: %v", err)
		}
		t.Cleanup(func() {
			if err := execAdmin(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database: %v", err)
			}
		})
		return withDatabase(admin, name)
	}
	t.Fatalf("unknown backend %q", b)
	return ""
}

// Open returns a fresh, migrated database for the test, closed when the test ends.
func Open(t testing.TB, b Backend) *storage.DB {
	t.Helper()
	u := URL(t, b)
	db, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func makeTemplate() (string, error) {
	ctx := context.Background()
	name := "vhupay_tmpl_" + randomHex(6)
	if err := execAdmin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	db, err := storage.Open(ctx, withDatabase(os.Getenv(EnvPostgres), name))
	if err != nil {
		return name, err
	}
	defer db.Close()
	return name, db.Migrate(ctx, quiet())
}

// execAdmin runs one statement on the server's admin database. A server that has all its
// connections in use for a moment (other test packages run at once) is asked again for up to 10 s.
func execAdmin(ctx context.Context, sql string) error {
	var err error
	for range 100 {
		if err = execAdminOnce(ctx, sql); err == nil || !strings.Contains(err.Error(), "SQLSTATE 53300") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func execAdminOnce(ctx context.Context, sql string) error {
	db, err := storage.Open(ctx, os.Getenv(EnvPostgres))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.SQL().ExecContext(ctx, sql)
	return err
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
