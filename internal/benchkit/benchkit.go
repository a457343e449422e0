// Package benchkit holds what the benchmark commands (cmd/vhupay-bench*) share: scratch database
// URLs and random names, and the machine's description written next to each figure.
package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/storage"
)

// WithDatabase replaces the database name of a PostgreSQL URL.
func WithDatabase(u, name string) string {
	scheme, rest, _ := strings.Cut(u, "://")
	query := ""
	if i := strings.Index(rest, "?"); i >= 0 {
		rest, query = rest[:i], rest[i:]
	}
	if i := strings.Index(rest, "/"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + rest + "/" + name + query
}

// RandomHex returns 2n random hexadecimal digits (scratch database names).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CPUModel is the machine's CPU as /proc/cpuinfo names it.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// LoadAverage is the machine's 1, 5 and 15-minute load average (other work during a run).
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Median is the median of xs (the mean of the two middle values for an even count), 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Scratch is an empty PostgreSQL database made for one benchmark run.
type Scratch struct {
	Name  string      // the database's name
	URL   string      // its URL
	Admin *storage.DB // the connection to the server's admin database
	keep  bool
}

// ScratchDatabase creates an empty database named prefix + random digits on the server of
// adminURL and prints the machine and the server's version. Close drops it (unless keep).
func ScratchDatabase(ctx context.Context, adminURL, prefix string, keep bool) (*Scratch, error) {
	admin, err := storage.Open(ctx, adminURL)
	if err != nil {
		return nil, err
	}
	name := prefix + RandomHex(4)
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, err
	}
	printMachine(ctx, admin, "database "+name)
	return &Scratch{Name: name, URL: WithDatabase(adminURL, name), Admin: admin, keep: keep}, nil
}

// ExistingDatabase is a database kept by an earlier run (-keep), used again and never dropped.
func ExistingDatabase(ctx context.Context, adminURL, name string) (*Scratch, error) {
	admin, err := storage.Open(ctx, adminURL)
	if err != nil {
		return nil, err
	}
	printMachine(ctx, admin, "database "+name+" (kept by an earlier run)")
	return &Scratch{Name: name, URL: WithDatabase(adminURL, name), Admin: admin, keep: true}, nil
}

// printMachine prints the machine, its load and the server's version, then what of the database.
func printMachine(ctx context.Context, admin *storage.DB, database string) {
	var pgVersion string
	_ = admin.SQL().QueryRowContext(ctx, "SHOW server_version").Scan(&pgVersion)
	fmt.Printf("machine: %s/%s, %d CPUs (%s), %s, load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), CPUModel(),
		runtime.Version(), LoadAverage())
	fmt.Printf("PostgreSQL %s; %s\n", pgVersion, database)
}

// Close drops the database unless it is kept, and closes the admin connection.
func (s *Scratch) Close() {
	if !s.keep {
		if _, err := s.Admin.SQL().Exec("DROP DATABASE IF EXISTS " + s.Name + " WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "drop", s.Name+":", err)
		}
	}
	s.Admin.Close()
}

// V7IDFunctionSQL creates bench_v7id(prefix, at, seed), which makes an identifier shaped as
// vhupay's (id.New: the prefix, then a UUIDv7 in hex, 48 bits of at's milliseconds first, then
// bits of md5(seed)), so that a benchmark's rows sort by creation as in production.
const V7IDFunctionSQL = `CREATE OR REPLACE FUNCTION bench_v7id(prefix text, at timestamptz, seed text) RETURNS text
	 LANGUAGE sql IMMUTABLE AS $$
	   SELECT prefix || '_' || lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7' || substr(md5(seed), 1, 19)
	 $$`
