// Package browsertest starts a headless Chromium for tests that drive real pages (chromedp).
//
// A test calls New and uses the returned context with chromedp.Run. When Chromium is not
// installed the test is skipped, unless VHUPAY_TEST_REQUIRE_BROWSER=1 (as in CI), where it fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// EnvRequire names the variable that turns a missing browser into a failure.
const EnvRequire = "VHUPAY_TEST_REQUIRE_BROWSER"

// Timeout bounds a whole browser test.
const Timeout = 60 * time.Second

// Path returns the Chromium executable: Debian's /usr/bin/chromium, else chromium (or
// chromium-browser) on PATH; "" when there is none.
func Path() string {
	if info, err := os.Stat("/usr/bin/chromium"); err == nil && !info.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a fresh profile in t.TempDir() and returns a chromedp
// context (one tab) that ends after Timeout or when the test ends; the browser is closed then.
func New(t testing.TB) context.Context {
	t.Helper()
	return NewTimeout(t, Timeout)
}

// NewTimeout is New for a longer browser test: its context ends after timeout.
func NewTimeout(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal("chromium not installed and " + EnvRequire + "=1: apt-get install chromium")
		}
		t.Skip("chromium not installed (apt-get install chromium); .ci/run installs it")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1024, 900),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(browserCtx); err != nil { // start the browser now, to fail early
		t.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}
