package balances

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/money"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/validation"
)

// SalesReport is a centre's balance transactions of one Paris month, oldest first.
type SalesReport struct {
	CenterID     string
	Month        string
	Transactions []Transaction
}

// SalesReport returns a centre's sales report of month (YYYY-MM, Europe/Paris). Errors: see
// centerOf; *validation.Error ("month").
func (s *Service) SalesReport(ctx context.Context, who auth.Principal, centerID, month string) (SalesReport, error) {
	from, to, err := clock.MonthBounds(month)
	if err != nil {
		return SalesReport{}, validation.Field("month", "format", "must be a month YYYY-MM")
	}
	id, err := s.centerOf(ctx, who, centerID)
	if err != nil {
		return SalesReport{}, err
	}
	r := SalesReport{CenterID: id, Month: month, Transactions: []Transaction{}}
	p := page.Request{Limit: page.MaxLimit}
	for {
		res, err := s.store.BalanceTransactions(ctx, Filter{CenterID: id, From: from, To: to}, p)
		if err != nil {
			return SalesReport{}, err
		}
		r.Transactions = append(r.Transactions, res.Items...)
		if !res.HasMore {
			break
		}
		p.After = res.Items[len(res.Items)-1].ID
	}
	for i, j := 0, len(r.Transactions)-1; i < j; i, j = i+1, j-1 { // newest first → oldest first
		r.Transactions[i], r.Transactions[j] = r.Transactions[j], r.Transactions[i]
	}
	return r, nil
}

// typeLabelsFR name the balance transaction types in the report.
var typeLabelsFR = map[Type]string{
	TypePayment: "Paiement", TypeRefund: "Remboursement", TypeDispute: "Litige", TypeDisputeWon: "Litige gagné",
	TypePayout: "Virement", TypePayoutFailed: "Virement échoué", TypeSEPAGuarantee: "Garantie SEPA", TypeAdjustment: "Ajustement",
}

// euros writes cents as a French decimal: 11400 → "114,00".
func euros(cents int64) string { return strings.Replace(money.Format(cents), ".", ",", 1) }

// WriteCSV writes the report for a spreadsheet in French locale, as the statements are: UTF-8
// with a byte order mark, ";" separator, CRLF, amounts in euros with a decimal comma from integer
// cents, dates in Europe/Paris. A header block (report, centre, month), then one row per balance
// transaction (date, type, source, gross, fee, net) and a Total row.
func (r SalesReport) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	rows := [][]string{
		{"Rapport des ventes"},
		{"Centre", r.CenterID},
		{"Mois", r.Month},
		{"Devise", "EUR"},
		{},
		{"Date", "Opération", "Type", "Source", "Brut (€)", "Commission (€)", "Net (€)"},
	}
	var gross, fee, net int64
	for _, t := range r.Transactions {
		rows = append(rows, []string{t.CreatedAt.In(clock.Paris()).Format("2006-01-02"), t.ID, typeLabelsFR[t.Type], t.SourceID,
			euros(t.Gross), euros(t.Fee), euros(t.Net)})
		gross, fee, net = gross+t.Gross, fee+t.Fee, net+t.Net
	}
	rows = append(rows, []string{"Total", "", "", "", euros(gross), euros(fee), euros(net)})
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
