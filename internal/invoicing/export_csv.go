package invoicing

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteCSV writes st as a CSV file that a French accountant opens in a
// spreadsheet (Excel, LibreOffice) by double-clicking it:
//   - UTF-8 with a byte order mark: without the BOM, Excel on Windows reads a
//     CSV in the machine's ANSI code page (cp1252) and shows "Ã©" for "é";
//     with it, Excel and LibreOffice both detect UTF-8;
//   - ";" as separator and CRLF line ends, what French-locale Excel expects;
//   - amounts as decimal euros with a comma ("1234,56", no thousands
//     separator, no currency sign) so that French-locale spreadsheets read them
//     as numbers; they are formatted from integer cents, never through floats.
//     VAT rates are percentages the same way ("20", "5,5");
//   - dates as YYYY-MM-DD in Europe/Paris time;
//   - text taken from users (names, references, labels, note numbers) that
//     starts with =, +, -, @, tab or CR is prefixed with an apostrophe, so a
//     spreadsheet never evaluates it as a formula (CSV injection).
//
// Layout: a header block (statement id, month, status, currency, seller with
// its SIRET, buyer with its SIREN), an empty line, then a table with the
// columns below and one row per order line, in statement order; then one row per
// credit line (a refund: "Avoir (remboursement)", the refund id as reference, negative amounts)
// and VAT rate; then a
// "Total" row with the statement totals in the last three columns, then one
// "TVA" row per VAT rate with its rate, base, VAT and base + VAT.
//
// It returns the error of the time zone lookup or of w.
func WriteCSV(w io.Writer, st Statement, seller, buyer Party) error {
	paris, err := parisLocation()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true

	columns := []string{
		"Commande", "Date", "Réf. commande", "Bons BL/BR", "Référence", "Désignation",
		"Quantité", "PU HT (€)", "Taux TVA (%)", "Total HT (€)", "TVA (€)", "Total TTC (€)",
	}
	totalRow := func(first, rate string, excl, vat, total int64) []string {
		row := make([]string, len(columns))
		row[0] = first
		row[8] = rate
		row[9], row[10], row[11] = formatCents(excl, ""), formatCents(vat, ""), formatCents(total, "")
		return row
	}

	rows := [][]string{
		{"Relevé mensuel", safeCell(st.ID)},
		{"Mois", st.Month},
		{"Statut", statusLabelFR(st.Status)},
		{"Devise", st.Currency},
		{"Vendeur", safeCell(seller.Name), seller.idLabel(), safeCell(seller.SIRENorSIRET)},
		{"Acheteur", safeCell(buyer.Name), buyer.idLabel(), safeCell(buyer.SIRENorSIRET)},
		{},
		columns,
	}
	for _, o := range st.Orders {
		date := o.OrderedAt.In(paris).Format("2006-01-02")
		notes := safeCell(notesLabel(o.DeliveryNotes))
		for _, l := range o.Lines {
			rows = append(rows, []string{
				safeCell(o.OrderID), date, safeCell(o.ExternalReference), notes,
				safeCell(l.Reference), safeCell(l.Label), strconv.Itoa(l.Quantity),
				formatCents(l.UnitPriceExclVAT, ""), formatRate(l.VATRate),
				formatCents(l.TotalExclVAT, ""), formatCents(l.TotalVAT, ""), formatCents(l.Total, ""),
			})
		}
	}
	// Credit lines (refunds), one row per VAT rate, negative amounts.
	for _, c := range st.Credits {
		date := c.CreatedAt.In(paris).Format("2006-01-02")
		for _, v := range c.VATLines {
			rows = append(rows, []string{
				safeCell(c.OrderID), date, "", "", safeCell(c.RefundID), "Avoir (remboursement)", "", "",
				formatRate(v.Rate), formatCents(v.Base, ""), formatCents(v.VAT, ""), formatCents(v.Base+v.VAT, ""),
			})
		}
	}
	rows = append(rows, totalRow("Total", "", st.TotalExclVAT, st.TotalVAT, st.Total))
	for _, v := range st.VATBreakdown {
		rows = append(rows, totalRow("TVA", formatRate(v.Rate), v.Base, v.VAT, v.Base+v.VAT))
	}
	if err := cw.WriteAll(rows); err != nil { // WriteAll flushes
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// safeCell neutralises text that a spreadsheet would run as a formula, by
// prefixing it with an apostrophe (OWASP's advice for CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
