package iban_test

import (
	"testing"

	"github.com/vhupay/vhupay/internal/iban"
)

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"FR7630006000011234567890189":           true,
		"DE89370400440532013000":                true,
		"GB82WEST12345698765432":                true,
		"BE68539007547034":                      true,
		"FR7630006000011234567890188":           false, // one digit off
		"FR763000600001123456789018":            false, // checksum of a shorter string
		"fr7630006000011234567890189":           false, // lower case: normalising is the caller's job
		"FR76 3000 6000 0112 3456 7890 189":     false,
		"FR76300060000112345678901\x0089":       false,
		"7630006000011234567890189FR":           false,
		"FR76":                                  false,
		"":                                      false,
		"FR76300060000112345678901891234567890": false, // longer than 34
	} {
		if got := iban.Valid(s); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add("FR7630006000011234567890189")
	f.Fuzz(func(t *testing.T, s string) {
		_ = iban.Valid(s) // never panics, whatever the bytes
	})
}
