package examplespa_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/browsertest"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// envRequire turns a missing build of the app into a failure.
const envRequire = "VHUPAY_TEST_REQUIRE_SPA"

// stepTimeout bounds one step of a test in the browser (a page to load, an element to appear).
const stepTimeout = 30 * time.Second

const (
	challengeCard = "4970105181818183"
	ibanOK        = "FR7630006000011234567890189"
)

// env is one test's vhupay, the app's origin and a browser.
type env struct {
	t       *testing.T
	s       *apptest.Server
	spa     string // the app's origin
	browser context.Context
	admin   string
	buyer   httpapi.Buyer
	center  httpapi.Center
}

// start serves the built app on a loopback origin, starts vhupay allowing that origin, creates a
// buyer and a centre, and opens a browser.
func start(t *testing.T, b storagetest.Backend) *env {
	t.Helper()
	dist, err := filepath.Abs("../../docs/example-spa/dist")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		if os.Getenv(envRequire) == "1" {
			t.Fatalf("the example app is not built (%v) and %s=1: run npm ci && npm run build in docs/example-spa", err, envRequire)
		}
		t.Skip("the example app is not built: npm ci && npm run build in docs/example-spa (.ci/run does)")
	}
	e := &env{t: t, spa: serveApp(t, os.DirFS(dist))}
	e.s = apptest.Start(t, b, apptest.WithEnv("VHUPAY_CORS_ORIGINS", e.spa))
	e.admin = e.s.Token(t, auth.RoleAdmin, "")
	address := map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"}
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: e.admin, Body: map[string]any{
		"name": "Garage Martin SARL", "siren": "823456785", "email": "compta@garage-martin.example", "address": address,
	}}).Expect(t, 201).JSON(t, &e.buyer)
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: e.admin, Body: map[string]any{
		"name": "Centre VHU du Rhône", "siret": "82345678500018", "email": "contact@cvhu-rhone.example", "address": address,
	}}).Expect(t, 201).JSON(t, &e.center)
	e.browser = browsertest.NewTimeout(t, 4*time.Minute)
	return e
}

// serveApp serves the built app on a loopback port until the test ends: its files, and
// index.html for any other path (the app routes on the path, as its dev server does).
func serveApp(t *testing.T, dist fs.FS) string {
	t.Helper()
	files := http.FileServerFS(dist)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if _, err := fs.Stat(dist, name); name == "" || err != nil {
			http.ServeFileFS(w, r, dist, "index.html")
			return
		}
		files.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("app server: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// login opens the app as the holder of token (the address's fragment carries the session).
func (e *env) login(token, wantID string) {
	e.t.Helper()
	e.run("log in", chromedp.Navigate(e.spa+"/#"+url.Values{"api": {e.s.URL}, "token": {token}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS(wantID)))
}

// open navigates to one of the app's pages and waits for the element.
func (e *env) open(page, wait string) {
	e.t.Helper()
	e.run("open "+page, chromedp.Navigate(e.spa+page), chromedp.WaitVisible(chromedp.CSS(wait)))
}

// fill empties an input as the app sees it (an input event) and types value into it.
func (e *env) fill(sel, value string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.browser, stepTimeout)
	defer cancel()
	q, _ := json.Marshal(sel)
	clear := `(() => { const el = document.querySelector(` + string(q) + `); el.value = ""; el.dispatchEvent(new Event("input", {bubbles: true})); return true })()`
	if _, err := chromedp.Run(ctx, chromedp.Steps(chromedp.WaitVisible(chromedp.CSS(sel)))); err != nil {
		e.t.Fatalf("find %s: %v\nthe page shows:\n%s", sel, err, e.text())
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](clear)); err != nil {
		e.t.Fatalf("clear %s: %v", sel, err)
	}
	e.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (e *env) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.browser, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		e.t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, e.text())
	}
}

// text is what the page shows, whitespace simplified.
func (e *env) text() string {
	ctx, cancel := context.WithTimeout(e.browser, 5*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(got), " ")
}

// textOf is the text of the first element matching the selector, whitespace simplified.
func (e *env) textOf(sel string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.browser, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		e.t.Fatalf("read %s: %v\nthe page shows:\n%s", sel, err, e.text())
	}
	return strings.Join(strings.Fields(got), " ")
}

// expectText waits (up to 10 s) for sel's text to contain want: parts of a page load after it
// shows (a bank account's mandate, the SEPA box), so one read may come too early.
func (e *env) expectText(sel, want string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.textOf(sel)
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("%s says %q, want %q", sel, got, want)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) location() string {
	e.t.Helper()
	loc, err := chromedp.Run(e.browser, chromedp.Location())
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

// screenshot keeps a PNG of the whole page in the test's artifact directory.
func (e *env) screenshot(name string) {
	e.t.Helper()
	shot, err := chromedp.Run(e.browser, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		e.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(e.t.ArtifactDir(), name+".png")
	if err := os.WriteFile(p, shot, 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("screenshot %s: %s", name, p)
}

// order fills the cart with quantities (by reference; the rest 0), validates it and waits for its
// payment page; it returns the order's id.
func (e *env) order(quantities map[string]int) string {
	e.t.Helper()
	e.open("/panier", "#validate-cart:not([disabled])")
	for _, ref := range []string{"PHARE-AV-G-208", "RETRO-D-CLIO4", "BOITE-208"} {
		sel := "#qty-" + ref
		e.fill(sel, strconv.Itoa(quantities[ref]))
	}
	e.run("validate the cart", chromedp.Click(chromedp.CSS("#validate-cart")), chromedp.WaitVisible(chromedp.CSS("#order-total")))
	loc := e.location()
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(id, "ord_") {
		e.t.Fatalf("after the cart the browser is at %s", loc)
	}
	return id
}

// typeCard types a card in the payment page's new-card form and pays.
func (e *env) typeCard(number string) {
	e.t.Helper()
	e.fill("#card-number", number)
	e.fill("#card-expiry", "1230")
	e.fill("#card-cvc", "123")
	e.run("pay", chromedp.Click(chromedp.CSS("#pay-card")))
}

// code types a 3-D Secure code on the bank's page and submits it.
func (e *env) code(code string) {
	e.t.Helper()
	e.run("type the code "+code, chromedp.WaitVisible(chromedp.CSS("#code")), chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Click(chromedp.CSS("#validate")))
}

// closeMonth moves the clock to the next month, closes the month and settles its debits, as an
// operator (or the scheduler) and the bank would.
func (e *env) closeMonth(month string) {
	e.t.Helper()
	start, err := time.Parse("2006-01", month)
	if err != nil {
		e.t.Fatal(err)
	}
	e.s.Do(e.t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.admin,
		Body: map[string]any{"now": start.AddDate(0, 1, 0).Add(12 * time.Hour)}}).Expect(e.t, 200)
	if r := e.s.Do(e.t, apptest.Request{Method: "POST", Path: "/v1/admin/month-closes", Token: e.admin, Body: map[string]any{"month": month}}); r.Status != 202 && r.Status != 200 {
		e.t.Fatalf("start the close: %d %s", r.Status, r.Body)
	}
	var mc httpapi.MonthClose
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		e.s.Do(e.t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/" + month, Token: e.admin}).Expect(e.t, 200).JSON(e.t, &mc)
		if mc.Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	if mc.Status != "completed" {
		e.t.Fatalf("month close = %+v", mc)
	}
	e.s.Do(e.t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.admin,
		Body: map[string]any{"now": start.AddDate(0, 1, 3).Add(12 * time.Hour), "settle": true}}).Expect(e.t, 200)
}

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
