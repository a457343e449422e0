// Package sepa holds vhupay's rules for paying by SEPA direct debit: IBAN and BIC checks, who may
// pay by SEPA (eligibility), how much (the ceiling), and when a financial score counts.
//
// The files iban.go, eligibility.go, ceiling.go and score.go are pure: no I/O, no database, no
// network. They take a snapshot of the facts and the time, and return a decision.
package sepa

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/vhupay/vhupay/internal/iban"
	"github.com/vhupay/vhupay/internal/psp"
)

// Errors returned by ParseIBAN, each saying why an IBAN was refused. Errors carry the country and
// lengths at most, never the IBAN itself.
var (
	// ErrIBANFormat: characters other than letters and digits, or not the shape
	// "two letters, two digits, then letters and digits".
	ErrIBANFormat = errors.New("iban: malformed")
	// ErrIBANCountry: the country code is not one of a SEPA country (see SEPACountries).
	ErrIBANCountry = errors.New("iban: not a SEPA country")
	// ErrIBANLength: the length is not the one of the IBAN's country.
	ErrIBANLength = errors.New("iban: wrong length for its country")
	// ErrIBANChecksum: the check digits are wrong (ISO 7064 mod 97-10), or are 00, 01 or 99,
	// which no IBAN may carry.
	ErrIBANChecksum = errors.New("iban: wrong check digits")
)

// ibanLengths is the IBAN length of every country of the SEPA schemes' geographical scope, from
// the SWIFT IBAN registry and the EPC's list (EPC409-09):
//   - the 27 EU members;
//   - the other EEA members: IS, LI, NO;
//   - CH, GB, GI, MC, SM, VA, AD;
//   - AL, MD, ME, MK, which joined the scope between November 2024 and March 2025.
//
// Territories inside the scheme that have no IBAN code of their own use their state's: French
// Guiana, Guadeloupe, Martinique, Mayotte, Réunion, Saint-Barthélemy, Saint-Martin and
// Saint-Pierre-et-Miquelon use FR; Åland uses FI; the Azores and Madeira use PT; the Canary
// Islands, Ceuta and Melilla use ES; Guernsey, Jersey and the Isle of Man use GB. New Caledonia,
// French Polynesia and Wallis-and-Futuna (XPF) are outside SEPA; their IBANs also start with FR
// and cannot be told apart by the IBAN alone.
var ibanLengths = map[string]int{
	// EU
	"AT": 20, "BE": 16, "BG": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
	"FI": 18, "FR": 27, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IT": 27, "LT": 20, "LU": 20,
	"LV": 21, "MT": 31, "NL": 18, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24,
	// EEA outside the EU
	"IS": 26, "LI": 21, "NO": 15,
	// the other scheme countries and territories
	"AD": 24, "CH": 21, "GB": 22, "GI": 23, "MC": 27, "SM": 27, "VA": 22,
	// joined the geographical scope in 2024–2025
	"AL": 28, "MD": 24, "ME": 22, "MK": 19,
}

// SEPACountries returns the IBAN country codes ParseIBAN accepts and their IBAN lengths. The map
// is a fresh copy the caller may keep.
func SEPACountries() map[string]int {
	out := make(map[string]int, len(ibanLengths))
	for c, n := range ibanLengths {
		out[c] = n
	}
	return out
}

// maxIBANInput bounds the raw input ParseIBAN looks at: the longest IBAN (34 characters) written
// with a space between every character fits well within it.
const maxIBANInput = 128

// IBAN is a validated IBAN of a SEPA country, in its normalised electronic form (upper case, no
// spaces). Its zero value is not a valid IBAN.
//
// It never shows itself in clear: String, Format (every fmt verb, %#v included), LogValue and
// MarshalText all give the masked form. Reveal is the only way to the full value.
type IBAN struct {
	value string
}

// ParseIBAN normalises s (it removes white space, including non-breaking spaces, and upper-cases
// ASCII letters) and checks that it is an IBAN of a SEPA country. The errors, checked in this
// order, are ErrIBANFormat, ErrIBANCountry, ErrIBANLength and ErrIBANChecksum (wrapped, with the
// country and lengths but never the IBAN).
func ParseIBAN(s string) (IBAN, error) {
	if len(s) > maxIBANInput {
		return IBAN{}, fmt.Errorf("%w: longer than %d characters", ErrIBANFormat, maxIBANInput)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r >= 'a' && r <= 'z':
			b.WriteByte(byte(r - 'a' + 'A'))
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteByte(byte(r))
		default:
			return IBAN{}, fmt.Errorf("%w: only letters, digits and spaces are allowed", ErrIBANFormat)
		}
	}
	v := b.String()
	if len(v) < 5 || !isUpper(v[0]) || !isUpper(v[1]) || !isDigit(v[2]) || !isDigit(v[3]) {
		return IBAN{}, fmt.Errorf("%w: an IBAN starts with two letters and two digits", ErrIBANFormat)
	}
	country := v[:2]
	want, ok := ibanLengths[country]
	if !ok {
		return IBAN{}, fmt.Errorf("%w: %s", ErrIBANCountry, country)
	}
	if len(v) != want {
		return IBAN{}, fmt.Errorf("%w: %s IBANs have %d characters, not %d", ErrIBANLength, country, want, len(v))
	}
	if cd := v[2:4]; cd == "00" || cd == "01" || cd == "99" {
		return IBAN{}, fmt.Errorf("%w: check digits %s are never issued", ErrIBANChecksum, cd)
	}
	if !iban.Valid(v) {
		return IBAN{}, ErrIBANChecksum
	}
	return IBAN{value: v}, nil
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Country returns the ISO 3166 country code the IBAN starts with ("FR").
func (i IBAN) Country() string {
	if len(i.value) < 2 {
		return ""
	}
	return i.value[:2]
}

// Last4 returns the last 4 characters ("0189"), which vhupay keeps to show the account.
func (i IBAN) Last4() string {
	if len(i.value) < 4 {
		return ""
	}
	return i.value[len(i.value)-4:]
}

// Masked returns the IBAN in groups of 4 with every character except the first 4 and the last 4
// replaced by '*': FR7630006000011234567890189 → "FR76 **** **** **** **** ***0 189". Its length
// is always n + (n-1)/4 for an IBAN of n characters. The zero IBAN gives "".
func (i IBAN) Masked() string { return psp.MaskIBAN(i.value) }

// Fingerprint returns the hex HMAC-SHA256 of the normalised IBAN under key, a server secret. The
// same IBAN gives the same fingerprint under the same key however it was typed (spaces, case), so
// it can be stored and compared to refuse an account added twice, without storing the IBAN. An
// empty key still gives a result, but one anyone can recompute: the caller must pass a secret.
func (i IBAN) Fingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(i.value))
	return hex.EncodeToString(m.Sum(nil))
}

// Reveal returns the full normalised IBAN. Its only use is to hand it to the payment provider;
// never store, log or return it.
func (i IBAN) Reveal() string { return i.value }

// IsZero reports whether i is the zero IBAN (not the result of a successful ParseIBAN).
func (i IBAN) IsZero() bool { return i.value == "" }

// String returns the masked form.
func (i IBAN) String() string { return i.Masked() }

// GoString returns the masked form, so that %#v does not show the value.
func (i IBAN) GoString() string { return "sepa.IBAN(" + i.Masked() + ")" }

// Format prints the masked form for every verb (%s, %v, %+v, %d, %x, ...), and GoString for %#v.
func (i IBAN) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, i.GoString())
		return
	}
	fmt.Fprint(f, i.Masked())
}

// LogValue makes slog record the masked form.
func (i IBAN) LogValue() slog.Value { return slog.StringValue(i.Masked()) }

// MarshalText gives the masked form, so that encoding an IBAN (JSON, XML) cannot leak it either.
func (i IBAN) MarshalText() ([]byte, error) { return []byte(i.Masked()), nil }

// ValidBIC reports whether s has the shape of an ISO 9362 BIC, upper case, without spaces: a
// 4-character party prefix (letters or digits, since ISO 9362:2014), a 2-letter country code, a
// 2-character location code, and optionally a 3-character branch code — 8 or 11 characters.
// It does not check that the BIC exists. Use NormalizeBIC first to accept "bnpa fr pp".
func ValidBIC(s string) bool {
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for k := range len(s) {
		c := s[k]
		switch {
		case k == 4 || k == 5:
			if !isUpper(c) {
				return false
			}
		case !isUpper(c) && !isDigit(c):
			return false
		}
	}
	return true
}

// NormalizeBIC removes white space and upper-cases ASCII letters; it does not validate.
func NormalizeBIC(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
