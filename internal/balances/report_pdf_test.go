package balances

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var blanks = regexp.MustCompile(`[ \t\x{00a0}]+`)

// TestSalesReportPDF: the month's report as a French PDF, read back with pdftotext: the centre,
// the month, a row per balance transaction with its gross, fee and net, the totals; a long month
// flows onto more pages; the same arguments give the same bytes.
func TestSalesReportPDF(t *testing.T) {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("VHUPAY_TEST_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is required here (VHUPAY_TEST_REQUIRE_PDFTOTEXT is set): apt-get install poppler-utils")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC) // 1 December in Paris
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r := SalesReport{CenterID: "ctr_1", Month: "2026-11", Transactions: []Transaction{
		{ID: "btx_1", Type: TypePayment, Gross: 123456, Fee: 6173, Net: 117283, SourceID: "pi_card", CreatedAt: at.Add(-48 * time.Hour)},
		{ID: "btx_2", Type: TypeSEPAGuarantee, Gross: 6000, Fee: 300, Net: 5700, SourceID: "pi_sepa", CreatedAt: at.Add(-24 * time.Hour)},
		{ID: "btx_3", Type: TypePayout, Gross: -50000, Net: -50000, SourceID: "po_1", CreatedAt: at.Add(-time.Hour)},
		{ID: "btx_4", Type: TypePayoutFailed, Gross: 10000, Net: 10000, SourceID: "po_2", CreatedAt: at.Add(-time.Hour)},
	}}
	render := func(r SalesReport) (string, []byte) {
		t.Helper()
		var buf bytes.Buffer
		if err := r.WritePDF(&buf, ReportCenter{Name: "Casse Auto Dupont", SIRET: "81234567600017"}, now); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "report.pdf")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
		if err != nil {
			t.Fatalf("pdftotext: %v\n%s", err, out)
		}
		return blanks.ReplaceAllString(string(out), " "), buf.Bytes()
	}
	text, raw := render(r)
	for _, want := range []string{
		"Rapport mensuel des ventes", "novembre 2026", "Casse Auto Dupont", "81234567600017", "Édité le : 02/12/2026",
		"29/11/2026 Paiement pi_card 1 234,56 € 61,73 € 1 172,83 €",
		"30/11/2026 Garantie SEPA pi_sepa 60,00 € 3,00 € 57,00 €",
		"Virement po_1 -500,00 € 0,00 € -500,00 €",
		"Virement échoué po_2 100,00 € 0,00 € 100,00 €",
		"Total 894,56 € 64,73 € 829,83 €",
		"page 1/1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	if _, again := render(r); !bytes.Equal(raw, again) {
		t.Error("the same report gave different bytes")
	}
	long := SalesReport{CenterID: "ctr_1", Month: "2026-11"}
	for range 120 {
		long.Transactions = append(long.Transactions, r.Transactions[0])
	}
	text, _ = render(long)
	if pages := strings.Count(text, "\f"); pages < 3 || !strings.Contains(text, "page 3/") || strings.Count(text, "Commission") < pages {
		t.Errorf("a long report: %d pages\n%s", pages, text)
	}
	if text, _ := render(SalesReport{CenterID: "ctr_1", Month: "2026-11"}); !strings.Contains(text, "Aucune opération pour ce mois.") ||
		!strings.Contains(text, "Total 0,00 € 0,00 € 0,00 €") {
		t.Errorf("an empty report:\n%s", text)
	}
}
