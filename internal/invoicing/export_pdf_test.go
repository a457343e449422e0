package invoicing

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// longStatement has n orders, each with a BL or BR and two lines (20 % and
// 5.5 %) totalling 142,24 € incl. VAT, issued on 1 December.
func longStatement(t *testing.T, n int) Statement {
	t.Helper()
	orders := make([]StatementOrder, 0, n)
	for i := range n {
		at := time.Date(2026, 11, 1+i%30, 10, 0, 0, 0, time.UTC)
		kind := NoteBL
		if i%2 == 1 {
			kind = NoteBR
		}
		o := order(fmt.Sprintf("ord_%04d", i), at,
			[]DeliveryNote{{Kind: kind, Number: fmt.Sprintf("N%04d", i), CreatedAt: at}},
			line("ALT", 1, 1000, 2000),   // 10,00 + 2,00
			line("PHARE", 1, 12345, 550), // 123,45 + 6,79 (6.78975)
		)
		o.ExternalReference = fmt.Sprintf("PO-%d", i)
		orders = append(orders, o)
	}
	st, err := BuildStatement("stm_0123456789", testAccount, "2026-11", orders)
	if err != nil {
		t.Fatalf("BuildStatement: %v", err)
	}
	if err := st.Issue(time.Date(2026, 11, 30, 23, 5, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return st
}

var blanks = regexp.MustCompile(`[ \t\x{00a0}]+`)

// pdfText renders st and returns the text pdftotext extracts in layout mode,
// with every run of blanks (no-break spaces included) collapsed to one space
// and lines kept, and the number of pages.
func pdfText(t *testing.T, st Statement, now time.Time) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("VHUPAY_TEST_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is required here (VHUPAY_TEST_REQUIRE_PDFTOTEXT is set): apt-get install poppler-utils")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils); .ci/run installs it")
	}
	seller, buyer := testParties()
	path := filepath.Join(t.TempDir(), "statement.pdf")
	var buf bytes.Buffer
	if err := WritePDF(&buf, st, seller, buyer, now); err != nil {
		t.Fatalf("WritePDF: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := blanks.ReplaceAllString(string(out), " ")
	return text, strings.Count(text, "\f")
}

func TestWritePDFLongStatement(t *testing.T) {
	st := longStatement(t, 200)
	now := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	text, pages := pdfText(t, st, now)

	if pages < 3 {
		t.Errorf("200 orders fit on %d pages; want the table to flow onto several pages", pages)
	}
	wants := []string{
		"Relevé mensuel de facturation",
		"novembre 2026",
		"stm_0123456789",
		"Casse Auto Sérénité", "SIRET 732 829 320 00074", "12 rue des Érables", "69007 Lyon",
		"Garage Dupré & Fils", "SIREN 552 100 554", "Bâtiment B",
		"Statut : émis",
		"Émis le : 01/12/2026", // 23:05 UTC on 30 November is 1 December in Paris
		"Édité le : 01/12/2026",
		"01/11/2026 ord_0000 PO-0 BL N0000 133,45 € 8,79 € 142,24 €",
		"20/11/2026 ord_0199 PO-199 BR N0199 133,45 € 8,79 € 142,24 €",
		"BR N0001", "BL N0198",
		"Récapitulatif de TVA",
		"5,5 % 24 690,00 € 1 358,00 € 26 048,00 €", // 200 × (123,45 + 6,79)
		"20 % 2 000,00 € 400,00 € 2 400,00 €",
		"Total HT 26 690,00 €",
		"Total TVA 1 758,00 €",
		"Total TTC 28 448,00 €", // 200 × 142,24
		fmt.Sprintf("page %d/%d", pages, pages),
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("extracted text, first page:\n%s", strings.SplitN(text, "\f", 2)[0])
	}
}

func TestWritePDFEmptyAndOpen(t *testing.T) {
	st, err := BuildStatement("stm_empty", testAccount, "2027-02", nil)
	if err != nil {
		t.Fatal(err)
	}
	text, pages := pdfText(t, st, time.Date(2027, 3, 1, 7, 0, 0, 0, time.UTC))
	if pages != 1 {
		t.Errorf("empty statement on %d pages, want 1", pages)
	}
	for _, want := range []string{"février 2027", "stm_empty", "ouvert (provisoire)", "Aucune commande", "0,00 €"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if strings.Contains(text, "Émis le") {
		t.Error("an open statement shows an issue date")
	}
}

func TestWritePDFDeterministic(t *testing.T) {
	st := longStatement(t, 30)
	seller, buyer := testParties()
	now := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	var a, b bytes.Buffer
	if err := WritePDF(&a, st, seller, buyer, now); err != nil {
		t.Fatal(err)
	}
	if err := WritePDF(&b, st, seller, buyer, now); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", a.Bytes()[:min(a.Len(), 8)])
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renders with the same now differ")
	}
}

func TestWritePDFErrors(t *testing.T) {
	seller, buyer := testParties()
	now := time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)

	bad := Statement{ID: "stm_1", Month: "2026-13", Status: StatementOpen}
	if err := WritePDF(&bytes.Buffer{}, bad, seller, buyer, now); !errors.Is(err, ErrInvalidMonth) {
		t.Errorf("WritePDF with month 2026-13: err = %v, want ErrInvalidMonth", err)
	}

	boom := errors.New("disk full")
	st := longStatement(t, 3)
	if err := WritePDF(&failingWriter{ok: 100, err: boom}, st, seller, buyer, now); !errors.Is(err, boom) {
		t.Errorf("WritePDF to a failing writer: err = %v, want %v", err, boom)
	}
}
