package config

import (
	"strings"
	"testing"
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
