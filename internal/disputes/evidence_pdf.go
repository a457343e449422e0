package disputes

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/vhupay/vhupay/internal/orders"
)

// EvidencePDF is the document sent to the provider with a dispute's answer, in French (it is
// read by the buyer's bank): the disputed payment, the order and its lines, the delivery note
// (BL: bon de livraison, the part was delivered; BR: bon de retrait, it was picked up) when the
// centre named one, and the centre's text. The same dispute gives the same bytes.
func EvidencePDF(d Dispute, o orders.Order, note orders.DeliveryNote, hasNote bool) ([]byte, error) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, err
	}
	at := d.CreatedAt
	if d.Evidence != nil {
		at = d.Evidence.SubmittedAt
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetCatalogSort(true)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.SetTitle("Réponse à la contestation "+d.ID, true)
	pdf.SetCreator("vhupay", false)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	line := func(style string, size float64, text string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(0, 5.5, tr(text), "", "L", false)
	}
	day := func(t time.Time) string { return t.In(paris).Format("02/01/2006") }
	line("B", 14, "Réponse à une contestation de paiement par carte")
	pdf.Ln(3)
	line("", 10, fmt.Sprintf("Contestation : %s (motif : %s)", d.ID, d.Reason))
	line("", 10, fmt.Sprintf("Paiement : %s, montant contesté %s", d.PaymentIntentID, euros(d.Amount)))
	line("", 10, fmt.Sprintf("Commande : %s du %s, total %s", o.ID, day(o.CreatedAt), euros(o.Total)))
	if o.ExternalReference != "" {
		line("", 10, "Référence de l'acheteur : "+o.ExternalReference)
	}
	mode := "livraison"
	if o.DeliveryMode == orders.DeliveryModePickup {
		mode = "retrait au centre"
	}
	line("", 10, "Mode de remise : "+mode)
	pdf.Ln(2)
	line("B", 11, "Pièces commandées")
	for _, l := range o.Lines {
		line("", 10, fmt.Sprintf("- %s %s × %d : %s", l.Reference, l.Label, l.Quantity, euros(l.Total)))
	}
	pdf.Ln(2)
	if hasNote {
		kind := "Bon de livraison (BL)"
		if note.Kind == orders.DeliveryNoteBR {
			kind = "Bon de retrait (BR)"
		}
		line("B", 11, "Justificatif de remise")
		line("", 10, fmt.Sprintf("%s n° %s du %s", kind, note.Number, day(note.CreatedAt)))
		pdf.Ln(2)
	}
	line("B", 11, "Explications du vendeur")
	if d.Evidence != nil {
		line("", 10, d.Evidence.Text)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("write evidence pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// euros formats cents French style: "1234,56 €".
func euros(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d,%02d €", sign, cents/100, cents%100)
}
