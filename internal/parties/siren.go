package parties

// ValidSIREN reports whether s is 9 digits with a valid Luhn checksum.
func ValidSIREN(s string) bool { return len(s) == 9 && digits(s) && luhn(s) }

// laPosteSIREN is La Poste's SIREN: its establishments' SIRETs do not follow Luhn; instead the sum
// of the 14 digits is a multiple of 5 (INSEE's rule), except the head office, which follows Luhn.
const laPosteSIREN = "356000000"

// ValidSIRET reports whether s is 14 digits whose SIREN part is valid and whose whole passes Luhn,
// or, for La Poste's establishments, whose digit sum is a multiple of 5.
func ValidSIRET(s string) bool {
	if len(s) != 14 || !digits(s) || !ValidSIREN(s[:9]) {
		return false
	}
	if luhn(s) {
		return true
	}
	if s[:9] == laPosteSIREN {
		sum := 0
		for i := 0; i < len(s); i++ {
			sum += int(s[i] - '0')
		}
		return sum%5 == 0
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhn checks the Luhn checksum of a digit string (the rightmost digit is the check digit).
func luhn(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
