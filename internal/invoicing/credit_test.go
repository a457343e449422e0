package invoicing

import (
	"testing"
	"time"
)

func TestCreditFor(t *testing.T) {
	// 100.00 at 20 % and 20.00 at 5.5 %: 120.00 + 21.10 VAT = 141.10.
	o := StatementOrder{OrderID: "ord_1", TotalExclVAT: 12000, TotalVAT: 2110, Total: 14110, Lines: []StatementLine{
		{VATRate: 2000, TotalExclVAT: 10000, TotalVAT: 2000, Total: 12000},
		{VATRate: 550, TotalExclVAT: 2000, TotalVAT: 110, Total: 2110},
	}}
	c := CreditFor(o, 0, 3000)
	if c.Total != -3000 || c.TotalExclVAT+c.TotalVAT != c.Total || len(c.VATLines) != 2 {
		t.Fatalf("credit of 30.00 = %+v", c)
	}
	var base, vat int64
	for _, l := range c.VATLines {
		base, vat = base+l.Base, vat+l.VAT
	}
	if base != c.TotalExclVAT || vat != c.TotalVAT {
		t.Errorf("VAT lines %+v do not add up to %d/%d", c.VATLines, c.TotalExclVAT, c.TotalVAT)
	}
	// Refunds that add up to the order credit exactly its bases and VAT, rate by rate.
	for _, split := range [][]int64{{3000, 11110}, {1, 1, 14108}, {14110}, {7000, 7000, 110}} {
		var before int64
		st := Statement{VATBreakdown: []VATLine{{Rate: 550, Base: 2000, VAT: 110}, {Rate: 2000, Base: 10000, VAT: 2000}},
			TotalExclVAT: 12000, TotalVAT: 2110, Total: 14110}
		var credits []StatementCredit
		for i, a := range split {
			c := CreditFor(o, before, a)
			c.RefundID, c.CreatedAt = "re_"+string(rune('a'+i)), time.Unix(int64(i), 0)
			credits = append(credits, c)
			before += a
		}
		st.applyCredits(credits)
		if st.Total != 0 || st.TotalExclVAT != 0 || st.TotalVAT != 0 {
			t.Errorf("split %v: totals %d/%d/%d after full refund", split, st.TotalExclVAT, st.TotalVAT, st.Total)
		}
		for _, v := range st.VATBreakdown {
			if v.Base != 0 || v.VAT != 0 {
				t.Errorf("split %v: VAT line %+v after full refund", split, v)
			}
		}
	}
}
