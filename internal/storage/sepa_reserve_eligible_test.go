package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestReserveEligible: the one-statement reservation reserves exactly when the facts say the
// buyer is eligible and the amount fits, returns the default account's newest usable mandate,
// writes nothing when it refuses, and the facts then name the reason.
func TestReserveEligible(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	const month = "2026-11"
	day := 24 * time.Hour
	type score struct {
		id      string
		outcome sepa.ScoreOutcome
		value   int
		age     time.Duration
	}
	scored := func(id string, value int, age time.Duration) score { return score{id, sepa.ScoreScored, value, age} }
	good := []score{scored("sc_1", 15, day)}
	tests := []struct {
		name        string
		noProfile   bool
		noAccount   bool
		mandates    []sepa.MandateStatus // oldest first
		wantMandate int                  // index in mandates of the mandate used
		scores      []score
		suspended   bool
		outstanding int64 // this month's, before the payment
		lastMonth   int64 // October's outstanding (never counts)
		amount      int64
		wantReasons []string // nil: eligible
		available   int64    // when eligible but refused: what is available
	}{
		{name: "eligible", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, amount: 10000},
		{name: "submitted mandate", mandates: []sepa.MandateStatus{sepa.MandateSubmitted}, scores: good, amount: 10000},
		{name: "newest usable mandate", mandates: []sepa.MandateStatus{sepa.MandateActive, sepa.MandateSubmitted, sepa.MandateCancelled},
			wantMandate: 1, scores: good, amount: 10000},
		{name: "no profile", noProfile: true, noAccount: true, amount: 100,
			wantReasons: []string{sepa.ReasonNoBankAccount, sepa.ReasonNoActiveMandate, sepa.ReasonNoScore}},
		{name: "no bank account", noAccount: true, scores: good, amount: 100,
			wantReasons: []string{sepa.ReasonNoBankAccount, sepa.ReasonNoActiveMandate}},
		{name: "mandate not signed", mandates: []sepa.MandateStatus{sepa.MandatePendingSignature}, scores: good, amount: 100,
			wantReasons: []string{sepa.ReasonNoActiveMandate}},
		{name: "mandate ended", mandates: []sepa.MandateStatus{sepa.MandateFailed}, scores: good, amount: 100,
			wantReasons: []string{sepa.ReasonNoActiveMandate}},
		{name: "no score", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100, wantReasons: []string{sepa.ReasonNoScore}},
		{name: "only an unavailable attempt", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{{"sc_1", sepa.ScoreUnavailable, 0, day}}, wantReasons: []string{sepa.ReasonNoScore}},
		{name: "score below the minimum", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 9, day)}, wantReasons: []string{sepa.ReasonScoreBelowMinimum}},
		{name: "score at the minimum", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 10, day)}},
		{name: "an older passing score does not count", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 18, 3*day), scored("sc_2", 8, day)}, wantReasons: []string{sepa.ReasonScoreBelowMinimum}},
		{name: "score just under 31 days", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 15, 31*day-time.Microsecond)}},
		{name: "score 31 days old", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 15, 31*day)}, wantReasons: []string{sepa.ReasonScoreUnavailable}},
		{name: "40 days old after an outage", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores: []score{scored("sc_1", 15, 40*day), {"sc_2", sepa.ScoreUnavailable, 0, day}}},
		{name: "45 days old after an outage", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores:      []score{scored("sc_1", 15, 45*day), {"sc_2", sepa.ScoreUnavailable, 0, day}},
			wantReasons: []string{sepa.ReasonScoreUnavailable}},
		{name: "outage before the score", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores:      []score{{"sc_1", sepa.ScoreUnavailable, 0, 41 * day}, scored("sc_2", 15, 40*day)},
			wantReasons: []string{sepa.ReasonScoreUnavailable}},
		{name: "outage at the score's instant", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores:      []score{scored("sc_1", 15, 40*day), {"sc_2", sepa.ScoreUnavailable, 0, 40 * day}},
			wantReasons: []string{sepa.ReasonScoreUnavailable}},
		{name: "unknown company after the score", mandates: []sepa.MandateStatus{sepa.MandateActive}, amount: 100,
			scores:      []score{scored("sc_1", 15, 40*day), {"sc_2", sepa.ScoreUnknownCompany, 0, day}},
			wantReasons: []string{sepa.ReasonScoreUnavailable}},
		{name: "suspended", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, suspended: true, amount: 100,
			wantReasons: []string{sepa.ReasonUnpaidDebit}},
		{name: "fits exactly", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, outstanding: 20000, amount: 5000},
		{name: "over the ceiling", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, outstanding: 20000, amount: 5001,
			available: 5000},
		{name: "over the ceiling alone", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, amount: 25001,
			available: 25000},
		{name: "last month does not count", mandates: []sepa.MandateStatus{sepa.MandateActive}, scores: good, lastMonth: 25000,
			amount: 25000},
	}
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewSEPA(db)
		policy := sepa.DefaultScorePolicy()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				buyer := fmt.Sprintf("byr_re%02d", i)
				newBuyer(t, db, buyer, fmt.Sprintf("9%08d", i))
				if !tt.noProfile {
					if _, err := store.EnsureProfile(ctx, buyer, 25000, at.Add(-90*day)); err != nil {
						t.Fatal(err)
					}
				}
				var mandateIDs []string
				if !tt.noAccount {
					acc := sepa.BankAccount{ID: "ba_" + buyer, BuyerID: buyer, ProviderID: "p_ba_" + buyer, OwnerName: "Garage",
						Country: "FR", Last4: "0189", MaskedIBAN: "FR76 ****", Fingerprint: "fp_" + buyer, CreatedAt: at.Add(-80 * day), UpdatedAt: at.Add(-80 * day)}
					if _, err := store.AddBankAccount(ctx, acc); err != nil {
						t.Fatal(err)
					}
					for j, st := range tt.mandates {
						m := sepa.Mandate{ID: fmt.Sprintf("mdt_%s_%d", buyer, j), BuyerID: buyer, BankAccountID: acc.ID,
							ProviderID: fmt.Sprintf("p_mdt_%s_%d", buyer, j), Status: st, SignatureURL: "https://bank/sign",
							ReturnURL: "https://shop/r", CreatedAt: at.Add(-70 * day), UpdatedAt: at.Add(-70 * day)}
						if err := store.AddMandate(ctx, m); err != nil {
							t.Fatal(err)
						}
						mandateIDs = append(mandateIDs, m.ID)
					}
				}
				for _, s := range tt.scores {
					c := sepa.ScoreCheck{ID: s.id + "_" + buyer, BuyerID: buyer, Outcome: s.outcome, Value: s.value, RequestedBy: "system",
						CheckedAt: at.Add(-s.age)}
					if err := store.AddScoreCheck(ctx, c); err != nil {
						t.Fatal(err)
					}
				}
				for m, amount := range map[string]int64{month: tt.outstanding, "2026-10": tt.lastMonth} {
					if amount == 0 {
						continue
					}
					if ok, _, err := storage.ReserveSEPAInTx(ctx, db, buyer, m, amount, 25000); !ok || err != nil {
						t.Fatalf("prefill %s: %v, %v", m, ok, err)
					}
				}
				if tt.suspended {
					if _, err := store.Suspend(ctx, buyer, "unpaid", at.Add(-day)); err != nil {
						t.Fatal(err)
					}
				}

				var got string
				var facts sepa.Facts
				err := db.SEPAUnits().InTx(ctx, func(tx sepa.Tx) error {
					var err error
					if got, err = tx.ReserveEligible(ctx, buyer, month, tt.amount, policy.RuleAt(at)); err != nil {
						return err
					}
					facts, err = tx.DebitFacts(ctx, buyer, month)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				eligible := tt.wantReasons == nil && tt.available == 0
				want := ""
				if eligible {
					want = mandateIDs[tt.wantMandate]
				}
				if got != want {
					t.Errorf("ReserveEligible = %q, want %q", got, want)
				}
				wantOutstanding := tt.outstanding
				if eligible {
					wantOutstanding += tt.amount
				}
				if facts.Outstanding != wantOutstanding {
					t.Errorf("outstanding = %d, want %d", facts.Outstanding, wantOutstanding)
				}
				if eligible {
					return
				}
				// Refused: the facts tell why, as the payment method reports it.
				snap := sepa.Snapshot{HasBankAccount: facts.HasBankAccount, HasActiveMandate: facts.DefaultMandateID != "",
					Score: facts.Score, Suspended: facts.Profile.Suspended, Now: at}
				err = sepa.CheckEligible(policy, snap)
				var notEligible *sepa.NotEligibleError
				switch {
				case tt.wantReasons != nil:
					if !errors.As(err, &notEligible) {
						t.Fatalf("CheckEligible = %v, want reasons %v", err, tt.wantReasons)
					}
					if diff := cmp.Diff(tt.wantReasons, notEligible.Reasons); diff != "" {
						t.Errorf("reasons (-want +got):\n%s", diff)
					}
				case err != nil:
					t.Errorf("CheckEligible = %v, want eligible", err)
				default:
					if available := sepa.Available(facts.Profile.Ceiling, facts.Outstanding); tt.amount <= available || available != tt.available {
						t.Errorf("%d cents with %d available, want it refused with %d available", tt.amount, available, tt.available)
					}
				}
			})
		}
	})
}
