package app

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestSetGCDefaults: GOGC 400 and a 256 MiB soft limit, each only where the environment does not
// set Go's own variable.
func TestSetGCDefaults(t *testing.T) {
	prevGC, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) })

	SetGCDefaults(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != DefaultGOGC {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, DefaultGOGC)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != DefaultMemoryLimit {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, DefaultMemoryLimit)
	}

	env := map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}
	SetGCDefaults(func(k string) string { return env[k] })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
