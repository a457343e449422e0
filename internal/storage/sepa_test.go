package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

var now = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func newBuyer(t *testing.T, db *storage.DB, id, siren string) {
	t.Helper()
	err := storage.NewParties(db).CreateBuyer(context.Background(), parties.Buyer{ID: id, Name: "Garage", SIREN: siren,
		Email: "a@b.fr", Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReserveSEPA: concurrent reservations never exceed the ceiling, the profile's ceiling and
// suspension are honoured in the same statement, and the months are separate.
func TestReserveSEPA(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewSEPA(db)
		newBuyer(t, db, "byr_a", "812345676")
		if _, err := store.EnsureProfile(ctx, "byr_a", 25000, now); err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, refused := 0, 0
		for range 20 {
			wg.Go(func() {
				ok, available, err := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2026-11", 3000, 25000)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case ok:
					accepted++
				default:
					refused++
					if available != 1000 && available != 25000-3000*int64(accepted) {
						t.Errorf("available = %d", available)
					}
				}
			})
		}
		wg.Wait()
		if accepted != 8 || refused != 12 {
			t.Errorf("accepted %d, refused %d; want 8 and 12", accepted, refused)
		}
		if got, _ := store.Outstanding(ctx, "byr_a", "2026-11"); got != 24000 {
			t.Errorf("outstanding = %d, want 24000", got)
		}
		if ok, available, _ := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2026-11", 1001, 25000); ok || available != 1000 {
			t.Errorf("1001 over 1000 available: ok %v, available %d", ok, available)
		}
		if ok, _, _ := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2026-11", 1000, 25000); !ok {
			t.Error("the last 1000 do not fit")
		}
		// Another month starts at 0.
		if ok, _, _ := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2026-12", 25000, 25000); !ok {
			t.Error("December's first reservation does not fit")
		}

		// The profile's ceiling, lowered since the caller read it, wins.
		if _, err := store.SetCeiling(ctx, "byr_a", 10000, sepa.CeilingChangeManual, "lower", now, nil); err != nil {
			t.Fatal(err)
		}
		if ok, available, _ := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2027-01", 15000, 25000); ok || available != 10000 {
			t.Errorf("over the stored ceiling: ok %v, available %d", ok, available)
		}
		// A suspended buyer never fits.
		if _, err := store.Suspend(ctx, "byr_a", "unpaid", now); err != nil {
			t.Fatal(err)
		}
		if ok, available, _ := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2027-01", 100, 25000); ok || available != 0 {
			t.Errorf("suspended: ok %v, available %d", ok, available)
		}
		// A buyer without a profile never fits; a non-positive amount is refused.
		newBuyer(t, db, "byr_b", "823456785")
		if ok, _, err := storage.ReserveSEPAInTx(ctx, db, "byr_b", "2026-11", 100, 25000); ok || err != nil {
			t.Errorf("no profile: ok %v, err %v", ok, err)
		}
		if _, _, err := storage.ReserveSEPAInTx(ctx, db, "byr_a", "2026-11", 0, 25000); !errors.Is(err, sepa.ErrInvalidAmount) {
			t.Errorf("amount 0: err %v", err)
		}
	})
}

// TestSEPAStoreInvariants: one active account per IBAN fingerprint and one default per buyer,
// held by the database even when two first accounts race; a profile is created once.
func TestSEPAStoreInvariants(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		store := storage.NewSEPA(db)
		newBuyer(t, db, "byr_a", "812345676")

		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := store.EnsureProfile(ctx, "byr_a", 25000, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		changes, err := store.CeilingChanges(ctx, "byr_a", pageOf(10))
		if err != nil || len(changes.Items) != 1 || changes.Items[0].Reason != sepa.CeilingChangeInitial {
			t.Fatalf("changes = %+v, %v; want one initial", changes.Items, err)
		}

		account := func(id, fingerprint string) sepa.BankAccount {
			return sepa.BankAccount{ID: id, BuyerID: "byr_a", ProviderID: "p_" + id, OwnerName: "G", Country: "FR", Last4: "0189",
				MaskedIBAN: "FR76 ****", Fingerprint: fingerprint, Active: true, CreatedAt: now, UpdatedAt: now}
		}
		results := make(chan sepa.BankAccount, 4)
		for i, fp := range []string{"f1", "f2", "f3", "f1"} {
			wg.Go(func() {
				a, err := store.AddBankAccount(ctx, account("ba_"+string(rune('a'+i)), fp))
				switch {
				case errors.Is(err, sepa.ErrBankAccountExists):
				case err != nil:
					t.Error(err)
				default:
					results <- a
				}
			})
		}
		wg.Wait()
		close(results)
		added, defaults := 0, 0
		for a := range results {
			added++
			if a.IsDefault {
				defaults++
			}
		}
		if added != 3 || defaults != 1 {
			t.Errorf("added %d accounts with %d defaults; want 3 and 1", added, defaults)
		}
	})
}

func pageOf(limit int) page.Request { return page.Request{Limit: limit} }
