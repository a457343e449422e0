// Package money holds vhupay's arithmetic on amounts: integer euro cents, VAT in basis points
// computed per line and rounded half up to the cent. It does no I/O and never uses floating point.
package money

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// EUR is the only currency vhupay handles; amounts are int64 cents of it.
const EUR = "EUR"

// VAT rates in basis points (2000 = 20 %).
const (
	VATRateZero         = 0
	VATRateReduced      = 550  // 5.5 %
	VATRateIntermediate = 1000 // 10 %
	VATRateStandard     = 2000 // 20 %

	// DefaultVATRate applies to an order line that gives no rate.
	DefaultVATRate = VATRateStandard
)

// basisPoints is 100 %, in basis points.
const basisPoints = 10000

var vatRates = []int{VATRateZero, VATRateReduced, VATRateIntermediate, VATRateStandard}

// VATRates returns the allowed VAT rates in basis points, in increasing order. The slice is a copy.
func VATRates() []int { return slices.Clone(vatRates) }

// ValidVATRate reports whether bp is one of the allowed rates: 0, 550, 1000 or 2000.
func ValidVATRate(bp int) bool { return slices.Contains(vatRates, bp) }

// VAT returns the VAT on amountExclVAT at rateBP basis points, rounded half up to the cent
// (2000 bp on 3 cents is 0.6 → 1; 550 bp on 10 cents is 0.55 → 1). A negative amount (a credit)
// rounds half away from zero, so VAT(-a, r) == -VAT(a, r).
//
// It uses integer arithmetic only and cannot overflow: the amount is split into whole hundreds of
// euros and a remainder, so every int64 amount is accepted (the result is at most |amount|).
// rateBP must be within 0..10000 (0 % to 100 %); VAT panics otherwise, because rates are validated
// (ValidVATRate) before they reach it.
func VAT(amountExclVAT int64, rateBP int) int64 {
	if rateBP < 0 || rateBP > basisPoints {
		panic(fmt.Sprintf("money: VAT rate %d bp outside 0..10000", rateBP))
	}
	rate := int64(rateBP)
	// amount = q·10000 + r with |r| < 10000 and r of the amount's sign (Go truncates toward zero).
	// amount·rate/10000 = q·rate + r·rate/10000; q·rate is exact and |q·rate| ≤ |amount|.
	q, r := amountExclVAT/basisPoints, amountExclVAT%basisPoints
	part := r * rate // |part| < 10000·10000
	if part >= 0 {
		part = (part + basisPoints/2) / basisPoints
	} else {
		part = (part - basisPoints/2) / basisPoints
	}
	return q*rate + part
}

// LineTotals returns the totals of an order line: exclVAT = unit price × quantity, vat = VAT on
// exclVAT (per line, not per unit), total = exclVAT + vat.
//
// Order lines are bounded (unit price ≤ 100,000,000 cents, quantity ≤ 1000, so exclVAT ≤ 1e11 cents
// and total ≤ 1.2e11), far below the int64 limit of about 9.2e18. LineTotals panics if unit price ×
// quantity or the total overflows int64, or if rateBP is outside 0..10000: both are caller bugs,
// since lines are validated before they are priced.
func LineTotals(unitPriceExclVAT int64, quantity int, rateBP int) (exclVAT, vat, total int64) {
	exclVAT, ok := mul(unitPriceExclVAT, int64(quantity))
	if !ok {
		panic(fmt.Sprintf("money: %d × %d overflows int64", unitPriceExclVAT, quantity))
	}
	vat = VAT(exclVAT, rateBP)
	total = exclVAT + vat
	if (vat > 0 && total < exclVAT) || (vat < 0 && total > exclVAT) {
		panic(fmt.Sprintf("money: %d + %d overflows int64", exclVAT, vat))
	}
	return exclVAT, vat, total
}

// mul returns a×b and whether it fits in an int64.
func mul(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	p := a * b
	if p/b != a || (a == math.MinInt64 && b == -1) { // MinInt64 / -1 == MinInt64 in Go
		return 0, false
	}
	return p, true
}

// Format writes cents as euros with two decimals and a dot, no currency and no thousands
// separator: 25000 → "250.00", 5 → "0.05", -150 → "-1.50". Every int64 is formatted exactly.
func Format(cents int64) string {
	sign := ""
	mag := uint64(cents)
	if cents < 0 {
		sign = "-"
		mag = -mag // two's complement: exact even for math.MinInt64
	}
	frac := strconv.FormatUint(mag%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + strconv.FormatUint(mag/100, 10) + "." + frac
}
