package invoicing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testParties() (seller, buyer Party) {
	seller = Party{
		Name: "Casse Auto Sérénité", SIRENorSIRET: "73282932000074",
		Address: Address{Line1: "12 rue des Érables", PostalCode: "69007", City: "Lyon", Country: "FR"},
	}
	buyer = Party{
		Name: "Garage Dupré & Fils", SIRENorSIRET: "552100554",
		Address: Address{Line1: "3 avenue Foch", Line2: "Bâtiment B", PostalCode: "75016", City: "Paris", Country: "FR"},
	}
	return seller, buyer
}

func TestWriteCSV(t *testing.T) {
	// 23:30 UTC on 30 November is 1 December in Paris.
	lateNov := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	early := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	o1 := order("ord_1", early, []DeliveryNote{{Kind: NoteBL, Number: "BL-001", CreatedAt: early}, {Kind: NoteBR, Number: "-7", CreatedAt: lateNov}},
		line("ALT-1", 2, 123456, 2000), // 2 469,12 + 493,82 (493.824)
		line("=SUM(A1)", 1, 1235, 550), // 12,35 + 0,68 (0.67925)
	)
	o1.ExternalReference = "PO 2026/11"
	o1.Lines[1].Label = "@cmd"
	o2 := order("ord_2", lateNov, nil, line("FEU-9", 3, 1999, 1000)) // 59,97 + 6,00 (5.997)
	st, err := BuildStatement("stm_1", testAccount, "2026-11", []StatementOrder{o2, o1})
	if err != nil {
		t.Fatalf("BuildStatement: %v", err)
	}
	if err := st.Issue(lateNov); err != nil {
		t.Fatal(err)
	}
	seller, buyer := testParties()

	var buf bytes.Buffer
	if err := WriteCSV(&buf, st, seller, buyer); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	raw := buf.String()
	body, ok := strings.CutPrefix(raw, "\ufeff")
	if !ok {
		t.Fatalf("CSV does not start with a UTF-8 BOM: %q", raw[:min(len(raw), 10)])
	}
	if !strings.Contains(body, "\r\n") {
		t.Error("CSV lines do not end with CRLF")
	}

	r := csv.NewReader(strings.NewReader(body))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	got, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	want := [][]string{
		{"Relevé mensuel", "stm_1"},
		{"Mois", "2026-11"},
		{"Statut", "émis"},
		{"Devise", "EUR"},
		{"Vendeur", "Casse Auto Sérénité", "SIRET", "73282932000074"},
		{"Acheteur", "Garage Dupré & Fils", "SIREN", "552100554"},
		// The empty line is skipped by csv.Reader.
		{"Commande", "Date", "Réf. commande", "Bons BL/BR", "Référence", "Désignation", "Quantité", "PU HT (€)", "Taux TVA (%)", "Total HT (€)", "TVA (€)", "Total TTC (€)"},
		{"ord_1", "2026-11-02", "PO 2026/11", "BL BL-001, BR -7", "ALT-1", "Pièce ALT-1", "2", "1234,56", "20", "2469,12", "493,82", "2962,94"},
		{"ord_1", "2026-11-02", "PO 2026/11", "BL BL-001, BR -7", "'=SUM(A1)", "'@cmd", "1", "12,35", "5,5", "12,35", "0,68", "13,03"},
		{"ord_2", "2026-12-01", "", "", "FEU-9", "Pièce FEU-9", "3", "19,99", "10", "59,97", "6,00", "65,97"},
		{"Total", "", "", "", "", "", "", "", "", "2541,44", "500,50", "3041,94"},
		{"TVA", "", "", "", "", "", "", "", "5,5", "12,35", "0,68", "13,03"},
		{"TVA", "", "", "", "", "", "", "", "10", "59,97", "6,00", "65,97"},
		{"TVA", "", "", "", "", "", "", "", "20", "2469,12", "493,82", "2962,94"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV read back (-want +got):\n%s", diff)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"plain":     "plain",
		"=1+1":      "'=1+1",
		"+33 6":     "'+33 6",
		"-2":        "'-2",
		"@SUM(A1)":  "'@SUM(A1)",
		"\tx":       "'\tx",
		"\rx":       "'\rx",
		"a=b":       "a=b",
		"éclairage": "éclairage",
	} {
		if got := safeCell(in); got != want {
			t.Errorf("safeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// failingWriter accepts its first ok bytes, then fails with err.
type failingWriter struct {
	ok  int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.ok {
		w.ok -= len(p)
		return len(p), nil
	}
	n := w.ok
	w.ok = 0
	return n, w.err
}

func TestWriteCSVWriterError(t *testing.T) {
	st, err := BuildStatement("stm_1", testAccount, "2026-11", nil)
	if err != nil {
		t.Fatal(err)
	}
	seller, buyer := testParties()
	boom := errors.New("disk full")
	for _, ok := range []int{0, len("\ufeff"), 100} {
		if err := WriteCSV(&failingWriter{ok: ok, err: boom}, st, seller, buyer); !errors.Is(err, boom) {
			t.Errorf("WriteCSV to a writer failing after %d bytes: err = %v, want %v", ok, err, boom)
		}
	}
}
