package sepa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sandboxIBANs are SANDBOX.md's test IBANs; all must be valid.
var sandboxIBANs = []string{
	"FR7630006000011234567890189",
	"FR7630004000031234567890143",
	"DE89370400440532013000",
	"FR9230006000011234567890289",
	"FR1130006000011234567890389",
}

// registryExamples are published example IBANs, one per SEPA country.
var registryExamples = []string{
	"AD1200012030200359100100", "AL47212110090000000235698741", "AT611904300234573201",
	"BE68539007547034", "BG80BNBG96611020345678", "CH9300762011623852957",
	"CY17002001280000001200527600", "CZ6508000000192000145399", "DE89370400440532013000",
	"DK5000400440116243", "EE382200221020145685", "ES9121000418450200051332",
	"FI2112345600000785", "FR1420041010050500013M02606", "GB82WEST12345698765432",
	"GI75NWBK000000007099453", "GR1601101250000000012300695", "HR1210010051863000160",
	"HU42117730161111101800000000", "IE29AIBK93115212345678", "IS140159260076545510730339",
	"IT60X0542811101000000123456", "LI21088100002324013AA", "LT121000011101001000",
	"LU280019400644750000", "LV80BANK0000435195001", "MC5811222000010123456789030",
	"MD24AG000225100013104168", "ME25505000012345678951", "MK07250120000058984",
	"MT84MALT011000012345MTLCAST001S", "NL91ABNA0417164300", "NO9386011117947",
	"PL61109010140000071219812874", "PT50000201231234567890154", "RO49AAAA1B31007593840000",
	"SE4550000000058398257466", "SI56263300012039086", "SK3112000000198742637541",
	"SM86U0322509800000000270100", "VA59001123000012345678",
}

func TestParseIBANAcceptsSandboxAndRegistryExamples(t *testing.T) {
	for _, s := range append(append([]string{}, sandboxIBANs...), registryExamples...) {
		iban, err := ParseIBAN(s)
		if err != nil {
			t.Errorf("ParseIBAN(%s) = %v", s, err)
			continue
		}
		if iban.Reveal() != s {
			t.Errorf("ParseIBAN(%s).Reveal() = %s", s, iban.Reveal())
		}
	}
}

func TestEveryCountryHasAnExample(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range registryExamples {
		seen[s[:2]] = true
		if want := SEPACountries()[s[:2]]; len(s) != want {
			t.Errorf("%s: length %d, table says %d", s, len(s), want)
		}
	}
	for c := range SEPACountries() {
		if !seen[c] {
			t.Errorf("country %s has no example", c)
		}
	}
	if len(SEPACountries()) != 41 {
		t.Errorf("%d SEPA countries, want 41 (EU 27, IS LI NO, AD CH GB GI MC SM VA, AL MD ME MK)", len(SEPACountries()))
	}
}

func TestSEPACountriesIsACopy(t *testing.T) {
	m := SEPACountries()
	m["US"] = 20
	delete(m, "FR")
	if _, err := ParseIBAN("FR7630006000011234567890189"); err != nil {
		t.Fatalf("changing the copy changed the table: %v", err)
	}
}

func TestParseIBANNormalises(t *testing.T) {
	const want = "FR7630006000011234567890189"
	for _, in := range []string{
		"FR76 3000 6000 0112 3456 7890 189",
		"fr7630006000011234567890189",
		" Fr76 3000\t6000 0112\n3456 7890 189 ",
		"FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189", // non-breaking spaces
		"FR76 30006000 0112 3456 78 90 1 8 9",
	} {
		iban, err := ParseIBAN(in)
		if err != nil {
			t.Errorf("ParseIBAN(%q) = %v", in, err)
			continue
		}
		if iban.Reveal() != want {
			t.Errorf("ParseIBAN(%q) = %s, want %s", in, iban.Reveal(), want)
		}
	}
}

func TestParseIBANRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrIBANFormat},
		{"only spaces", "    ", ErrIBANFormat},
		{"too short", "FR7", ErrIBANFormat},
		{"country and digits only", "FR76", ErrIBANFormat},
		{"digit country", "1R7630006000011234567890189", ErrIBANFormat},
		{"letter check digit", "FR7A30006000011234567890189", ErrIBANFormat},
		{"hyphens", "FR76-3000-6000-0112-3456-7890-189", ErrIBANFormat},
		{"punctuation", "FR76.30006000011234567890189", ErrIBANFormat},
		{"accented letter", "FR76é0006000011234567890189", ErrIBANFormat},
		{"fullwidth digit", "FR76３0006000011234567890189", ErrIBANFormat},
		{"very long input", strings.Repeat("F R ", 40), ErrIBANFormat},
		{"not SEPA: Turkey", "TR330006100519786457841326", ErrIBANCountry},
		{"not SEPA: Brazil", "BR1800360305000010009795493C1", ErrIBANCountry},
		{"not SEPA: Saudi Arabia", "SA0380000000608010167519", ErrIBANCountry},
		{"not SEPA: United States", "US64SVBKUS6S3300958879", ErrIBANCountry},
		{"overseas code instead of FR", "GP7630006000011234567890189", ErrIBANCountry},
		{"FR one short", "FR763000600001123456789018", ErrIBANLength},
		{"FR one long", "FR76300060000112345678901890", ErrIBANLength},
		{"DE as long as FR", "DE8937040044053201300000000", ErrIBANLength},
		{"NO, shortest", "NO938601111794", ErrIBANLength},
		{"last digit changed", "FR7630006000011234567890188", ErrIBANChecksum},
		{"two digits swapped", "FR7630006000011234567890198", ErrIBANChecksum},
		{"check digits changed", "FR7730006000011234567890189", ErrIBANChecksum},
		{"DE check", "DE88370400440532013000", ErrIBANChecksum},
		{"GB letters changed", "GB82WEST12345698765433", ErrIBANChecksum},
		{"check digits 00", mustCheckDigits(t, "FR", "00"), ErrIBANChecksum},
		{"check digits 01", mustCheckDigits(t, "FR", "01"), ErrIBANChecksum},
		{"check digits 99", mustCheckDigits(t, "FR", "99"), ErrIBANChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iban, err := ParseIBAN(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseIBAN(%q) err = %v, want %v", tt.in, err, tt.want)
			}
			if !iban.IsZero() {
				t.Errorf("refused IBAN is not zero: %v", iban)
			}
			if len(tt.in) >= 8 && strings.Contains(err.Error(), strings.ReplaceAll(tt.in, " ", "")) {
				t.Errorf("error %q contains the IBAN", err)
			}
		})
	}
}

// mustCheckDigits returns an IBAN of country with the given check digits whose mod-97 remainder
// is 1 despite them, so that only the 00/01/99 rule can refuse it: it searches BBANs whose
// remainder with those check digits is 1.
func mustCheckDigits(t *testing.T, country, cd string) string {
	t.Helper()
	for n := 0; n < 100000; n++ {
		v := fmt.Sprintf("%s%s%023d", country, cd, n)
		if bigMod97(v) == 1 {
			return v
		}
	}
	t.Fatalf("no %s IBAN with check digits %s passes mod 97", country, cd)
	return ""
}

// bigMod97 is an independent mod-97 computation with math/big.
func bigMod97(v string) int64 {
	r := v[4:] + v[:4]
	var digits strings.Builder
	for _, c := range r {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			fmt.Fprintf(&digits, "%d", c-'A'+10)
		default:
			return -1
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return -1
	}
	return new(big.Int).Mod(n, big.NewInt(97)).Int64()
}

func TestIBANAccessors(t *testing.T) {
	tests := []struct {
		in                     string
		country, last4, masked string
	}{
		{"FR7630006000011234567890189", "FR", "0189", "FR76 **** **** **** **** ***0 189"},
		{"DE89370400440532013000", "DE", "3000", "DE89 **** **** **** **30 00"},
		{"NO9386011117947", "NO", "7947", "NO93 **** ***7 947"},
		{"BE68539007547034", "BE", "7034", "BE68 **** **** 7034"},
		{"MT84MALT011000012345MTLCAST001S", "MT", "001S", "MT84 **** **** **** **** **** ***0 01S"},
	}
	for _, tt := range tests {
		iban, err := ParseIBAN(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{iban.Country(), iban.Last4(), iban.Masked(), iban.String()}
		want := []string{tt.country, tt.last4, tt.masked, tt.masked}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, d)
		}
	}
	var zero IBAN
	if zero.Country() != "" || zero.Last4() != "" || zero.Masked() != "" || !zero.IsZero() {
		t.Errorf("zero IBAN: %q %q %q", zero.Country(), zero.Last4(), zero.Masked())
	}
}

func TestFingerprint(t *testing.T) {
	key := []byte("server secret")
	a, _ := ParseIBAN("FR7630006000011234567890189")
	b, _ := ParseIBAN("fr76 3000 6000 0112 3456 7890 189")
	c, _ := ParseIBAN("FR7630004000031234567890143")
	fa := a.Fingerprint(key)
	if len(fa) != 64 || strings.Trim(fa, "0123456789abcdef") != "" {
		t.Fatalf("fingerprint %q is not 64 hex digits", fa)
	}
	if fb := b.Fingerprint(key); fb != fa {
		t.Errorf("same IBAN typed differently: %s != %s", fb, fa)
	}
	if fc := c.Fingerprint(key); fc == fa {
		t.Error("two IBANs share a fingerprint")
	}
	if other := a.Fingerprint([]byte("another secret")); other == fa {
		t.Error("the key does not change the fingerprint")
	}
	if strings.Contains(fa, a.Reveal()) {
		t.Error("fingerprint contains the IBAN")
	}
}

func TestIBANNeverPrintedInClear(t *testing.T) {
	iban, err := ParseIBAN("FR7630006000011234567890189")
	if err != nil {
		t.Fatal(err)
	}
	full := iban.Reveal()
	type account struct {
		Owner string
		IBAN  IBAN
	}
	outputs := map[string]string{
		"Sprint":         fmt.Sprint(iban),
		"Sprintln":       fmt.Sprintln(iban),
		"%v":             fmt.Sprintf("%v", iban),
		"%+v":            fmt.Sprintf("%+v", iban),
		"%#v":            fmt.Sprintf("%#v", iban),
		"%s":             fmt.Sprintf("%s", iban),
		"%q":             fmt.Sprintf("%q", iban),
		"%d":             fmt.Sprintf("%d", iban),
		"%x":             fmt.Sprintf("%x", iban),
		"%T %v pointer":  fmt.Sprintf("%v", &iban),
		"struct %+v":     fmt.Sprintf("%+v", account{"Garage", iban}),
		"struct %#v":     fmt.Sprintf("%#v", account{"Garage", iban}),
		"slice":          fmt.Sprint([]IBAN{iban}),
		"map":            fmt.Sprint(map[string]IBAN{"a": iban}),
		"error wrapping": fmt.Errorf("add %v: %w", iban, errors.New("boom")).Error(),
	}
	var buf bytes.Buffer
	jsonLog := slog.New(slog.NewJSONHandler(&buf, nil))
	jsonLog.Info("bank account added", "iban", iban, slog.Any("ptr", &iban), slog.Any("account", account{"Garage", iban}),
		slog.Group("g", "iban", iban))
	outputs["slog JSON"] = buf.String()
	buf.Reset()
	textLog := slog.New(slog.NewTextHandler(&buf, nil))
	textLog.Info("bank account added", "iban", iban, slog.Any("account", account{"Garage", iban}))
	outputs["slog text"] = buf.String()
	js, err := json.Marshal(account{"Garage", iban})
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(js)

	for name, out := range outputs {
		if strings.Contains(out, full) || strings.Contains(out, full[4:23]) {
			t.Errorf("%s shows the IBAN: %s", name, out)
		}
		if !strings.Contains(out, "FR76 **** **** **** **** ***0 189") && name != "%x" && name != "%d" {
			t.Errorf("%s does not show the masked form: %s", name, out)
		}
	}
	if !strings.Contains(outputs["slog JSON"], `"iban":"FR76 **** **** **** **** ***0 189"`) {
		t.Errorf("slog JSON: %s", outputs["slog JSON"])
	}
}

func TestValidBIC(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"BNPAFRPP", true},
		{"BNPAFRPPXXX", true},
		{"DEUTDEFF500", true},
		{"AGRIFRPP882", true},
		{"1234FRPP", true}, // ISO 9362:2014 allows digits in the party prefix
		{"BNPAFR2P", true},
		{"", false},
		{"BNPAFRP", false},
		{"BNPAFRPPX", false},
		{"BNPAFRPPXX", false},
		{"BNPAFRPPXXXX", false},
		{"BNPA1RPP", false}, // country must be letters
		{"BNPAF1PP", false},
		{"bnpafrpp", false}, // NormalizeBIC first
		{"BNPA FRPP", false},
		{"BNP@FRPP", false},
		{"BNPAFRPP-XX", false},
		{"BNPAFRPÉ", false},
	}
	for _, tt := range tests {
		if got := ValidBIC(tt.in); got != tt.want {
			t.Errorf("ValidBIC(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := NormalizeBIC(" bnpa fr pp\txxx "); got != "BNPAFRPPXXX" || !ValidBIC(got) {
		t.Errorf("NormalizeBIC = %q", got)
	}
}

func FuzzParseIBAN(f *testing.F) {
	for _, s := range append(append([]string{}, sandboxIBANs...), registryExamples...) {
		f.Add(s)
	}
	for _, s := range []string{
		"", "FR", "FR76", "fr76 3000 6000 0112 3456 7890 189", "FR7630006000011234567890188",
		"GB00WEST12345698765432", "TR330006100519786457841326", "FR76\u00a03000", "ÿÿÿÿ", "FR7630006000011234567890189\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iban, err := ParseIBAN(s)
		if err != nil {
			if !iban.IsZero() {
				t.Fatalf("refused %q but returned %v", s, iban)
			}
			if !errors.Is(err, ErrIBANFormat) && !errors.Is(err, ErrIBANCountry) &&
				!errors.Is(err, ErrIBANLength) && !errors.Is(err, ErrIBANChecksum) {
				t.Fatalf("ParseIBAN(%q) = %v, not one of the sentinels", s, err)
			}
			return
		}
		v := iban.Reveal()
		again, err := ParseIBAN(v)
		if err != nil || again != iban {
			t.Fatalf("%q accepted as %s, re-parses to %v, %v", s, v, again.Reveal(), err)
		}
		if spaced, err := ParseIBAN(iban.Masked()); err == nil {
			t.Fatalf("the masked form %q parses as %s", iban.Masked(), spaced.Reveal())
		}
		if want, ok := SEPACountries()[iban.Country()]; !ok || len(v) != want {
			t.Fatalf("%s: country %s, length %d, table %d %v", v, iban.Country(), len(v), want, ok)
		}
		if strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Fatalf("%q is not upper-case alphanumeric", v)
		}
		if bigMod97(v) != 1 {
			t.Fatalf("%s fails mod 97", v)
		}
		m := iban.Masked()
		if len(m) != len(v)+(len(v)-1)/4 {
			t.Fatalf("masked %q has length %d for an IBAN of %d", m, len(m), len(v))
		}
		if strings.ReplaceAll(m, " ", "") != v[:4]+strings.Repeat("*", len(v)-8)+v[len(v)-4:] {
			t.Fatalf("masked %q does not keep only the first and last 4 of %s", m, v)
		}
		for k, c := range m {
			if (k%5 == 4) != (c == ' ') {
				t.Fatalf("masked %q is not in groups of 4", m)
			}
		}
		if iban.Last4() != v[len(v)-4:] || iban.Country() != v[:2] {
			t.Fatalf("accessors of %s: %s %s", v, iban.Country(), iban.Last4())
		}
	})
}
