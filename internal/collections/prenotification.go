package collections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/parties"
)

// ErrNotPrenotified: the collection has not been pre-notified yet (the month close is under way).
var ErrNotPrenotified = errors.New("the collection has not been pre-notified yet")

// Line is one payment a collection debits, as its pre-notification lists it.
type Line struct {
	PaymentIntentID string
	OrderID         string
	At              time.Time // when the payment was accepted
	Amount          int64
}

// Prenotification is the pre-notification ("avis de prélèvement") of a collection.
type Prenotification struct {
	Collection   Collection
	CreditorName string
	DebtorName   string
	Lines        []Line
	At           time.Time // when it is edited
}

// Prenotification returns a pre-notified collection's pre-notification: a buyer its own, an admin
// any. Errors: ErrNotFound, ErrNotPrenotified.
func (s *Service) Prenotification(ctx context.Context, who auth.Principal, id string) (Prenotification, error) {
	c, err := s.Collection(ctx, who, id)
	if err != nil {
		return Prenotification{}, err
	}
	if c.PrenotifiedAt.IsZero() {
		return Prenotification{}, ErrNotPrenotified
	}
	lines, err := s.store.Lines(ctx, id)
	if err != nil {
		return Prenotification{}, err
	}
	b, err := s.buyers.Buyer(ctx, c.BuyerID)
	if err != nil && !errors.Is(err, parties.ErrNotFound) {
		return Prenotification{}, err
	}
	return Prenotification{Collection: c, CreditorName: s.cfg.CreditorName, DebtorName: b.Name, Lines: lines, At: s.clock.Now()}, nil
}

// WritePDF writes p as an A4 PDF in French: the creditor's name and identifier, the debtor, the
// mandate reference, the amount, the due date and every payment the debit collects (order, date,
// amount). Dates are Europe/Paris days; amounts French style ("1 234,56 €").
func (p Prenotification) WritePDF(w io.Writer) error {
	c := p.Collection
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(p.At)
	pdf.SetModificationDate(p.At)
	pdf.SetCatalogSort(true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetTitle("Avis de prélèvement SEPA "+c.ID, true)
	pdf.SetAuthor(p.CreditorName, true)
	pdf.SetCreator("vhupay", false)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AddPage()
	text := func(style string, size float64, s string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(0, 5.5, tr(s), "", "L", false)
	}
	day := func(t time.Time) string { return t.In(clock.Paris()).Format("02/01/2006") }
	text("B", 16, "Avis de prélèvement SEPA")
	pdf.Ln(3)
	text("", 10, "Créancier : "+p.CreditorName)
	text("", 10, "Identifiant créancier SEPA (ICS) : "+c.CreditorID)
	text("", 10, "Débiteur : "+p.DebtorName)
	ref := c.MandateReference
	if ref == "" {
		ref = "(aucun mandat utilisable)"
	}
	text("", 10, "Référence unique du mandat (RUM) : "+ref)
	text("", 10, "Référence du prélèvement : "+c.ID)
	pdf.Ln(3)
	text("B", 12, fmt.Sprintf("Montant prélevé : %s", euros(c.Amount)))
	text("B", 12, "Date d'échéance : "+c.DueDate.Format("02/01/2006"))
	pdf.Ln(2)
	text("", 10, fmt.Sprintf("Ce prélèvement réunit les paiements SEPA du mois %s, listés ci-dessous. Il sera présenté à votre banque à la date d'échéance sur le compte du mandat ci-dessus.", c.Month))
	pdf.Ln(3)
	widths := []float64{70, 55, 25, 30}
	row := func(style string, cells ...string) {
		pdf.SetFont("Helvetica", style, 9)
		for i, cell := range cells {
			align := "L"
			if i == len(cells)-1 {
				align = "R"
			}
			pdf.CellFormat(widths[i], 6, tr(cell), "1", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	row("B", "Commande", "Paiement", "Date", "Montant")
	for _, l := range p.Lines {
		row("", l.OrderID, l.PaymentIntentID, day(l.At), euros(l.Amount))
	}
	row("B", "Total", "", "", euros(c.Amount))
	pdf.Ln(4)
	text("", 8, "Avis édité le "+day(p.At)+". Vous pouvez demander le remboursement d'un prélèvement autorisé à votre banque dans les 8 semaines suivant la date de débit.")
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

// euros formats cents French style: 123456 → "1 234,56 €" (no-break spaces).
func euros(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	units := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, r := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(r)
	}
	out := fmt.Sprintf("%s,%02d\u00a0€", b.String(), cents%100)
	if neg {
		out = "-" + out
	}
	return out
}
