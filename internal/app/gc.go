package app

import (
	"runtime/debug"
)

// The garbage collector's defaults of a vhupay process, applied by SetGCDefaults where the
// environment does not set Go's own GOGC or GOMEMLIMIT.
//
// vhupay keeps little in memory (a serving process's live heap is about 13 MB) and allocates a
// lot per request (the rows of a page, its JSON), so with Go's default GOGC of 100 it collects
// about 12 times a second under load, on cores it shares with PostgreSQL on a small server. At
// GOGC 400 the heap may grow to five times what is live before a collection, and the collector's
// CPU drops accordingly: on the 2-core benchmark machine every order page's p99 at a million
// orders went down by about 1 ms (docs/benchmarks.md). The soft memory limit keeps that growth
// bounded: near it the collector runs as often as it must, whatever GOGC says. A month close of
// a million payments peaked at 173 MiB of RSS with these defaults (102 MiB at GOGC 100), under
// its goal of 300 MiB.
const (
	DefaultGOGC        = 400
	DefaultMemoryLimit = 256 << 20 // bytes
)

// SetGCDefaults applies DefaultGOGC and DefaultMemoryLimit to the running process, each unless
// the environment sets it (GOGC, GOMEMLIMIT: Go's runtime has then applied it already). It is
// for a process's main function: it changes the whole process.
func SetGCDefaults(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGOGC)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
