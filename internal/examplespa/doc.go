// Package examplespa holds the end-to-end tests of the reference front end (docs/example-spa):
// headless Chromium (internal/browsertest) drives the built single-page app, served from its own
// loopback origin, against a real vhupay (apptest) that lists that origin in
// VHUPAY_CORS_ORIGINS, and through the sandbox provider's bank and mandate pages.
//
// The tests need the app built (`npm ci && npm run build` in docs/example-spa): without its dist/
// they are skipped, unless VHUPAY_TEST_REQUIRE_SPA=1 (as in .ci/run), where they fail.
// Screenshots of every step are test artifacts (`go test -artifacts -outputdir DIR` keeps them).
package examplespa
