package invoicing

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// line prices a test order line, rounding VAT half up to the cent as the
// order side does.
func line(ref string, qty int, unit int64, rate int) StatementLine {
	excl := int64(qty) * unit
	vat := (excl*int64(rate) + 5000) / 10000
	return StatementLine{
		Reference: ref, Label: "Pièce " + ref, Quantity: qty, UnitPriceExclVAT: unit, VATRate: rate,
		TotalExclVAT: excl, TotalVAT: vat, Total: excl + vat,
	}
}

// order builds an order whose totals are the sums of its lines.
func order(id string, at time.Time, notes []DeliveryNote, lines ...StatementLine) StatementOrder {
	o := StatementOrder{OrderID: id, OrderedAt: at, DeliveryNotes: notes, Lines: lines}
	for _, l := range lines {
		o.TotalExclVAT += l.TotalExclVAT
		o.TotalVAT += l.TotalVAT
		o.Total += l.Total
	}
	return o
}

var testAccount = Account{ID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1", Status: AccountApproved}

func TestBuildStatement(t *testing.T) {
	d1 := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	d2 := time.Date(2026, 11, 10, 8, 0, 0, 0, time.UTC)
	bl1 := DeliveryNote{Kind: NoteBL, Number: "BL-9", CreatedAt: d2}
	br1 := DeliveryNote{Kind: NoteBR, Number: "BR-1", CreatedAt: d1}
	br2 := DeliveryNote{Kind: NoteBR, Number: "BR-0", CreatedAt: d1}

	// 3 × 33.33 at 20 %: 99.99 → VAT 20.00 (19.998 rounded); 1 × 12.35 at 5.5 %: VAT 0.68 (0.67925).
	l20 := line("A", 3, 3333, 2000)
	l55 := line("B", 1, 1235, 550)
	l10 := line("C", 7, 1999, 1000) // 139.93 → VAT 13.99 (13.993)
	l0 := line("D", 2, 500, 0)
	l20b := line("E", 1, 5, 2000) // 0.05 → VAT 0.01 (0.01 exactly)

	oB := order("ord_b", d2, []DeliveryNote{bl1}, l20, l55)
	oA := order("ord_a", d2, []DeliveryNote{bl1, br2, br1}, l10, l0) // same date as oB: by id
	oC := order("ord_c", d1, nil, l20b)

	tests := []struct {
		name   string
		orders []StatementOrder
		want   Statement
	}{
		{
			name:   "mixed rates",
			orders: []StatementOrder{oB, oA, oC},
			want: Statement{
				ID: "stm_1", InvoicingAccountID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1",
				Month: "2026-11", Status: StatementOpen, Currency: "EUR",
				Orders: []StatementOrder{
					oC,
					{
						OrderID: "ord_a", OrderedAt: d2, DeliveryNotes: []DeliveryNote{br2, br1, bl1},
						TotalExclVAT: 13993 + 1000, TotalVAT: 1399, Total: 13993 + 1000 + 1399, Lines: []StatementLine{l10, l0},
					},
					oB,
				},
				TotalExclVAT: 9999 + 1235 + 13993 + 1000 + 5,
				TotalVAT:     2000 + 68 + 1399 + 0 + 1,
				Total:        9999 + 1235 + 13993 + 1000 + 5 + 2000 + 68 + 1399 + 1,
				VATBreakdown: []VATLine{
					{Rate: 0, Base: 1000, VAT: 0},
					{Rate: 550, Base: 1235, VAT: 68},
					{Rate: 1000, Base: 13993, VAT: 1399},
					{Rate: 2000, Base: 9999 + 5, VAT: 2000 + 1},
				},
			},
		},
		{
			// Three lines of 0.03 at 20 % carry 0.01 of VAT each (0.006
			// rounded half up): 0.03 in all, not the 0.02 that 20 % of the
			// 0.09 sum would give.
			name: "VAT is never recomputed on sums",
			orders: []StatementOrder{
				order("ord_x", d1, nil, line("X", 1, 3, 2000), line("Y", 1, 3, 2000), line("Z", 1, 3, 2000)),
			},
			want: Statement{
				ID: "stm_1", InvoicingAccountID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1",
				Month: "2026-11", Status: StatementOpen, Currency: "EUR",
				Orders: []StatementOrder{
					order("ord_x", d1, nil, line("X", 1, 3, 2000), line("Y", 1, 3, 2000), line("Z", 1, 3, 2000)),
				},
				TotalExclVAT: 9, TotalVAT: 3, Total: 12,
				VATBreakdown: []VATLine{{Rate: 2000, Base: 9, VAT: 3}},
			},
		},
		{
			name:   "no orders",
			orders: nil,
			want: Statement{
				ID: "stm_1", InvoicingAccountID: "ina_1", BuyerID: "byr_1", CenterID: "ctr_1",
				Month: "2026-11", Status: StatementOpen, Currency: "EUR",
				Orders: []StatementOrder{}, VATBreakdown: []VATLine{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildStatement("stm_1", testAccount, "2026-11", tt.orders)
			if err != nil {
				t.Fatalf("BuildStatement: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BuildStatement (-want +got):\n%s", diff)
			}
			var base, vat int64
			for _, v := range got.VATBreakdown {
				base += v.Base
				vat += v.VAT
			}
			if base != got.TotalExclVAT || vat != got.TotalVAT || got.Total != got.TotalExclVAT+got.TotalVAT {
				t.Errorf("breakdown %d/%d does not add up to totals %d/%d/%d", base, vat, got.TotalExclVAT, got.TotalVAT, got.Total)
			}
		})
	}
}

func TestBuildStatementDoesNotModifyInput(t *testing.T) {
	d := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	notes := []DeliveryNote{{Kind: NoteBL, Number: "2", CreatedAt: d}, {Kind: NoteBL, Number: "1", CreatedAt: d}}
	orders := []StatementOrder{
		order("ord_2", d, notes, line("A", 1, 100, 2000)),
		order("ord_1", d, nil, line("B", 1, 100, 2000)),
	}
	st, err := BuildStatement("stm_1", testAccount, "2026-11", orders)
	if err != nil {
		t.Fatalf("BuildStatement: %v", err)
	}
	if orders[0].OrderID != "ord_2" || notes[0].Number != "2" {
		t.Errorf("BuildStatement reordered the caller's slices: orders[0] = %s, notes[0] = %s", orders[0].OrderID, notes[0].Number)
	}
	st.Orders[1].Lines[0].Label = "changed"
	if orders[0].Lines[0].Label == "changed" {
		t.Error("the statement shares its lines with the caller's orders")
	}
}

func TestBuildStatementErrors(t *testing.T) {
	d := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	good := order("ord_1", d, nil, line("A", 2, 1000, 2000))
	badLine := order("ord_2", d, nil, line("A", 1, 1000, 2000))
	badLine.Lines[0].Total++
	badLine.Total++
	badVAT := good
	badVAT.OrderID, badVAT.TotalVAT, badVAT.Total = "ord_3", good.TotalVAT+1, good.Total+1
	badSum := good
	badSum.OrderID, badSum.Total = "ord_4", good.Total-1
	noLines := StatementOrder{OrderID: "ord_5", OrderedAt: d, TotalExclVAT: 100, Total: 100}

	tests := []struct {
		name   string
		month  string
		orders []StatementOrder
		want   error
	}{
		{"month 13", "2026-13", nil, ErrInvalidMonth},
		{"month without zero", "2026-1", nil, ErrInvalidMonth},
		{"month without dash", "202611", nil, ErrInvalidMonth},
		{"a day", "2026-11-01", nil, ErrInvalidMonth},
		{"empty month", "", nil, ErrInvalidMonth},
		{"duplicate order", "2026-11", []StatementOrder{good, good}, ErrDuplicateOrder},
		{"line total", "2026-11", []StatementOrder{good, badLine}, ErrInconsistentTotals},
		{"order VAT", "2026-11", []StatementOrder{badVAT}, ErrInconsistentTotals},
		{"order total", "2026-11", []StatementOrder{badSum}, ErrInconsistentTotals},
		{"order without lines", "2026-11", []StatementOrder{noLines}, ErrInconsistentTotals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := BuildStatement("stm_1", testAccount, tt.month, tt.orders)
			if !errors.Is(err, tt.want) {
				t.Fatalf("BuildStatement: err = %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff(Statement{}, st); diff != "" {
				t.Errorf("BuildStatement returned a statement with its error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStatementTransitions(t *testing.T) {
	issued := time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC)
	at := time.Date(2026, 12, 20, 15, 0, 0, 0, time.UTC)

	type action struct {
		name string
		do   func(s *Statement, at time.Time) error
	}
	issue := action{"issue", (*Statement).Issue}
	markPaid := action{"mark paid", (*Statement).MarkPaid}

	states := map[StatementStatus]Statement{
		StatementOpen:   {ID: "stm_1", Status: StatementOpen},
		StatementIssued: {ID: "stm_1", Status: StatementIssued, IssuedAt: &issued},
		StatementPaid:   {ID: "stm_1", Status: StatementPaid, IssuedAt: &issued, PaidAt: &issued},
		"":              {ID: "stm_1"},
	}
	tests := []struct {
		from   StatementStatus
		action action
		want   Statement // zero when refused
	}{
		{StatementOpen, issue, Statement{ID: "stm_1", Status: StatementIssued, IssuedAt: &at}},
		{StatementOpen, markPaid, Statement{}},
		{StatementIssued, issue, Statement{}},
		{StatementIssued, markPaid, Statement{ID: "stm_1", Status: StatementPaid, IssuedAt: &issued, PaidAt: &at}},
		{StatementPaid, issue, Statement{}},
		{StatementPaid, markPaid, Statement{}},
		{"", issue, Statement{}},
		{"", markPaid, Statement{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"/"+tt.action.name, func(t *testing.T) {
			s := states[tt.from]
			err := tt.action.do(&s, at)
			want := tt.want
			if want.ID == "" {
				if !errors.Is(err, ErrInvalidTransition) {
					t.Fatalf("%s from %q: err = %v, want ErrInvalidTransition", tt.action.name, tt.from, err)
				}
				want = states[tt.from]
			} else if err != nil {
				t.Fatalf("%s from %q: %v", tt.action.name, tt.from, err)
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("statement after %s (-want +got):\n%s", tt.action.name, diff)
			}
		})
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		cents int64
		group string
		want  string
	}{
		{0, " ", "0,00"},
		{5, " ", "0,05"},
		{99, " ", "0,99"},
		{100, " ", "1,00"},
		{99999, " ", "999,99"},
		{123456, " ", "1 234,56"},
		{123456, "", "1234,56"},
		{100000000, " ", "1 000 000,00"},
		{-123456, " ", "-1 234,56"},
		{-5, "", "-0,05"},
		{math.MaxInt64, " ", "92 233 720 368 547 758,07"},
		{math.MinInt64, " ", "-92 233 720 368 547 758,08"},
	}
	for _, tt := range tests {
		if got := formatCents(tt.cents, tt.group); got != tt.want {
			t.Errorf("formatCents(%d, %q) = %q, want %q", tt.cents, tt.group, got, tt.want)
		}
	}
	if got, want := euros(123456), "1\u00a0234,56\u00a0€"; got != want {
		t.Errorf("euros(123456) = %q, want %q", got, want)
	}
}

func TestFormatRate(t *testing.T) {
	for bp, want := range map[int]string{0: "0", 550: "5,5", 1000: "10", 2000: "20", 210: "2,1", 1: "0,01"} {
		if got := formatRate(bp); got != want {
			t.Errorf("formatRate(%d) = %q, want %q", bp, got, want)
		}
	}
}

func TestMonthLabelFR(t *testing.T) {
	for month, want := range map[string]string{"2026-11": "novembre 2026", "2027-02": "février 2027", "2026-08": "août 2026", "2026-12": "décembre 2026"} {
		got, err := monthLabelFR(month)
		if err != nil || got != want {
			t.Errorf("monthLabelFR(%q) = %q, %v; want %q", month, got, err, want)
		}
	}
	if _, err := monthLabelFR("novembre"); !errors.Is(err, ErrInvalidMonth) {
		t.Errorf("monthLabelFR(novembre): err = %v, want ErrInvalidMonth", err)
	}
}

func TestFormatIdentifier(t *testing.T) {
	for id, want := range map[string]string{
		"732829320":      "732 829 320",
		"73282932000074": "732 829 320 00074",
		"12345":          "12345",
		"ABCDEFGHI":      "ABCDEFGHI",
		"":               "",
	} {
		if got := formatIdentifier(id); got != want {
			t.Errorf("formatIdentifier(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestStatementReadBackCorruptTotals: a stored statement whose frozen totals are not its orders'
// sums (a corrupt row) is refused with ErrInconsistentTotals, never shown; an intact one keeps its
// stored status and times.
func TestStatementReadBackCorruptTotals(t *testing.T) {
	d := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	issued := time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC)
	o := order("ord_1", d, nil, line("A", 2, 1000, 2000), line("B", 1, 1235, 550))
	stored := Statement{ID: "stm_1", InvoicingAccountID: testAccount.ID, BuyerID: testAccount.BuyerID, CenterID: testAccount.CenterID,
		Month: "2026-11", Status: StatementIssued, IssuedAt: &issued, Orders: []StatementOrder{o},
		TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total}
	got, err := complete(stored)
	if err != nil {
		t.Fatalf("intact statement: %v", err)
	}
	if got.Status != StatementIssued || got.IssuedAt == nil || !got.IssuedAt.Equal(issued) || got.Total != o.Total {
		t.Errorf("intact statement read back as %+v", got)
	}
	for name, corrupt := range map[string]func(*Statement){
		"total excl. VAT": func(s *Statement) { s.TotalExclVAT++ },
		"VAT":             func(s *Statement) { s.TotalVAT-- },
		"total":           func(s *Statement) { s.Total += 100 },
		"an order's line": func(s *Statement) {
			bad := o
			bad.Lines = append([]StatementLine(nil), o.Lines...)
			bad.Lines[0].Total++
			s.Orders = []StatementOrder{bad}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := stored
			corrupt(&s)
			if got, err := complete(s); !errors.Is(err, ErrInconsistentTotals) || got.ID != "" {
				t.Errorf("complete = %+v, %v; want ErrInconsistentTotals and no statement", got.ID, err)
			}
		})
	}
}
