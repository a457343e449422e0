package psp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/psp"
)

func TestMaskIBAN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"FR7630006000011234567890189", "FR76 **** **** **** **** ***0 189"},
		{"FR76 3000 6000 0112 3456 7890 189", "FR76 **** **** **** **** ***0 189"},
		{"de89370400440532013000", "DE89 **** **** **** **30 00"},
		{"FR76123", "**** ***"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := psp.MaskIBAN(tt.in); got != tt.want {
			t.Errorf("MaskIBAN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBankAccountRequestMasksIBAN(t *testing.T) {
	const iban = "FR7630006000011234567890189"
	req := psp.BankAccountRequest{UserID: "u", OwnerName: "Garage", IBAN: iban, BIC: "AGRIFRPP"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "req", req)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "req", req)
	encoded, err := json.Marshal(map[string]any{"req": req})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String() + string(encoded) + fmt.Sprintf("%v %+v %#v %s", req, req, req, req)
	if strings.Contains(out, iban) || strings.Contains(out, "300060000112345678901") {
		t.Fatalf("IBAN leaked:\n%s", out)
	}
}

func TestCardRegistrationMasksSecrets(t *testing.T) {
	r := psp.CardRegistration{ID: "cr", AccessKey: "ACCESS-SECRET", PreregistrationData: "PRE-SECRET"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "reg", r)
	out := buf.String() + r.String()
	if strings.Contains(out, "ACCESS-SECRET") || strings.Contains(out, "PRE-SECRET") {
		t.Fatalf("secret leaked:\n%s", out)
	}
}

func TestRejectedError(t *testing.T) {
	err := fmt.Errorf("create wallet: %w", &psp.RejectedError{Code: "param_error", Message: "bad"})
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || rejected.Code != "param_error" {
		t.Fatalf("errors.As: %v", err)
	}
	if errors.Is(err, psp.ErrUnavailable) || errors.Is(err, psp.ErrNotFound) {
		t.Fatal("a refusal is neither unavailable nor not found")
	}
	if got := err.Error(); got != "create wallet: payment provider rejected the request: param_error: bad" {
		t.Fatalf("message %q", got)
	}
}
