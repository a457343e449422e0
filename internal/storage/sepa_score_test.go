package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/scoring"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestScoreCheckUnknownSIREN: a score partner that knows no company with the buyer's SIREN makes
// the check fail with sepa.ErrCompanyUnknown; the attempt is recorded as unknown_company (no
// score, no grace period started), and the buyer's own request is given back (asking again is not
// rate-limited). Both databases.
func TestScoreCheckUnknownSIREN(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		clk := clock.NewManual(t0)
		buyer, err := parties.NewService(storage.NewParties(db), clk).CreateBuyer(ctx, parties.NewBuyer{Name: "Garage", SIREN: "812345676",
			Email: "g@example.fr", Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}})
		if err != nil {
			t.Fatal(err)
		}
		asked := 0
		partner := scoring.Func(func(_ context.Context, siren string) (int, error) {
			asked++
			if siren != buyer.SIREN {
				t.Errorf("partner asked for %q, want the buyer's SIREN", siren)
			}
			return 0, scoring.ErrUnknownCompany
		})
		store := storage.NewSEPA(db)
		svc, err := sepa.NewService(store, storage.NewParties(db), nil, nil, partner, clk, nil, sepa.DefaultConfig([]byte("test fingerprint key")))
		if err != nil {
			t.Fatal(err)
		}
		who := auth.Principal{Subject: "u", Role: auth.RoleBuyer, Org: buyer.ID}
		for attempt := 1; attempt <= 2; attempt++ {
			if _, err := svc.RequestScoreCheck(ctx, who, ""); !errors.Is(err, sepa.ErrCompanyUnknown) {
				t.Fatalf("request %d: err = %v, want ErrCompanyUnknown (and never rate-limited)", attempt, err)
			}
		}
		if _, err := svc.CheckScore(ctx, buyer.ID); !errors.Is(err, sepa.ErrCompanyUnknown) {
			t.Errorf("CheckScore = %v, want ErrCompanyUnknown", err)
		}
		if asked != 3 {
			t.Errorf("partner asked %d times, want 3", asked)
		}
		st, err := store.ScoreState(ctx, buyer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Latest != nil || !st.UnavailableAt.IsZero() {
			t.Errorf("score state after unknown SIREN checks = %+v, want no score and no grace period", st)
		}
		var outcomes []string
		rows, err := db.SQL().QueryContext(ctx, "SELECT outcome FROM score_checks WHERE buyer_id = '"+buyer.ID+"'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var o string
			if err := rows.Scan(&o); err != nil {
				t.Fatal(err)
			}
			outcomes = append(outcomes, o)
		}
		if len(outcomes) != 3 || outcomes[0] != string(sepa.ScoreUnknownCompany) || outcomes[2] != string(sepa.ScoreUnknownCompany) {
			t.Errorf("recorded outcomes %v, want 3 × unknown_company", outcomes)
		}
	})
}
