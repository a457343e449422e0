package parties

import "testing"

func TestValidSIREN(t *testing.T) {
	for _, s := range []string{"812345676", "823456785", "834567893", "845678903", "856789011", "356000000", "732829320"} {
		if !ValidSIREN(s) {
			t.Errorf("ValidSIREN(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "812345677", "81234567", "8123456760", "81234567a", " 81234567", "000000001"} {
		if ValidSIREN(s) {
			t.Errorf("ValidSIREN(%q) = true, want false", s)
		}
	}
}

func TestValidSIRET(t *testing.T) {
	valid := []string{
		"81234567600017", "82345678500018", "83456789300013",
		"35600000000048", // La Poste head office: Luhn
		"35600000049837", // a La Poste establishment: digit sum 45, a multiple of 5, Luhn fails
	}
	for _, s := range valid {
		if !ValidSIRET(s) {
			t.Errorf("ValidSIRET(%q) = false, want true", s)
		}
	}
	invalid := []string{
		"", "81234567600018", "8123456760001", "812345676000170",
		"81234567700016", // SIREN part invalid
		"35600000049838", // La Poste, digit sum 46
		"8123456760001a",
	}
	for _, s := range invalid {
		if ValidSIRET(s) {
			t.Errorf("ValidSIRET(%q) = true, want false", s)
		}
	}
}
