package money

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidVATRate(t *testing.T) {
	tests := []struct {
		bp   int
		want bool
	}{
		{-1, false}, {0, true}, {1, false}, {549, false}, {550, true}, {551, false},
		{999, false}, {1000, true}, {1999, false}, {2000, true}, {2001, false}, {10000, false},
	}
	for _, tt := range tests {
		if got := ValidVATRate(tt.bp); got != tt.want {
			t.Errorf("ValidVATRate(%d) = %v, want %v", tt.bp, got, tt.want)
		}
	}
}

func TestVATRatesIsACopy(t *testing.T) {
	rates := VATRates()
	if diff := cmp.Diff([]int{0, 550, 1000, 2000}, rates); diff != "" {
		t.Fatalf("VATRates() mismatch (-want +got):\n%s", diff)
	}
	rates[0] = 42
	if !ValidVATRate(0) || ValidVATRate(42) {
		t.Fatal("changing the returned slice changed the allowed rates")
	}
}

func TestVAT(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		rate   int
		want   int64
	}{
		{"zero amount", 0, 2000, 0},
		{"zero rate", 123456, 0, 0},
		{"550 on 1 cent: 0.055 rounds down", 1, 550, 0},
		{"550 on 9 cents: 0.495 rounds down", 9, 550, 0},
		{"550 on 10 cents: 0.55 rounds up", 10, 550, 1},
		{"550 on 99 cents: 5.445 rounds down", 99, 550, 5},
		{"550 on 100 cents: 5.5 rounds up", 100, 550, 6},
		{"2000 on 2 cents: 0.4 rounds down", 2, 2000, 0},
		{"2000 on 3 cents: 0.6 rounds up", 3, 2000, 1},
		{"1000 on 5 cents: exactly half rounds up", 5, 1000, 1},
		{"1000 on 15 cents: 1.5 rounds up", 15, 1000, 2},
		{"1000 on 14 cents: 1.4 rounds down", 14, 1000, 1},
		{"2000 on 250.00 EUR", 25000, 2000, 5000},
		{"550 on 199.99 EUR: 10.99945 rounds down", 19999, 550, 1100},
		{"largest order line, 1e11 cents at 20 %", 100_000_000_000, 2000, 20_000_000_000},
		{"largest order line at 5.5 %", 100_000_000_000, 550, 5_500_000_000},
		{"5000 on 1 cent: exactly half rounds up", 1, 5000, 1},
		{"credit: -3 at 2000 rounds away from zero", -3, 2000, -1},
		{"credit: -10 at 550 rounds away from zero", -10, 550, -1},
		{"credit: -9 at 550 rounds toward zero", -9, 550, 0},
		{"credit: -5 at 1000, exactly half", -5, 1000, -1},
		{"MaxInt64 at 100 %", math.MaxInt64, 10000, math.MaxInt64},
		{"MinInt64 at 100 %", math.MinInt64, 10000, math.MinInt64},
		{"MaxInt64 at 20 %", math.MaxInt64, 2000, 1844674407370955161},  // 1844674407370955161.4
		{"MinInt64 at 20 %", math.MinInt64, 2000, -1844674407370955162}, // -1844674407370955161.6
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VAT(tt.amount, tt.rate); got != tt.want {
				t.Errorf("VAT(%d, %d) = %d, want %d", tt.amount, tt.rate, got, tt.want)
			}
		})
	}
}

// TestVATMatchesExactArithmetic checks VAT against arbitrary-precision half-away-from-zero rounding
// over edge amounts and a deterministic spread of others, for every allowed rate and a few more.
func TestVATMatchesExactArithmetic(t *testing.T) {
	amounts := []int64{0, 1, 4, 5, 9, 10, 11, 99, 100, 4999, 5000, 5001, 9999, 10000, 10001,
		1e8, 1e11, 1e11 + 1, math.MaxInt64 / 10000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	x := uint64(88172645463325252)
	for range 2000 { // xorshift: reproducible, spread over every magnitude
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		amounts = append(amounts, int64(x)>>(x%63))
	}
	rates := append(VATRates(), 1, 1999, 3333, 5000, 9999, 10000)
	for _, a := range amounts {
		for _, r := range rates {
			if got, want := VAT(a, r), exactVAT(a, r); got != want {
				t.Fatalf("VAT(%d, %d) = %d, want %d", a, r, got, want)
			}
		}
	}
}

// exactVAT rounds amount·rate/10000 half away from zero with big integers.
func exactVAT(amount int64, rate int) int64 {
	n := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(rate)))
	neg := n.Sign() < 0
	n.Abs(n)
	n.Add(n, big.NewInt(5000))
	n.Quo(n, big.NewInt(10000))
	if neg {
		n.Neg(n)
	}
	return n.Int64()
}

func TestVATPanicsOnRateOutsideRange(t *testing.T) {
	for _, rate := range []int{-1, 10001, math.MaxInt} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("VAT(100, %d) did not panic", rate)
				}
			}()
			VAT(100, rate)
		})
	}
}

func TestLineTotals(t *testing.T) {
	tests := []struct {
		name                string
		unit                int64
		quantity            int
		rate                int
		exclVAT, vat, total int64
	}{
		{"one unit at 20 %", 25000, 1, 2000, 25000, 5000, 30000},
		{"VAT on the line, not per unit", 3, 3, 2000, 9, 2, 11}, // per unit would be 3 × 1 = 3
		{"VAT on the line rounds half up", 1, 5, 1000, 5, 1, 6},
		{"5.5 % on 10 × 1 cent", 1, 10, 550, 10, 1, 11},
		{"zero rate", 1999, 7, 0, 13993, 0, 13993},
		{"largest allowed line", 100_000_000, 1000, 2000, 100_000_000_000, 20_000_000_000, 120_000_000_000},
		{"zero quantity", 500, 0, 2000, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exclVAT, vat, total := LineTotals(tt.unit, tt.quantity, tt.rate)
			got := [3]int64{exclVAT, vat, total}
			if want := [3]int64{tt.exclVAT, tt.vat, tt.total}; got != want {
				t.Errorf("LineTotals(%d, %d, %d) = %v, want %v", tt.unit, tt.quantity, tt.rate, got, want)
			}
		})
	}
}

func TestLineTotalsPanicsOnOverflow(t *testing.T) {
	tests := []struct {
		name     string
		unit     int64
		quantity int
		rate     int
	}{
		{"product overflows", math.MaxInt64 / 2, 3, 2000},
		{"MinInt64 × -1", math.MinInt64, -1, 0},
		{"total overflows", math.MaxInt64 - 10, 1, 2000},
		{"rate out of range", 100, 1, 10001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("LineTotals(%d, %d, %d) did not panic", tt.unit, tt.quantity, tt.rate)
				}
			}()
			LineTotals(tt.unit, tt.quantity, tt.rate)
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		cents int64
		want  string
	}{
		{0, "0.00"},
		{1, "0.01"},
		{5, "0.05"},
		{10, "0.10"},
		{99, "0.99"},
		{100, "1.00"},
		{25000, "250.00"},
		{123456789, "1234567.89"},
		{-1, "-0.01"},
		{-150, "-1.50"},
		{-25000, "-250.00"},
		{math.MaxInt64, "92233720368547758.07"},
		{math.MinInt64, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := Format(tt.cents); got != tt.want {
			t.Errorf("Format(%d) = %q, want %q", tt.cents, got, tt.want)
		}
	}
}
