package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadJobSettings(t *testing.T) {
	c, err := Load(env(map[string]string{"VHUPAY_MONTH_CLOSE_TIMEOUT": "5m", "VHUPAY_JOB_RESCUE_AFTER": "7m"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MonthCloseTimeout != 5*time.Minute || c.JobRescueAfter != 7*time.Minute {
		t.Errorf("timeout %s, rescue after %s", c.MonthCloseTimeout, c.JobRescueAfter)
	}
	for name, e := range map[string]map[string]string{
		"VHUPAY_MONTH_CLOSE_TIMEOUT": {"VHUPAY_MONTH_CLOSE_TIMEOUT": "soon"},
		"VHUPAY_JOB_RESCUE_AFTER":    {"VHUPAY_JOB_RESCUE_AFTER": "10ms"},
		"must exceed":                {"VHUPAY_MONTH_CLOSE_TIMEOUT": "5m", "VHUPAY_JOB_RESCUE_AFTER": "5m"},
	} {
		if _, err := Load(env(e)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: err = %v, want mention of %q", e, err, name)
		}
	}
}
