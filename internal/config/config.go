// Package config reads vhupay's configuration from the environment and validates it, failing fast
// with a message that names the variable to fix.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration of a vhupay process.
type Config struct {
	Addr        string
	PublicURL   string
	DatabaseURL string
	// DBMaxConns is the size of the PostgreSQL pool (VHUPAY_DB_MAX_CONNS, default
	// storage.DefaultMaxConns: 16).
	DBMaxConns int
	// DBReadConcurrency is how many reads of complete orders (pages, single orders) the process
	// runs on PostgreSQL at once (VHUPAY_DB_READ_CONCURRENCY, default
	// storage.DefaultReadConcurrency: 4).
	DBReadConcurrency int
	// SQLitePath is the database file when DatabaseURL is sqlite://, else "".
	SQLitePath string

	JWTSecret   string
	JWTIssuer   string
	JWTAudience string
	JWKSURL     string

	PSP      string // "sandbox" or "mangopay"
	MangoPay MangoPay

	Scoring    string // "sandbox" or "infolegale"
	Infolegale Infolegale

	CORSOrigins []string
	LogFormat   string // "json" or "text"

	// IntentExpiry is how long a card intent may wait in requires_action before it expires.
	IntentExpiry time.Duration
	// PSPTimeout bounds each call to the payment provider.
	PSPTimeout time.Duration
	// FingerprintKey keys the HMAC that fingerprints IBANs to refuse duplicates.
	FingerprintKey string
	// CartSecret verifies the carts the marketplace back end signs for buyers (HS256); "": no
	// signed cart is accepted (outside sandbox mode buyers then cannot order).
	CartSecret string

	// MonthCloseTimeout bounds one attempt of a month close (0: the job queue's default).
	MonthCloseTimeout time.Duration
	// JWTMaxLifetime is the longest token lifetime (exp - iat) accepted.
	JWTMaxLifetime time.Duration
	// MaxConnections caps the connections served at once (more wait to be accepted).
	MaxConnections int
	// MaxHeaderBytes caps a request's line and headers (431 beyond).
	MaxHeaderBytes int
	// RateLimit and RateBurst limit each authenticated caller (requests per second, burst), per
	// process; HookRateLimit and HookRateBurst limit the provider hooks per source address. A
	// negative rate turns the limit off.
	RateLimit, HookRateLimit float64
	RateBurst, HookRateBurst int
	// ReturnURLOrigins are the front-end origins a return_url may point to (default: CORSOrigins).
	ReturnURLOrigins []string

	// JobRescueAfter is how long a job may run before it is taken for abandoned and retried by
	// another process (0: the job queue's default); it must exceed MonthCloseTimeout.
	JobRescueAfter time.Duration

	// PlatformFeeBPS is the fee rate new centres start with, in basis points (0–10000).
	PlatformFeeBPS int

	// SEPACreditorID is the platform's SEPA creditor identifier (SCI), given in every collection's
	// pre-notification (VHUPAY_SEPA_CREDITOR_ID): required with a real provider; the sandbox uses
	// SandboxCreditorID when it is not set.
	SEPACreditorID string
	// SEPARetryAfter is how long after a failure for insufficient funds a debit is presented
	// again (VHUPAY_SEPA_RETRY_AFTER, default 7 days).
	SEPARetryAfter time.Duration
	// PayoutMinimum is the smallest available balance the Monday payouts pay out (cents).
	PayoutMinimum int64
}

// SandboxCreditorID is the creditor identifier of sandbox pre-notifications (a well-formed
// French SCI that names no real creditor).
const SandboxCreditorID = "FR72ZZZ123456"

// MangoPay holds the MangoPay client's settings.
type MangoPay struct {
	BaseURL, ClientID, APIKey string
	// CallsPerWindow is the budget of MangoPay calls per RateWindow shared by every process
	// (VHUPAY_MANGOPAY_CALLS_PER_15MIN): background work (the month close) waits for it. 0 means
	// unlimited: the default with the sandbox provider; 2,000 with MangoPay.
	CallsPerWindow int
	// RateWindow is the budget's window (VHUPAY_MANGOPAY_RATE_WINDOW, default 15 minutes, as
	// MangoPay's shortest; tests shorten it to run a long close against a fast-forwarded limit).
	RateWindow time.Duration
}

// Infolegale holds the score partner's settings.
type Infolegale struct {
	BaseURL, APIKey string
}

// Sandbox reports whether the simulated provider runs (sandbox routes exist only then).
func (c Config) Sandbox() bool { return c.PSP == "sandbox" }

// Load reads the configuration through getenv (os.Getenv in production) and validates it.
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:           get("VHUPAY_ADDR", "127.0.0.1:8080"),
		DatabaseURL:    get("VHUPAY_DATABASE_URL", "sqlite://vhupay.db"),
		JWTSecret:      getenv("VHUPAY_JWT_SECRET"),
		JWTIssuer:      get("VHUPAY_JWT_ISSUER", "vhupay"),
		JWTAudience:    get("VHUPAY_JWT_AUDIENCE", "vhupay-api"),
		JWKSURL:        get("VHUPAY_JWKS_URL", ""),
		PSP:            get("VHUPAY_PSP", "sandbox"),
		Scoring:        get("VHUPAY_SCORING", "sandbox"),
		LogFormat:      get("VHUPAY_LOG_FORMAT", "json"),
		FingerprintKey: getenv("VHUPAY_FINGERPRINT_KEY"),
		CartSecret:     getenv("VHUPAY_CART_SECRET"),
		MangoPay: MangoPay{
			BaseURL:  get("VHUPAY_MANGOPAY_BASE_URL", "https://api.sandbox.mangopay.com"),
			ClientID: get("VHUPAY_MANGOPAY_CLIENT_ID", ""),
			APIKey:   getenv("VHUPAY_MANGOPAY_API_KEY"),
		},
		Infolegale: Infolegale{
			BaseURL: get("VHUPAY_INFOLEGALE_BASE_URL", ""),
			APIKey:  getenv("VHUPAY_INFOLEGALE_API_KEY"),
		},
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("VHUPAY_ADDR %q is not host:port", c.Addr))
	}
	c.PublicURL = strings.TrimRight(get("VHUPAY_PUBLIC_URL", "http://"+c.Addr), "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("VHUPAY_PUBLIC_URL %q is not an http(s) URL", c.PublicURL))
	}
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite://"):
		c.SQLitePath = strings.TrimPrefix(c.DatabaseURL, "sqlite://")
		if c.SQLitePath == "" {
			errs = append(errs, errors.New("VHUPAY_DATABASE_URL sqlite:// needs a file path, e.g. sqlite://vhupay.db"))
		}
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		if c.JWTSecret == "" && c.JWKSURL == "" {
			errs = append(errs, errors.New("with PostgreSQL, VHUPAY_JWT_SECRET or VHUPAY_JWKS_URL must be set"))
		}
		if c.FingerprintKey == "" {
			c.FingerprintKey = c.JWTSecret
		}
		if c.FingerprintKey == "" {
			errs = append(errs, errors.New("with PostgreSQL and JWKS only, VHUPAY_FINGERPRINT_KEY must be set"))
		}
	default:
		errs = append(errs, fmt.Errorf("VHUPAY_DATABASE_URL must start with sqlite:// or postgres://"))
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		errs = append(errs, errors.New("VHUPAY_JWT_SECRET must be at least 32 characters"))
	}
	if c.CartSecret != "" && len(c.CartSecret) < 32 {
		errs = append(errs, errors.New("VHUPAY_CART_SECRET must be at least 32 characters"))
	}
	switch c.PSP {
	case "sandbox":
	case "mangopay":
		if c.MangoPay.ClientID == "" || c.MangoPay.APIKey == "" {
			errs = append(errs, errors.New("VHUPAY_PSP=mangopay needs VHUPAY_MANGOPAY_CLIENT_ID and VHUPAY_MANGOPAY_API_KEY"))
		}
	default:
		errs = append(errs, fmt.Errorf("VHUPAY_PSP must be sandbox or mangopay, not %q", c.PSP))
	}
	switch c.Scoring {
	case "sandbox":
	case "infolegale":
		if c.Infolegale.BaseURL == "" || c.Infolegale.APIKey == "" {
			errs = append(errs, errors.New("VHUPAY_SCORING=infolegale needs VHUPAY_INFOLEGALE_BASE_URL and VHUPAY_INFOLEGALE_API_KEY"))
		}
	default:
		errs = append(errs, fmt.Errorf("VHUPAY_SCORING must be sandbox or infolegale, not %q", c.Scoring))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("VHUPAY_LOG_FORMAT must be json or text, not %q", c.LogFormat))
	}
	c.IntentExpiry = duration(getenv, "VHUPAY_INTENT_EXPIRY", 30*time.Minute, time.Minute, &errs)
	c.DBMaxConns = count(getenv, "VHUPAY_DB_MAX_CONNS", 16, 1, 1000, "connections", &errs)
	c.DBReadConcurrency = count(getenv, "VHUPAY_DB_READ_CONCURRENCY", 4, 1, 1000, "reads", &errs)
	if c.PSP == "mangopay" {
		c.MangoPay.CallsPerWindow = 2000
	}
	if v := getenv("VHUPAY_MANGOPAY_CALLS_PER_15MIN"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("VHUPAY_MANGOPAY_CALLS_PER_15MIN %q must be a number of calls (0: unlimited)", v))
		}
		c.MangoPay.CallsPerWindow = n
	}
	c.MangoPay.RateWindow = duration(getenv, "VHUPAY_MANGOPAY_RATE_WINDOW", 15*time.Minute, time.Second, &errs)
	c.PSPTimeout = 15 * time.Second
	if v := getenv("VHUPAY_PSP_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("VHUPAY_PSP_TIMEOUT %q must be a positive duration", v))
		}
		c.PSPTimeout = d
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"VHUPAY_MONTH_CLOSE_TIMEOUT", &c.MonthCloseTimeout}, {"VHUPAY_JOB_RESCUE_AFTER", &c.JobRescueAfter}} {
		if v := getenv(f.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				errs = append(errs, fmt.Errorf("%s %q must be a duration of at least 1s", f.name, v))
			}
			*f.dst = d
		}
	}
	if c.MonthCloseTimeout > 0 && c.JobRescueAfter > 0 && c.JobRescueAfter <= c.MonthCloseTimeout {
		errs = append(errs, errors.New("VHUPAY_JOB_RESCUE_AFTER must exceed VHUPAY_MONTH_CLOSE_TIMEOUT"))
	}
	if v := getenv("VHUPAY_PLATFORM_FEE_BPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			errs = append(errs, fmt.Errorf("VHUPAY_PLATFORM_FEE_BPS %q must be an integer from 0 to 10000 (basis points)", v))
		}
		c.PlatformFeeBPS = n
	}
	c.SEPACreditorID = strings.TrimSpace(getenv("VHUPAY_SEPA_CREDITOR_ID"))
	switch {
	case c.SEPACreditorID == "" && c.PSP == "sandbox":
		c.SEPACreditorID = SandboxCreditorID
	case c.SEPACreditorID == "":
		errs = append(errs, errors.New("VHUPAY_SEPA_CREDITOR_ID must be set with a real payment provider: it is the SEPA creditor identifier (SCI) every pre-notification gives"))
	case !validCreditorID(c.SEPACreditorID):
		errs = append(errs, fmt.Errorf("VHUPAY_SEPA_CREDITOR_ID %q is not a SEPA creditor identifier (country, 2 check digits, business code, national identifier)", c.SEPACreditorID))
	}
	c.SEPARetryAfter = duration(getenv, "VHUPAY_SEPA_RETRY_AFTER", 7*24*time.Hour, time.Second, &errs)
	c.PayoutMinimum = 1000
	if v := getenv("VHUPAY_PAYOUT_MINIMUM"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("VHUPAY_PAYOUT_MINIMUM %q must be a positive number of cents", v))
		}
		c.PayoutMinimum = n
	}
	c.CORSOrigins = origins(getenv("VHUPAY_CORS_ORIGINS"), "VHUPAY_CORS_ORIGINS", &errs)
	c.ReturnURLOrigins = origins(getenv("VHUPAY_RETURN_URL_ORIGINS"), "VHUPAY_RETURN_URL_ORIGINS", &errs)
	if len(c.ReturnURLOrigins) == 0 {
		c.ReturnURLOrigins = c.CORSOrigins
	}
	if len(c.ReturnURLOrigins) == 0 && c.PSP != "sandbox" {
		errs = append(errs, errors.New("VHUPAY_RETURN_URL_ORIGINS (or VHUPAY_CORS_ORIGINS) must name the front end's origins: the bank sends browsers back only there"))
	}
	c.JWTMaxLifetime = duration(getenv, "VHUPAY_JWT_MAX_LIFETIME", 24*time.Hour, time.Minute, &errs)
	for _, f := range []struct {
		name     string
		dst      *int
		def, min int
	}{
		{"VHUPAY_MAX_CONNECTIONS", &c.MaxConnections, 1024, 1},
		{"VHUPAY_MAX_HEADER_BYTES", &c.MaxHeaderBytes, 16 << 10, 1024},
		{"VHUPAY_RATE_BURST", &c.RateBurst, 40, 1},
		{"VHUPAY_HOOK_RATE_BURST", &c.HookRateBurst, 500, 1},
	} {
		*f.dst = f.def
		if v := getenv(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < f.min {
				errs = append(errs, fmt.Errorf("%s %q must be an integer of at least %d", f.name, v, f.min))
			}
			*f.dst = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *float64
		def  float64
	}{{"VHUPAY_RATE_LIMIT", &c.RateLimit, 20}, {"VHUPAY_HOOK_RATE_LIMIT", &c.HookRateLimit, 50}} {
		*f.dst = f.def
		switch v := getenv(f.name); v {
		case "":
		case "off":
			*f.dst = -1
		default:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || !(n > 0) || n > 1e6 {
				errs = append(errs, fmt.Errorf("%s %q must be a positive number of requests a second, or off", f.name, v))
			}
			*f.dst = n
		}
	}
	return c, errors.Join(errs...)
}

// duration reads a duration of at least min (def when unset).
func duration(getenv func(string) string, name string, def, min time.Duration, errs *[]error) time.Duration {
	v := getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min {
		*errs = append(*errs, fmt.Errorf("%s %q must be a duration of at least %s", name, v, strings.TrimSuffix(strings.TrimSuffix(min.String(), "0s"), "0m")))
	}
	return d
}

// count reads a whole number of what from lo to hi (def when unset; spaces around it allowed).
func count(getenv func(string) string, name string, def, lo, hi int, what string, errs *[]error) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		*errs = append(*errs, fmt.Errorf("%s %q must be a number of %s from %d to %d", name, v, what, lo, hi))
	}
	return n
}

// origins reads a comma-separated list of origins (scheme://host[:port], no path).
func origins(raw, name string, errs *[]error) []string {
	var out []string
	for _, o := range strings.Split(raw, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			*errs = append(*errs, fmt.Errorf("%s: %q is not an origin (scheme://host[:port])", name, o))
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// validCreditorID checks a SEPA creditor identifier's shape: 2 letters (country), 2 check digits,
// a 3-character business code, then 1 to 28 letters or digits (the national identifier).
func validCreditorID(id string) bool {
	if len(id) < 8 || len(id) > 35 {
		return false
	}
	for i, r := range id {
		letter, digit := r >= 'A' && r <= 'Z', r >= '0' && r <= '9'
		switch {
		case i < 2 && !letter, i >= 2 && i < 4 && !digit, i >= 4 && !letter && !digit:
			return false
		}
	}
	return true
}
