package storage_test

import (
	"context"
	"slices"
	"testing"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestProviderWalletsPages: the wallets of five buyers and three centres, read by pages of 1, 2,
// 3 and 100, come in account order (the buyers' before the centres'), each once, with the owner
// flag on the centres' alone; WalletOf finds each one and nothing for an unknown account.
func TestProviderWalletsPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		p := storage.NewParties(db)
		addr := parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}
		want := map[ledger.Account]string{}
		for i := range 5 {
			by := parties.Buyer{ID: id.New(id.Buyer), Name: "Garage", SIREN: []string{"812345676", "823456785", "834567893", "845678903", "856789011"}[i], Email: "a@b.fr", CreatedAt: t0, Address: addr}
			if err := p.CreateBuyer(ctx, by); err != nil {
				t.Fatal(err)
			}
			wallet := "wlt_b" + string(rune('a'+i))
			if _, err := db.SQL().ExecContext(ctx, numbered(db, `INSERT INTO payers (buyer_id, user_id, wallet_id) VALUES ($1, $2, $3)`), by.ID, "usr", wallet); err != nil {
				t.Fatal(err)
			}
			want[ledger.Buyer(by.ID)] = wallet
		}
		for i := range 3 {
			c := parties.Center{ID: id.New(id.Center), Name: "CVHU", SIRET: []string{"81234567600017", "82345678500018", "83456789300013"}[i], Email: "c@d.fr", CreatedAt: t0, Address: addr}
			if err := p.CreateCenter(ctx, c); err != nil {
				t.Fatal(err)
			}
			wallet := "wlt_c" + string(rune('a'+i))
			if _, err := db.SQL().ExecContext(ctx, numbered(db, `INSERT INTO payees (center_id, user_id, wallet_id) VALUES ($1, $2, $3)`), c.ID, "usr", wallet); err != nil {
				t.Fatal(err)
			}
			want[ledger.Center(c.ID)] = wallet
		}
		s := storage.NewReconciliations(db)
		for _, limit := range []int{1, 2, 3, 100} {
			var got []ledger.Account
			after := ""
			for range 20 {
				refs, err := s.ProviderWallets(ctx, after, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(refs) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(refs))
				}
				for _, r := range refs {
					isCenter := r.Account > "center:"
					if r.WalletID != want[r.Account] || r.Owner != isCenter {
						t.Errorf("limit %d: %+v, want wallet %q and owner %v", limit, r, want[r.Account], isCenter)
					}
					got = append(got, r.Account)
					after = string(r.Account)
				}
				if len(refs) < limit {
					break
				}
			}
			if len(got) != len(want) || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("limit %d: accounts %v, want the %d accounts once each, in order", limit, got, len(want))
			}
		}
		for account, wallet := range want {
			if got, ok, err := s.WalletOf(ctx, account); err != nil || !ok || got != wallet {
				t.Errorf("WalletOf(%s) = %q, %v, %v; want %q", account, got, ok, err, wallet)
			}
		}
		if _, ok, err := s.WalletOf(ctx, ledger.Buyer("byr_unknown")); err != nil || ok {
			t.Errorf("WalletOf(unknown) = %v, %v; want not found", ok, err)
		}
	})
}

// TestPostgresConnectionsWithoutJIT: vhupay's PostgreSQL connections run with jit off (a
// compilation of 0.7–1.5 s per set-based read of the month close otherwise).
func TestPostgresConnectionsWithoutJIT(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		db := storagetest.Open(t, b)
		if db.Dialect() != storage.Postgres {
			t.Skip("PostgreSQL only")
		}
		var jit string
		if err := db.SQL().QueryRow("SHOW jit").Scan(&jit); err != nil {
			t.Fatal(err)
		}
		if jit != "off" {
			t.Errorf("jit = %q, want off", jit)
		}
	})
}
