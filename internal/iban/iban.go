// Package iban holds the one IBAN checksum of vhupay: the SEPA rules (internal/sepa), the sandbox
// bank and the MangoPay fake all check IBANs with it. It imports nothing of vhupay.
package iban

// Valid reports whether s, an upper-case IBAN without spaces, has an IBAN's shape (two letters,
// two digits, then letters and digits, 15 to 34 characters in all) and a correct ISO 7064
// mod 97-10 checksum. Country lengths are the caller's business (internal/sepa checks them).
func Valid(s string) bool {
	if len(s) < 15 || len(s) > 34 || !upper(s[0]) || !upper(s[1]) || !digit(s[2]) || !digit(s[3]) {
		return false
	}
	for i := 4; i < len(s); i++ {
		if !upper(s[i]) && !digit(s[i]) {
			return false
		}
	}
	return mod97(s) == 1
}

// mod97 is the remainder of the IBAN with its first four characters moved to the end and its
// letters replaced by 10..35, read as one decimal number, computed digit by digit.
func mod97(s string) int {
	r := 0
	for i := range len(s) {
		c := s[(i+4)%len(s)]
		if digit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	return r
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }
func digit(c byte) bool { return c >= '0' && c <= '9' }
