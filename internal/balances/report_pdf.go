package balances

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
)

// ReportCenter is the centre a sales report is printed for.
type ReportCenter struct {
	Name  string
	SIRET string
}

var frenchMonths = [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
	"octobre", "novembre", "décembre"}

// monthLabelFR is "novembre 2026" for "2026-11".
func monthLabelFR(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return month
	}
	return frenchMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// WritePDF writes the report as an A4 PDF in French ("Rapport mensuel des ventes"), like the
// statements: the centre (name, SIRET), the month, edition date, then one row per balance
// transaction (date, type, source, gross, fee, net) and the totals, amounts in euros with a
// decimal comma from integer cents, dates as Europe/Paris days. Long reports flow onto further
// pages with the table header repeated and "page n/N" in the footer. now is the edition date
// and the document's dates, so the same arguments give the same bytes.
func (r SalesReport) WritePDF(w io.Writer, center ReportCenter, now time.Time) error {
	paris := clock.Paris()
	month := monthLabelFR(r.Month)
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetCatalogSort(true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetTitle("Rapport mensuel des ventes — "+month, true)
	pdf.SetAuthor(center.Name, true)
	pdf.SetCreator("vhupay", false)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(110, 110, 110)
		pdf.CellFormat(0, 4.5, tr(fmt.Sprintf("Rapport des ventes %s — %s — page %d/{nb}", r.CenterID, month, pdf.PageNo())), "", 1, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	line := func(style string, size, h float64, text string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.CellFormat(0, h, tr(text), "", 1, "L", false, 0, "")
	}
	line("B", 16, 8, "Rapport mensuel des ventes")
	line("", 12, 6, month)
	pdf.Ln(3)
	info := [][2]string{{"Centre", center.Name}, {"SIRET", center.SIRET}, {"Identifiant", r.CenterID},
		{"Période", month + " (" + r.Month + ")"}, {"Devise", "EUR"}, {"Édité le", now.In(paris).Format("02/01/2006")}}
	for _, kv := range info {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(30, 5, tr(kv[0]+" :"), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 5, tr(kv[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(5)

	titles := []string{"Date", "Opération", "Source", "Brut", "Commission", "Net"}
	widths := []float64{20, 30, 67, 21, 21, 21}
	aligns := []string{"L", "L", "L", "R", "R", "R"}
	var row func(cells []string, style string, fill bool)
	row = func(cells []string, style string, fill bool) {
		_, pageH := pdf.GetPageSize()
		if pdf.GetY()+6 > pageH-18 {
			pdf.AddPage()
			row(titles, "B", true) // header again
		}
		pdf.SetFont("Helvetica", style, 8)
		pdf.SetDrawColor(190, 190, 190)
		for i, c := range cells {
			pdf.CellFormat(widths[i], 6, tr(c), "1", 0, aligns[i], fill, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.SetFillColor(225, 225, 225)
	row(titles, "B", true)
	var gross, fee, net int64
	if len(r.Transactions) == 0 {
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 6, tr("Aucune opération pour ce mois."), "", 1, "L", false, 0, "")
	}
	for _, t := range r.Transactions {
		row([]string{t.CreatedAt.In(paris).Format("02/01/2006"), typeLabelsFR[t.Type], t.SourceID,
			euroAmount(t.Gross), euroAmount(t.Fee), euroAmount(t.Net)}, "", false)
		gross, fee, net = gross+t.Gross, fee+t.Fee, net+t.Net
	}
	pdf.SetFillColor(240, 240, 240)
	row([]string{"Total", "", "", euroAmount(gross), euroAmount(fee), euroAmount(net)}, "B", true)
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 8)
	pdf.MultiCell(0, 4, tr("Brut : montant de l'opération ; Commission : part de la plateforme ; Net = Brut - Commission, "+
		"variation du solde disponible du centre."), "", "L", false)
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// euroAmount is "1 234,56 €" (no-break spaces) from cents.
func euroAmount(cents int64) string {
	s := euros(cents)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, dec, _ := strings.Cut(s, ",")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(c)
	}
	out := b.String() + "," + dec + "\u00a0€"
	if neg {
		out = "-" + out
	}
	return out
}

// WriteSalesReportPDF writes a centre's sales report of month as PDF (see SalesReport.WritePDF),
// edited now by the clock. Errors: see SalesReport; the PDF library's or w's.
func (s *Service) WriteSalesReportPDF(ctx context.Context, who auth.Principal, centerID, month string, w io.Writer) (SalesReport, error) {
	r, err := s.SalesReport(ctx, who, centerID, month)
	if err != nil {
		return SalesReport{}, err
	}
	c, err := s.centers.Center(ctx, r.CenterID)
	if err != nil {
		return SalesReport{}, err
	}
	return r, r.WritePDF(w, ReportCenter{Name: c.Name, SIRET: c.SIRET}, s.clock.Now())
}
