package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicURL != "http://127.0.0.1:8080" || c.SQLitePath != "vhupay.db" ||
		!c.Sandbox() || c.Scoring != "sandbox" || c.JWTIssuer != "vhupay" || c.JWTAudience != "vhupay-api" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

// TestCallBudget: MangoPay calls are budgeted at 2,000 per 15 minutes by default, the sandbox
// provider's not at all, unless VHUPAY_MANGOPAY_CALLS_PER_15MIN says otherwise (0: unlimited).
func TestCallBudget(t *testing.T) {
	mango := map[string]string{"VHUPAY_PSP": "mangopay", "VHUPAY_MANGOPAY_CLIENT_ID": "c", "VHUPAY_MANGOPAY_API_KEY": "k",
		"VHUPAY_RETURN_URL_ORIGINS": "https://app.example", "VHUPAY_SEPA_CREDITOR_ID": "FR72ZZZ123456"}
	with := func(extra ...string) map[string]string {
		m := map[string]string{}
		for k, v := range mango {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		env    map[string]string
		calls  int
		window time.Duration
	}{
		{"sandbox", nil, 0, 15 * time.Minute},
		{"sandbox, set", map[string]string{"VHUPAY_MANGOPAY_CALLS_PER_15MIN": "300"}, 300, 15 * time.Minute},
		{"mangopay", mango, 2000, 15 * time.Minute},
		{"mangopay, unlimited", with("VHUPAY_MANGOPAY_CALLS_PER_15MIN", "0"), 0, 15 * time.Minute},
		{"mangopay, short window", with("VHUPAY_MANGOPAY_CALLS_PER_15MIN", "250", "VHUPAY_MANGOPAY_RATE_WINDOW", "5s"), 250, 5 * time.Second},
	} {
		c, err := Load(env(tt.env))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if c.MangoPay.CallsPerWindow != tt.calls || c.MangoPay.RateWindow != tt.window {
			t.Errorf("%s: budget %d per %s, want %d per %s", tt.name, c.MangoPay.CallsPerWindow, c.MangoPay.RateWindow, tt.calls, tt.window)
		}
	}
}

func TestLoadFailsFast(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"postgres without secret", map[string]string{"VHUPAY_DATABASE_URL": "postgres://x/y"}, "VHUPAY_JWT_SECRET or VHUPAY_JWKS_URL"},
		{"unknown database", map[string]string{"VHUPAY_DATABASE_URL": "mysql://x"}, "VHUPAY_DATABASE_URL"},
		{"short secret", map[string]string{"VHUPAY_JWT_SECRET": "short"}, "at least 32"},
		{"mangopay without keys", map[string]string{"VHUPAY_PSP": "mangopay"}, "VHUPAY_MANGOPAY_CLIENT_ID"},
		{"bad psp", map[string]string{"VHUPAY_PSP": "stripe"}, "VHUPAY_PSP"},
		{"bad expiry", map[string]string{"VHUPAY_INTENT_EXPIRY": "soon"}, "VHUPAY_INTENT_EXPIRY"},
		{"bad addr", map[string]string{"VHUPAY_ADDR": "8080"}, "VHUPAY_ADDR"},
		{"bad call budget", map[string]string{"VHUPAY_MANGOPAY_CALLS_PER_15MIN": "-1"}, "VHUPAY_MANGOPAY_CALLS_PER_15MIN"},
		{"bad rate window", map[string]string{"VHUPAY_MANGOPAY_RATE_WINDOW": "10ms"}, "VHUPAY_MANGOPAY_RATE_WINDOW"},
		{"fee above 100 %", map[string]string{"VHUPAY_PLATFORM_FEE_BPS": "10001"}, "VHUPAY_PLATFORM_FEE_BPS"},
		{"fee not a number", map[string]string{"VHUPAY_PLATFORM_FEE_BPS": "5%"}, "VHUPAY_PLATFORM_FEE_BPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

// TestSEPACreditor: the creditor identifier is required with a real provider and checked for
// its shape; the sandbox has its own; the re-presentation delay defaults to 7 days.
func TestSEPACreditor(t *testing.T) {
	mango := map[string]string{"VHUPAY_PSP": "mangopay", "VHUPAY_MANGOPAY_CLIENT_ID": "c", "VHUPAY_MANGOPAY_API_KEY": "k",
		"VHUPAY_RETURN_URL_ORIGINS": "https://app.example"}
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, err := Load(get(mango)); err == nil || !strings.Contains(err.Error(), "VHUPAY_SEPA_CREDITOR_ID") {
		t.Errorf("mangopay without a creditor id: %v", err)
	}
	mango["VHUPAY_SEPA_CREDITOR_ID"] = "FR-not-an-id"
	if _, err := Load(get(mango)); err == nil || !strings.Contains(err.Error(), "VHUPAY_SEPA_CREDITOR_ID") {
		t.Errorf("a malformed creditor id: %v", err)
	}
	mango["VHUPAY_SEPA_CREDITOR_ID"] = "FR12ZZZ654321"
	c, err := Load(get(mango))
	if err != nil || c.SEPACreditorID != "FR12ZZZ654321" || c.SEPARetryAfter != 7*24*time.Hour {
		t.Errorf("config = %q %s, %v", c.SEPACreditorID, c.SEPARetryAfter, err)
	}
	c, err = Load(get(map[string]string{"VHUPAY_SEPA_RETRY_AFTER": "72h"}))
	if err != nil || c.SEPACreditorID != SandboxCreditorID || c.SEPARetryAfter != 72*time.Hour {
		t.Errorf("sandbox config = %q %s, %v", c.SEPACreditorID, c.SEPARetryAfter, err)
	}
	if _, err := Load(get(map[string]string{"VHUPAY_SEPA_RETRY_AFTER": "soon"})); err == nil {
		t.Error("a bad retry delay was accepted")
	}
}

// TestDBCounts: the PostgreSQL pool has 16 connections unless VHUPAY_DB_MAX_CONNS says
// otherwise, and a process runs 4 reads of orders at once unless VHUPAY_DB_READ_CONCURRENCY
// does (each 1 to 1000, spaces around it allowed; anything else is refused, naming the variable).
func TestDBCounts(t *testing.T) {
	for _, c := range []struct {
		name      string
		get       func(Config) int
		def, some int
	}{
		{"VHUPAY_DB_MAX_CONNS", func(c Config) int { return c.DBMaxConns }, 16, 40},
		{"VHUPAY_DB_READ_CONCURRENCY", func(c Config) int { return c.DBReadConcurrency }, 4, 12},
	} {
		got, err := Load(env(nil))
		if err != nil || c.get(got) != c.def {
			t.Fatalf("%s default: %d, %v; want %d", c.name, c.get(got), err, c.def)
		}
		if got, err := Load(env(map[string]string{c.name: fmt.Sprintf(" %d ", c.some)})); err != nil || c.get(got) != c.some {
			t.Errorf("%s %d: %d, %v", c.name, c.some, c.get(got), err)
		}
		for _, bad := range []string{"0", "-3", "1001", "many", "1e3", "4.5"} {
			if _, err := Load(env(map[string]string{c.name: bad})); err == nil || !strings.Contains(err.Error(), c.name) {
				t.Errorf("%s %q: %v, want an error naming it", c.name, bad, err)
			}
		}
	}
}
