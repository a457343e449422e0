package balances

import (
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/ledger"
)

func TestFee(t *testing.T) {
	for _, tt := range []struct {
		amount int64
		bps    int
		want   int64
	}{
		{12000, 500, 600}, {12000, 0, 0}, {12000, 10000, 12000}, {0, 500, 0},
		{10, 500, 1},  // 0.5 cent rounds up
		{9, 500, 0},   // 0.45 cent rounds down
		{150, 333, 5}, // 4.995 → 5
		{149, 333, 5}, // 4.9617 → 5
		{15, 333, 0},  // 0.4995 → 0
		{1, 5000, 1},  // 0.5 → 1
		{3, 5000, 2},  // 1.5 → 2
		{100000000000, 9999, 99990000000},
	} {
		if got := Fee(tt.amount, tt.bps); got != tt.want {
			t.Errorf("Fee(%d, %d) = %d, want %d", tt.amount, tt.bps, got, tt.want)
		}
	}
}

func TestEarningTransactionsBalance(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := Earning{IntentID: "pi_1", BuyerID: "byr_1", CenterID: "ctr_1", Amount: 12000, FeeRateBPS: 500}
	free := Earning{IntentID: "pi_2", BuyerID: "byr_1", CenterID: "ctr_2", Amount: 3000}
	all := [][]ledger.Transaction{
		CardEarned(e, at), CardEarned(free, at),
		SEPASucceeded("col_1", "byr_1", 15000, []Earning{e, free}, at),
		SEPAGuaranteed([]Earning{e, free}, at),
		SEPAUnpaidAfterSuccess("col_1", 15000, at),
		CardEarned(Earning{IntentID: "pi_3", BuyerID: "byr_1", CenterID: "ctr_3", Amount: 500, FeeRateBPS: 10000}, at),
	}
	balance := map[ledger.Account]int64{}
	for _, ts := range all {
		for _, lt := range ts {
			if err := lt.Check(); err != nil {
				t.Fatalf("%+v: %v", lt, err)
			}
			for _, p := range lt.Postings {
				balance[p.Account] += p.Amount
			}
		}
	}
	// Card: 11400 to the centre; SEPA: 11400 from the buyer's debit, 11400 from the guarantee.
	if got := balance[ledger.Center("ctr_1")]; got != 3*11400 {
		t.Errorf("centre 1 has %d, want %d", got, 3*11400)
	}
	if got := balance[ledger.PlatformFees]; got != 3*600+500 {
		t.Errorf("fees %d, want %d", got, 3*600+500)
	}
	if got := balance[ledger.Buyer("byr_1")]; got != 0 {
		t.Errorf("the buyer's funds are %d after its payments, want 0", got)
	}
	if got := balance[ledger.PlatformGuarantee]; got != -15000-15000 {
		t.Errorf("guarantee %d, want -30000", got)
	}
	cardIn := CardEarned(free, at)[0]
	if cardIn.Kind != KindCardPayIn || cardIn.SourceID != "pi_2" {
		t.Errorf("card pay-in %+v", cardIn)
	}
	if pay := CardEarned(free, at)[1]; len(pay.Postings) != 2 {
		t.Errorf("a payment without fee has %d postings, want 2 (no zero fee posting)", len(pay.Postings))
	}
}

func TestDailyRunDay(t *testing.T) {
	paris := clock.Paris()
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 2, 3, 59, 59, 0, paris), "2026-12-01"},
		{time.Date(2026, 12, 2, 4, 0, 0, 0, paris), "2026-12-02"},
		{time.Date(2026, 12, 2, 23, 30, 0, 0, paris), "2026-12-02"},
		{time.Date(2026, 12, 2, 3, 30, 0, 0, time.UTC), "2026-12-02"}, // 04:30 Paris
		{time.Date(2027, 3, 28, 3, 30, 0, 0, paris), "2027-03-27"},    // the night clocks go forward
		{time.Date(2027, 3, 28, 4, 0, 0, 0, paris), "2027-03-28"},
	} {
		if got := dailyRunDay(tt.at); got != tt.want {
			t.Errorf("dailyRunDay(%s) = %s, want %s", tt.at, got, tt.want)
		}
	}
}
