package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/browsertest"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestSecurePageInBrowser drives the 3-D Secure page in Chromium: a wrong code, then 123456, and
// the browser lands on the return page.
func TestSecurePageInBrowser(t *testing.T) {
	browser := browsertest.New(t)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f := newFixture(t, storagetest.SQLite, srv.URL)
	mux.Handle("/sandbox/psp/", f.p.Pages())
	mux.HandleFunc("GET /shop/return", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Boutique</title><h1 id="back">Retour %s</h1>`, r.URL.Query().Get("payment_intent"))
	})
	returnURL := srv.URL + "/shop/return?payment_intent=pi_browser"
	_, _, pi := f.challenged(t, 123456, returnURL)

	if err := chromedp.Do(browser, chromedp.Navigate(pi.RedirectURL), chromedp.WaitVisible(chromedp.ID("code"))); err != nil {
		t.Fatalf("open the 3-D Secure page: %v", err)
	}
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), "3ds.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the 3-D Secure page: %s (%d bytes)", path, len(shot))
	for sel, want := range map[chromedp.ID]string{"amount": "1 234,56 €", "validate": "Valider", "cancel": "Annuler", "tries": "3"} {
		got, err := chromedp.Run(browser, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read #%s: %v", sel, err)
		}
		if got = strings.TrimSpace(got); got != want {
			t.Errorf("#%s = %q, want %q", sel, got, want)
		}
	}

	err = chromedp.Do(browser,
		chromedp.SendKeys(chromedp.ID("code"), "000000"),
		chromedp.Click(chromedp.ID("validate")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if err != nil {
		t.Fatalf("type a wrong code: %v", err)
	}
	if msg, _ := chromedp.Run(browser, chromedp.Text(chromedp.ID("error"))); !strings.Contains(msg, "Il vous reste 2 essais") {
		t.Errorf("after a wrong code the page says %q", msg)
	}

	err = chromedp.Do(browser,
		chromedp.SendKeys(chromedp.ID("code"), "123456"),
		chromedp.Click(chromedp.ID("validate")),
		chromedp.WaitVisible(chromedp.ID("back")),
	)
	if err != nil {
		t.Fatalf("type the right code: %v", err)
	}
	location, err := chromedp.Run(browser, chromedp.Location())
	if err != nil || location != returnURL {
		t.Errorf("landed on %q (%v), want %q", location, err, returnURL)
	}
	got, err := f.p.GetPayIn(context.Background(), pi.ID)
	if err != nil || got.Status != psp.PayInSucceeded {
		t.Errorf("pay-in = %+v, %v; want succeeded", got, err)
	}
}
