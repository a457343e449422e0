package invoicing

import (
	"github.com/vhupay/vhupay/internal/detail"

	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Currency is the only currency of statements.
const Currency = "EUR"

var (
	// ErrInvalidMonth is returned for a month that is not written YYYY-MM.
	ErrInvalidMonth = errors.New("month must be written YYYY-MM")

	// ErrInconsistentTotals is returned by BuildStatement when an order's totals
	// are not the sums of its lines, or a total is not excl. VAT + VAT.
	ErrInconsistentTotals = errors.New("inconsistent totals")

	// ErrDuplicateOrder is returned by BuildStatement when an order appears twice.
	ErrDuplicateOrder = errors.New("order listed twice")
)

// StatementStatus is the state of a monthly statement.
type StatementStatus string

// The statuses of a statement: open while the month runs, issued at month
// close, paid when the centre records the buyer's settlement.
const (
	StatementOpen   StatementStatus = "open"
	StatementIssued StatementStatus = "issued"
	StatementPaid   StatementStatus = "paid"
)

// Statement lists, for one (buyer, centre) pair and one month, the orders paid
// by end-of-month invoice, with their totals. Amounts are euro cents. Build it
// with BuildStatement; its status only changes through Issue and MarkPaid.
type Statement struct {
	ID                 string
	InvoicingAccountID string
	BuyerID            string
	CenterID           string
	Month              string // YYYY-MM, Europe/Paris
	Status             StatementStatus
	Orders             []StatementOrder // by OrderedAt, then OrderID
	// Credits are the refunds of invoice payments made in the statement's month (negative
	// amounts), by creation; the totals and VAT breakdown include them.
	Credits      []StatementCredit
	TotalExclVAT int64
	TotalVAT     int64
	Total        int64
	VATBreakdown []VATLine // one per VAT rate present, by rate
	Currency     string
	IssuedAt     *time.Time
	PaidAt       *time.Time
}

// VATLine is the part of a statement taxed at one rate: the sum of the line
// bases (excl. VAT) and the sum of the line VAT amounts at that rate.
type VATLine struct {
	Rate int // basis points: 2000 is 20 %
	Base int64
	VAT  int64
}

// StatementOrder is one order on a statement, with the totals the order itself
// carries (VAT computed per line, upstream).
type StatementOrder struct {
	OrderID           string
	OrderedAt         time.Time
	ExternalReference string
	DeliveryNotes     []DeliveryNote
	TotalExclVAT      int64
	TotalVAT          int64
	Total             int64
	Lines             []StatementLine
}

// StatementLine is one order line as priced on the order.
type StatementLine struct {
	Reference        string
	Label            string
	Quantity         int
	UnitPriceExclVAT int64
	VATRate          int // basis points
	TotalExclVAT     int64
	TotalVAT         int64
	Total            int64
}

// BuildStatement returns the open statement of account for month, listing
// orders. It guarantees:
//   - BuyerID and CenterID are the account's; Currency is EUR;
//   - Orders is a copy of orders sorted by OrderedAt then OrderID, and each
//     order's delivery notes are sorted by CreatedAt then Number (the caller's
//     slices are not modified);
//   - the totals are the sums of the orders' own totals: VAT is never
//     recomputed on a sum, so no rounding happens here;
//   - VATBreakdown has one line per VAT rate present, ordered by rate, whose
//     Base and VAT are the sums of the line amounts at that rate; so the
//     breakdown adds up exactly to TotalExclVAT and TotalVAT.
//
// The account's status is not checked: a revoked account keeps the payments it
// accepted. An empty orders list gives a statement with zero totals; whether
// to create one is the caller's choice.
//
// Errors: ErrInvalidMonth when month is not YYYY-MM; ErrDuplicateOrder when an
// order id appears twice; ErrInconsistentTotals when a line's Total is not
// TotalExclVAT + TotalVAT, or an order's totals are not the sums of its lines.
func BuildStatement(id string, account Account, month string, orders []StatementOrder) (Statement, error) {
	if _, err := parseMonth(month); err != nil {
		return Statement{}, err
	}
	st := Statement{
		ID:                 id,
		InvoicingAccountID: account.ID,
		BuyerID:            account.BuyerID,
		CenterID:           account.CenterID,
		Month:              month,
		Status:             StatementOpen,
		Orders:             make([]StatementOrder, 0, len(orders)),
		VATBreakdown:       []VATLine{},
		Currency:           Currency,
	}
	seen := make(map[string]bool, len(orders))
	byRate := make(map[int]*VATLine)
	for _, o := range orders {
		if seen[o.OrderID] {
			return Statement{}, fmt.Errorf("order %s: %w", o.OrderID, ErrDuplicateOrder)
		}
		seen[o.OrderID] = true
		if err := checkOrderTotals(o); err != nil {
			return Statement{}, err
		}
		for _, l := range o.Lines {
			v := byRate[l.VATRate]
			if v == nil {
				v = &VATLine{Rate: l.VATRate}
				byRate[l.VATRate] = v
			}
			v.Base += l.TotalExclVAT
			v.VAT += l.TotalVAT
		}
		st.TotalExclVAT += o.TotalExclVAT
		st.TotalVAT += o.TotalVAT
		st.Total += o.Total

		o.DeliveryNotes = slices.Clone(o.DeliveryNotes)
		slices.SortStableFunc(o.DeliveryNotes, func(a, b DeliveryNote) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.Number, b.Number))
		})
		o.Lines = slices.Clone(o.Lines)
		st.Orders = append(st.Orders, o)
	}
	slices.SortFunc(st.Orders, func(a, b StatementOrder) int {
		return cmp.Or(a.OrderedAt.Compare(b.OrderedAt), strings.Compare(a.OrderID, b.OrderID))
	})
	for _, v := range byRate {
		st.VATBreakdown = append(st.VATBreakdown, *v)
	}
	slices.SortFunc(st.VATBreakdown, func(a, b VATLine) int { return cmp.Compare(a.Rate, b.Rate) })
	return st, nil
}

func checkOrderTotals(o StatementOrder) error {
	var excl, vat int64
	for i, l := range o.Lines {
		if l.Total != l.TotalExclVAT+l.TotalVAT {
			return fmt.Errorf("order %s line %d: total %d is not %d + %d: %w",
				o.OrderID, i, l.Total, l.TotalExclVAT, l.TotalVAT, ErrInconsistentTotals)
		}
		excl += l.TotalExclVAT
		vat += l.TotalVAT
	}
	if o.TotalExclVAT != excl || o.TotalVAT != vat || o.Total != excl+vat {
		return fmt.Errorf("order %s: totals %d/%d/%d, lines sum to %d/%d/%d: %w",
			o.OrderID, o.TotalExclVAT, o.TotalVAT, o.Total, excl, vat, excl+vat, ErrInconsistentTotals)
	}
	return nil
}

// Issue moves an open statement to issued at the given time (month close).
// From any other status it returns an error wrapping ErrInvalidTransition and
// leaves the statement unchanged.
func (s *Statement) Issue(at time.Time) error {
	if s.Status != StatementOpen {
		return detail.Wrap(fmt.Errorf("statement %s from %s to %s: %w", s.ID, s.Status, StatementIssued, ErrInvalidTransition),
			"The statement is %s; it can become %s only from %s.", s.Status, StatementIssued, StatementOpen)
	}
	s.Status = StatementIssued
	s.IssuedAt = &at
	return nil
}

// MarkPaid moves an issued statement to paid at the given time, when the
// centre records the buyer's settlement. From any other status it returns an
// error wrapping ErrInvalidTransition and leaves the statement unchanged.
func (s *Statement) MarkPaid(at time.Time) error {
	if s.Status != StatementIssued {
		return detail.Wrap(fmt.Errorf("statement %s from %s to %s: %w", s.ID, s.Status, StatementPaid, ErrInvalidTransition),
			"The statement is %s; it can become %s only from %s.", s.Status, StatementPaid, StatementIssued)
	}
	s.Status = StatementPaid
	s.PaidAt = &at
	return nil
}

// keepState gives a statement rebuilt from its orders (BuildStatement) the status and times of
// the stored statement it stands for: not a transition, the same statement read back.
func (s *Statement) keepState(stored Statement) {
	s.Status, s.IssuedAt, s.PaidAt = stored.Status, stored.IssuedAt, stored.PaidAt
}

// Party is a company as printed on a statement's exports: the centre (the
// seller, identified by its SIRET) or the buyer (identified by its SIREN).
type Party struct {
	Name         string
	SIRENorSIRET string // digits only: 9 for a SIREN, 14 for a SIRET
	Address      Address
}

// Address is a postal address; Country is ISO 3166 alpha-2 ("FR").
type Address struct {
	Line1      string
	Line2      string // optional
	PostalCode string
	City       string
	Country    string
}

// idLabel names the party's identifier by its length: SIREN (9 digits),
// SIRET (14 digits), or "SIREN/SIRET" for anything else.
func (p Party) idLabel() string {
	switch len(p.SIRENorSIRET) {
	case 9:
		return "SIREN"
	case 14:
		return "SIRET"
	}
	return "SIREN/SIRET"
}

// statusLabelFR is the French word for a statement status, as shown to people.
func statusLabelFR(s StatementStatus) string {
	switch s {
	case StatementOpen:
		return "ouvert (provisoire)"
	case StatementIssued:
		return "émis"
	case StatementPaid:
		return "payé"
	}
	return string(s)
}

// notesLabel lists delivery notes as "BL 123, BR 45".
func notesLabel(notes []DeliveryNote) string {
	parts := make([]string, len(notes))
	for i, n := range notes {
		parts[i] = string(n.Kind) + " " + n.Number
	}
	return strings.Join(parts, ", ")
}

// parseMonth parses a YYYY-MM month (only that exact form) and returns its
// first day, in UTC; the location does not matter for naming the month.
func parseMonth(month string) (time.Time, error) {
	t, err := time.Parse("2006-01", month)
	if err != nil || len(month) != len("2006-01") {
		return time.Time{}, fmt.Errorf("%q: %w", month, ErrInvalidMonth)
	}
	return t, nil
}

// monthLabelFR names a YYYY-MM month in French: "2026-11" → "novembre 2026".
func monthLabelFR(month string) (string, error) {
	t, err := parseMonth(month)
	if err != nil {
		return "", err
	}
	frenchMonths := [12]string{
		"janvier", "février", "mars", "avril", "mai", "juin",
		"juillet", "août", "septembre", "octobre", "novembre", "décembre",
	}
	return frenchMonths[t.Month()-1] + " " + strconv.Itoa(t.Year()), nil
}

// parisLocation loads Europe/Paris, the time zone of every date shown to
// people. It needs the system tz database or the time/tzdata package linked
// in the binary.
func parisLocation() (*time.Location, error) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, fmt.Errorf("load Europe/Paris time zone: %w", err)
	}
	return loc, nil
}

// formatCents writes an amount of cents as a decimal with a comma, French
// style, grouping thousands with group ("" for none): 123456 → "1 234,56"
// with group " ". Integer arithmetic only.
func formatCents(cents int64, group string) string {
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = -u // two's complement: also right for math.MinInt64
	}
	units := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, d := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(d)
	}
	fmt.Fprintf(&b, ",%02d", u%100)
	return b.String()
}

// formatRate writes a VAT rate in basis points as a French percentage number
// without trailing zeros: 2000 → "20", 550 → "5,5", 0 → "0".
func formatRate(bp int) string {
	s := formatCents(int64(bp), "")
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ",")
}
