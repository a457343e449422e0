// Package benchkit holds what the benchmark commands (cmd/vhupay-bench*) share: scratch database
// URLs and random names, and the machine's description written next to each figure.
package benchkit

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"time"
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
