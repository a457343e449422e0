package invoicing

import (
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Page geometry of the PDF statement, in millimetres (A4 is 210 × 297).
const (
	pdfMargin       = 15.0
	pdfBottomMargin = 18.0 // room for the page footer
	pdfLineHeight   = 4.5
	pdfCellPadding  = 1.0 // above and below the text of a table cell
)

// WritePDF writes st as an A4 PDF statement ("Relevé mensuel de facturation")
// that the centre can send to its customer: the seller block (name, SIRET,
// address), the buyer block (name, SIREN, address), the month in French
// ("novembre 2026"), the statement id and status, the issue and payment dates
// when set, a table of the orders (date, order id, the buyer's reference,
// BL/BR numbers, totals excl. VAT, VAT and incl. VAT), the VAT breakdown per
// rate, and the grand totals. Amounts are French style, "1 234,56 €" (with
// no-break spaces), formatted from integer cents. Dates are Europe/Paris days.
//
// Long statements flow onto further pages; the orders table header is repeated
// on each page and every page has a footer "page n/N". Text is written with
// the PDF core fonts, whose encoding is cp1252: characters outside cp1252
// (é, €, « » are inside) print as ".".
//
// now is the edition date printed on the statement and the document's
// creation and modification dates, so the same arguments give the same bytes.
//
// It returns ErrInvalidMonth for a malformed st.Month, the time zone lookup's
// error, or the error of the PDF library or of w.
func WritePDF(w io.Writer, st Statement, seller, buyer Party, now time.Time) error {
	paris, err := parisLocation()
	if err != nil {
		return err
	}
	month, err := monthLabelFR(st.Month)
	if err != nil {
		return err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	pdf.SetCatalogSort(true)
	r := pdfRenderer{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor(""), paris: paris}

	pdf.SetTitle("Relevé mensuel "+st.ID+" — "+month, true)
	pdf.SetAuthor(seller.Name, true)
	pdf.SetCreator("vhupay", false)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfBottomMargin)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-pdfBottomMargin + 6)
		r.font("", 8)
		pdf.SetTextColor(110, 110, 110)
		r.cell(0, pdfLineHeight, fmt.Sprintf("Relevé %s — %s — page %d/{nb}", st.ID, month, pdf.PageNo()), "C")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()

	r.header(st, seller, buyer, month, now)
	r.orders(st.Orders)
	r.credits(st.Credits)
	r.totals(st)

	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// pdfRenderer draws a statement on a fpdf document. tr turns UTF-8 text into
// the cp1252 bytes of the core fonts; every string goes through it.
type pdfRenderer struct {
	pdf   *fpdf.Fpdf
	tr    func(string) string
	paris *time.Location
}

func (r pdfRenderer) font(style string, size float64) { r.pdf.SetFont("Helvetica", style, size) }

// cell writes one line of text in a cell of width w and moves to the next line.
func (r pdfRenderer) cell(w, h float64, text, align string) {
	r.pdf.CellFormat(w, h, r.tr(text), "", 1, align, false, 0, "")
}

func (r pdfRenderer) contentWidth() float64 {
	pageW, _ := r.pdf.GetPageSize()
	left, _, right, _ := r.pdf.GetMargins()
	return pageW - left - right
}

// ensureSpace starts a new page unless h millimetres fit above the bottom
// margin; it reports whether it did.
func (r pdfRenderer) ensureSpace(h float64) bool {
	_, pageH := r.pdf.GetPageSize()
	_, _, _, bottom := r.pdf.GetMargins()
	if r.pdf.GetY()+h <= pageH-bottom {
		return false
	}
	r.pdf.AddPage()
	return true
}

func (r pdfRenderer) header(st Statement, seller, buyer Party, month string, now time.Time) {
	pdf := r.pdf
	r.font("B", 16)
	r.cell(0, 8, "Relevé mensuel de facturation", "L")
	r.font("", 12)
	r.cell(0, 6, month, "L")
	pdf.Ln(4)

	left, top := pdf.GetXY()
	half := (r.contentWidth() - 10) / 2
	yLeft := r.partyBlock(left, top, half, "Vendeur", seller)
	yRight := r.partyBlock(left+half+10, top, half, "Client", buyer)
	pdf.SetXY(left, max(yLeft, yRight)+4)

	info := [][2]string{
		{"Relevé n°", st.ID},
		{"Période", month + " (" + st.Month + ")"},
		{"Statut", statusLabelFR(st.Status)},
	}
	if st.IssuedAt != nil {
		info = append(info, [2]string{"Émis le", r.day(*st.IssuedAt)})
	}
	if st.PaidAt != nil {
		info = append(info, [2]string{"Payé le", r.day(*st.PaidAt)})
	}
	info = append(info, [2]string{"Édité le", r.day(now)})
	for _, kv := range info {
		r.font("B", 10)
		pdf.CellFormat(30, 5, r.tr(kv[0]+" :"), "", 0, "L", false, 0, "")
		r.font("", 10)
		r.cell(0, 5, kv[1], "L")
	}
	pdf.Ln(5)
}

// partyBlock draws a party at (x, y) in width w and returns the y below it.
func (r pdfRenderer) partyBlock(x, y, w float64, title string, p Party) float64 {
	pdf := r.pdf
	lines := []string{p.idLabel() + " " + formatIdentifier(p.SIRENorSIRET), p.Address.Line1}
	if p.Address.Line2 != "" {
		lines = append(lines, p.Address.Line2)
	}
	lines = append(lines, strings.TrimSpace(p.Address.PostalCode+" "+p.Address.City))
	if c := p.Address.Country; c != "" && c != "FR" {
		lines = append(lines, c)
	}
	pdf.SetXY(x, y)
	r.font("B", 8)
	pdf.SetTextColor(110, 110, 110)
	pdf.MultiCell(w, 4, r.tr(strings.ToUpper(title)), "", "L", false)
	pdf.SetTextColor(0, 0, 0)
	pdf.SetX(x)
	r.font("B", 11)
	pdf.MultiCell(w, 5.5, r.tr(p.Name), "", "L", false)
	r.font("", 10)
	for _, l := range lines {
		pdf.SetX(x)
		pdf.MultiCell(w, 5, r.tr(l), "", "L", false)
	}
	return pdf.GetY()
}

// day formats t as the Europe/Paris day, dd/mm/yyyy.
func (r pdfRenderer) day(t time.Time) string { return t.In(r.paris).Format("02/01/2006") }

// pdfTable is a table layout: column titles, widths (mm) and alignments.
type pdfTable struct {
	titles []string
	widths []float64
	aligns []string
}

func (r pdfRenderer) orders(orders []StatementOrder) {
	pdf := r.pdf
	r.font("B", 12)
	r.cell(0, 7, "Commandes", "L")
	if len(orders) == 0 {
		r.font("", 10)
		r.cell(0, 6, "Aucune commande pour ce mois.", "L")
		pdf.Ln(4)
		return
	}
	t := pdfTable{
		titles: []string{"Date", "Commande", "Réf. client", "Bons BL/BR", "Total HT", "TVA", "Total TTC"},
		widths: []float64{18, 36, 26, 40, 20, 20, 20},
		aligns: []string{"L", "L", "L", "L", "R", "R", "R"},
	}
	r.tableHeader(t)
	r.font("", 8)
	for i, o := range orders {
		cells := []string{
			r.day(o.OrderedAt), o.OrderID, o.ExternalReference, notesLabel(o.DeliveryNotes),
			euros(o.TotalExclVAT), euros(o.TotalVAT), euros(o.Total),
		}
		r.tableRow(t, cells, i%2 == 1)
	}
	pdf.Ln(6)
}

// credits draws the statement's credit lines (refunds), when it has any.
func (r pdfRenderer) credits(credits []StatementCredit) {
	if len(credits) == 0 {
		return
	}
	pdf := r.pdf
	r.font("B", 12)
	r.cell(0, 7, "Avoirs (remboursements)", "L")
	t := pdfTable{
		titles: []string{"Date", "Avoir", "Commande", "Total HT", "TVA", "Total TTC"},
		widths: []float64{18, 48, 48, 22, 22, 22},
		aligns: []string{"L", "L", "L", "R", "R", "R"},
	}
	r.tableHeader(t)
	r.font("", 8)
	for i, c := range credits {
		cells := []string{r.day(c.CreatedAt), c.RefundID, c.OrderID, euros(c.TotalExclVAT), euros(c.TotalVAT), euros(c.Total)}
		r.tableRow(t, cells, i%2 == 1)
	}
	pdf.Ln(6)
}

func (r pdfRenderer) tableHeader(t pdfTable) {
	r.font("B", 8)
	r.pdf.SetFillColor(225, 225, 225)
	r.tableRowNoBreak(t, t.titles, true)
	r.font("", 8)
}

// tableRow draws one row of t, wrapping text inside its cell; when the row does
// not fit on the page it starts a new page and repeats the table header.
func (r pdfRenderer) tableRow(t pdfTable, cells []string, shaded bool) {
	if r.ensureSpace(r.rowHeight(t, cells)) {
		r.tableHeader(t)
	}
	r.pdf.SetFillColor(245, 245, 245)
	r.tableRowNoBreak(t, cells, shaded)
}

func (r pdfRenderer) rowHeight(t pdfTable, cells []string) float64 {
	n := 1
	for i, c := range cells {
		n = max(n, len(r.pdf.SplitText(c, t.widths[i])))
	}
	return float64(n)*pdfLineHeight + 2*pdfCellPadding
}

// tableRowNoBreak draws a row at the current position. Text is split on the
// UTF-8 string (SplitText reads runes) and each line translated afterwards.
func (r pdfRenderer) tableRowNoBreak(t pdfTable, cells []string, fill bool) {
	pdf := r.pdf
	h := r.rowHeight(t, cells)
	x0, y0 := pdf.GetXY()
	x := x0
	style := "D"
	if fill {
		style = "FD"
	}
	pdf.SetDrawColor(190, 190, 190)
	for i, c := range cells {
		pdf.Rect(x, y0, t.widths[i], h, style)
		for j, line := range pdf.SplitText(c, t.widths[i]) {
			pdf.SetXY(x, y0+pdfCellPadding+float64(j)*pdfLineHeight)
			pdf.CellFormat(t.widths[i], pdfLineHeight, r.tr(line), "", 0, t.aligns[i], false, 0, "")
		}
		x += t.widths[i]
	}
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetXY(x0, y0+h)
}

func (r pdfRenderer) totals(st Statement) {
	pdf := r.pdf
	t := pdfTable{
		titles: []string{"Taux de TVA", "Base HT", "TVA", "Total TTC"},
		widths: []float64{30, 30, 30, 30},
		aligns: []string{"L", "R", "R", "R"},
	}
	rows := len(st.VATBreakdown) + 1
	// Keep the breakdown and the grand totals together on one page.
	r.ensureSpace(7 + float64(rows)*(pdfLineHeight+2*pdfCellPadding) + 6 + 3*6 + 12)

	r.font("B", 12)
	r.cell(0, 7, "Récapitulatif de TVA", "L")
	r.tableHeader(t)
	for _, v := range st.VATBreakdown {
		r.tableRowNoBreak(t, []string{formatRate(v.Rate) + " %", euros(v.Base), euros(v.VAT), euros(v.Base + v.VAT)}, false)
	}
	pdf.Ln(6)

	labelW, amountW := 40.0, 35.0
	x := pdfMargin + r.contentWidth() - labelW - amountW
	for _, line := range []struct {
		label  string
		amount int64
		style  string
	}{
		{"Total HT", st.TotalExclVAT, ""},
		{"Total TVA", st.TotalVAT, ""},
		{"Total TTC", st.Total, "B"},
	} {
		pdf.SetX(x)
		r.font(line.style, 11)
		pdf.CellFormat(labelW, 6, r.tr(line.label), "", 0, "L", false, 0, "")
		pdf.CellFormat(amountW, 6, r.tr(euros(line.amount)), "", 1, "R", false, 0, "")
	}
	pdf.Ln(6)
	r.font("", 8)
	pdf.MultiCell(0, 4, r.tr("Montants en euros. La TVA est calculée sur chaque ligne de commande et arrondie au centime."), "", "L", false)
}

// euros formats cents French style for print: 123456 → "1 234,56 €", with
// no-break spaces (U+00A0) between digit groups and before the sign.
func euros(cents int64) string {
	return formatCents(cents, "\u00a0") + "\u00a0€"
}

// formatIdentifier spaces a SIREN ("123 456 789") or a SIRET
// ("123 456 789 00012") as printed on French documents; anything else is
// returned unchanged.
func formatIdentifier(id string) string {
	for _, c := range id {
		if c < '0' || c > '9' {
			return id
		}
	}
	switch len(id) {
	case 9:
		return id[0:3] + " " + id[3:6] + " " + id[6:9]
	case 14:
		return id[0:3] + " " + id[3:6] + " " + id[6:9] + " " + id[9:14]
	}
	return id
}
