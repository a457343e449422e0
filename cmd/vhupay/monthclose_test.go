package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

func TestMonthCloseCommand(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		env := map[string]string{
			"VHUPAY_DATABASE_URL": storagetest.URL(t, b),
			"VHUPAY_JWT_SECRET":   "test-secret-test-secret-test-secret-0123",
		}
		monthClose := func(args ...string) (string, error) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"month-close"}, args...), func(k string) string { return env[k] }, &stdout, &stderr)
			return stdout.String(), err
		}

		now := time.Now().In(clock.Paris())
		month := clock.MonthOf(time.Date(now.Year(), now.Month()-2, 1, 12, 0, 0, 0, clock.Paris()))
		out, err := monthClose("--month", month)
		if err != nil {
			t.Fatalf("month-close: %v\n%s", err, out)
		}
		for _, want := range []string{"started the close of " + month, "the close of " + month + " is completed: 0 score checks"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		out, err = monthClose("--month", month)
		if err != nil || !strings.Contains(out, "the close of "+month+" exists (completed") {
			t.Errorf("second run: %v\n%s", err, out)
		}
		for _, args := range [][]string{{"--month", "2099-01"}, {"--month", "2025-13"}, {}, {"--month", month, "extra"}, {"--month", "0001-01"}} {
			if out, err := monthClose(args...); err == nil {
				t.Errorf("month-close %v succeeded:\n%s", args, out)
			}
		}
		if _, err := monthClose("--month", "2099-01"); err == nil || !strings.Contains(err.Error(), "has not ended yet") {
			t.Errorf("a month not ended: err = %v", err)
		}
	})
}
