package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEdgeSettings(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.JWTMaxLifetime != 24*time.Hour || c.MaxConnections != 1024 || c.MaxHeaderBytes != 16<<10 || c.RateLimit != 20 ||
		c.RateBurst != 40 || c.HookRateLimit != 50 || c.HookRateBurst != 500 || len(c.ReturnURLOrigins) != 0 {
		t.Errorf("edge defaults: %+v", c)
	}
	c, err = Load(env(map[string]string{"VHUPAY_CORS_ORIGINS": "https://shop.example/, http://localhost:5173", "VHUPAY_RATE_LIMIT": "off",
		"VHUPAY_HOOK_RATE_LIMIT": "2.5", "VHUPAY_JWT_MAX_LIFETIME": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://shop.example", "http://localhost:5173"}
	if !slices.Equal(c.CORSOrigins, want) || !slices.Equal(c.ReturnURLOrigins, want) || c.RateLimit >= 0 || c.HookRateLimit != 2.5 || c.JWTMaxLifetime != time.Hour {
		t.Errorf("edge settings: %+v", c)
	}
	c, err = Load(env(map[string]string{"VHUPAY_CORS_ORIGINS": "https://shop.example", "VHUPAY_RETURN_URL_ORIGINS": "https://pay.shop.example"}))
	if err != nil || !slices.Equal(c.ReturnURLOrigins, []string{"https://pay.shop.example"}) {
		t.Errorf("return URL origins = %v, %v", c.ReturnURLOrigins, err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"origin with a path":       {map[string]string{"VHUPAY_RETURN_URL_ORIGINS": "https://shop.example/return"}, "VHUPAY_RETURN_URL_ORIGINS"},
		"mangopay without origins": {map[string]string{"VHUPAY_PSP": "mangopay", "VHUPAY_MANGOPAY_CLIENT_ID": "id", "VHUPAY_MANGOPAY_API_KEY": "k"}, "VHUPAY_RETURN_URL_ORIGINS"},
		"rate limit zero":          {map[string]string{"VHUPAY_RATE_LIMIT": "0"}, "VHUPAY_RATE_LIMIT"},
		"rate limit word":          {map[string]string{"VHUPAY_HOOK_RATE_LIMIT": "fast"}, "VHUPAY_HOOK_RATE_LIMIT"},
		"burst zero":               {map[string]string{"VHUPAY_RATE_BURST": "0"}, "VHUPAY_RATE_BURST"},
		"tiny header cap":          {map[string]string{"VHUPAY_MAX_HEADER_BYTES": "100"}, "VHUPAY_MAX_HEADER_BYTES"},
		"no connections":           {map[string]string{"VHUPAY_MAX_CONNECTIONS": "0"}, "VHUPAY_MAX_CONNECTIONS"},
		"lifetime not a duration":  {map[string]string{"VHUPAY_JWT_MAX_LIFETIME": "a day"}, "VHUPAY_JWT_MAX_LIFETIME"},
	} {
		if _, err := Load(env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %s", name, err, tc.want)
		}
	}
}
