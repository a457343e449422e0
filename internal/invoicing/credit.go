package invoicing

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// StatementCredit is a credit line of a statement: a refund of a vhu_invoice payment, written on
// the statement of the refund's month (which may not be the order's). Its amounts are negative;
// VATLines is its VAT breakdown (negative bases and VAT), which adds up to its totals.
type StatementCredit struct {
	RefundID     string
	OrderID      string
	CreatedAt    time.Time
	TotalExclVAT int64
	TotalVAT     int64
	Total        int64
	VATLines     []VATLine
}

// Credit is a credit line to write on the statement of an account and month.
type Credit struct {
	StatementID        string // the id of the statement if it must be opened
	InvoicingAccountID string
	BuyerID            string
	CenterID           string
	Month              string
	StatementCredit
}

// CreditFor allocates a refund of amount cents (VAT included) of an order to the order's VAT
// rates, after earlier refunds of it that gave back refundedBefore: the credit is the allocation
// of (refundedBefore + amount) less that of refundedBefore, so that refunds adding up to the
// order's total credit exactly its bases and VAT at each rate. Each allocation shares the refunded
// total among the rates in proportion of their totals (the last rate takes the rounding), then
// splits each rate's share into base and VAT in the proportion of the order's (half up).
func CreditFor(o StatementOrder, refundedBefore, amount int64) StatementCredit {
	before, after := allocate(o, refundedBefore), allocate(o, refundedBefore+amount)
	c := StatementCredit{OrderID: o.OrderID}
	for i := range after {
		base, vat := -(after[i].Base - before[i].Base), -(after[i].VAT - before[i].VAT)
		if base == 0 && vat == 0 {
			continue
		}
		c.VATLines = append(c.VATLines, VATLine{Rate: after[i].Rate, Base: base, VAT: vat})
		c.TotalExclVAT += base
		c.TotalVAT += vat
	}
	c.Total = c.TotalExclVAT + c.TotalVAT
	return c
}

// allocate shares cum cents of o's total among its VAT rates (see CreditFor).
func allocate(o StatementOrder, cum int64) []VATLine {
	byRate := map[int]*VATLine{}
	for _, l := range o.Lines {
		v := byRate[l.VATRate]
		if v == nil {
			v = &VATLine{Rate: l.VATRate}
			byRate[l.VATRate] = v
		}
		v.Base += l.TotalExclVAT
		v.VAT += l.TotalVAT
	}
	rates := make([]VATLine, 0, len(byRate))
	for _, v := range byRate {
		rates = append(rates, *v)
	}
	slices.SortFunc(rates, func(a, b VATLine) int { return cmp.Compare(a.Rate, b.Rate) })
	total := o.Total
	out := make([]VATLine, len(rates))
	var given int64
	for i, v := range rates {
		share := cum - given
		if i < len(rates)-1 && total > 0 {
			share = cum * (v.Base + v.VAT) / total
		}
		given += share
		out[i] = VATLine{Rate: v.Rate}
		if t := v.Base + v.VAT; t > 0 {
			out[i].Base = (2*share*v.Base + t) / (2 * t)
		} else {
			out[i].Base = share
		}
		out[i].VAT = share - out[i].Base
	}
	return out
}

// applyCredits adds credits to a statement built from its orders: its totals and VAT
// breakdown (credits are negative), credits sorted by creation.
func (s *Statement) applyCredits(credits []StatementCredit) {
	s.Credits = slices.Clone(credits)
	if s.Credits == nil {
		s.Credits = []StatementCredit{}
	}
	slices.SortFunc(s.Credits, func(a, b StatementCredit) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.RefundID, b.RefundID))
	})
	for _, c := range s.Credits {
		s.TotalExclVAT += c.TotalExclVAT
		s.TotalVAT += c.TotalVAT
		s.Total += c.Total
		for _, l := range c.VATLines {
			i := slices.IndexFunc(s.VATBreakdown, func(v VATLine) bool { return v.Rate == l.Rate })
			if i < 0 {
				s.VATBreakdown = append(s.VATBreakdown, VATLine{Rate: l.Rate})
				i = len(s.VATBreakdown) - 1
			}
			s.VATBreakdown[i].Base += l.Base
			s.VATBreakdown[i].VAT += l.VAT
		}
	}
	slices.SortFunc(s.VATBreakdown, func(a, b VATLine) int { return cmp.Compare(a.Rate, b.Rate) })
}
