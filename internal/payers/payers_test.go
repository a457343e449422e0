package payers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// Concurrent first payments of a buyer create one provider user and one wallet.
func TestEnsureCreatesOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		client, err := mangopay.New(mangopay.Config{BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Timeout: 5 * time.Second, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		ps := parties.NewService(storage.NewParties(db), clock.Real{})
		buyer, err := ps.CreateBuyer(ctx, parties.NewBuyer{Name: "Garage", SIREN: "812345676", Email: "g@example.fr",
			Address:             parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"},
			LegalRepresentative: &parties.Representative{FirstName: "Alice", LastName: "Martin"}})
		if err != nil {
			t.Fatal(err)
		}
		svc := payers.NewService(storage.NewPayers(db), storage.NewParties(db), client)
		var wg sync.WaitGroup
		got := make([]payers.Payer, 8)
		for i := range got {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p, err := svc.Ensure(ctx, buyer.ID)
				if err != nil {
					t.Error(err)
				}
				got[i] = p
			}(i)
		}
		wg.Wait()
		for _, p := range got {
			if p != got[0] || p.UserID == "" || p.WalletID == "" {
				t.Fatalf("payers differ or are empty: %+v", got)
			}
		}
		if n := fake.Created("users"); n != 1 {
			t.Errorf("%d provider users created, want 1", n)
		}
		if _, err := svc.Ensure(ctx, "byr_unknown"); err == nil {
			t.Error("Ensure of an unknown buyer should fail")
		}
	})
}

// With MangoPay, a buyer without a legal representative gets no provider user (MangoPay refuses
// placeholder names in production): psp.ErrRepresentativeRequired, nothing called, nothing kept;
// once the representative is set, the user is created with the real names.
func TestEnsureNeedsTheRepresentative(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		client, err := mangopay.New(mangopay.Config{BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Timeout: 5 * time.Second, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		ps := parties.NewService(storage.NewParties(db), clock.Real{})
		buyer, err := ps.CreateBuyer(ctx, parties.NewBuyer{Name: "Garage Martin SARL", SIREN: "812345676", Email: "g@example.fr",
			Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"}})
		if err != nil {
			t.Fatal(err)
		}
		svc := payers.NewService(storage.NewPayers(db), storage.NewParties(db), client)
		if _, err := svc.Ensure(ctx, buyer.ID); !errors.Is(err, psp.ErrRepresentativeRequired) {
			t.Fatalf("Ensure without a representative: %v", err)
		}
		if n := len(fake.CallCounts()); n != 0 {
			t.Fatalf("MangoPay was called: %v", fake.CallCounts())
		}
		if _, err := storage.NewPayers(db).Payer(ctx, buyer.ID); !errors.Is(err, payers.ErrNotFound) {
			t.Fatalf("a payer was kept: %v", err)
		}
		admin := auth.Principal{Role: auth.RoleAdmin}
		if _, err := ps.SetBuyerRepresentative(ctx, admin, buyer.ID, parties.Representative{FirstName: "Alice", LastName: "Martin"}); err != nil {
			t.Fatal(err)
		}
		p, err := svc.Ensure(ctx, buyer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if name, first, last, _ := fake.UserName(p.UserID); name != "Garage Martin SARL" || first != "Alice" || last != "Martin" {
			t.Fatalf("provider user: %s, %s %s", name, first, last)
		}
	})
}

// walletFailsOnce is a provider whose first wallet creation fails (an outage after the user was
// created).
type walletFailsOnce struct {
	psp.Users
	mu     sync.Mutex
	failed bool
}

func (p *walletFailsOnce) CreateWallet(ctx context.Context, r psp.WalletRequest) (psp.Wallet, error) {
	p.mu.Lock()
	first := !p.failed
	p.failed = true
	p.mu.Unlock()
	if first {
		return psp.Wallet{}, psp.ErrUnavailable
	}
	return p.Users.CreateWallet(ctx, r)
}

// A payer whose wallet creation fails once: nothing is kept, the error is the provider's outage;
// the next Ensure completes the payer with the same provider user (the creation's idempotency
// key) and one wallet.
func TestEnsureAfterAWalletFailure(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		db := storagetest.Open(t, b)
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		client, err := mangopay.New(mangopay.Config{BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Timeout: 5 * time.Second, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		buyer, err := parties.NewService(storage.NewParties(db), clock.Real{}).CreateBuyer(ctx, parties.NewBuyer{Name: "Garage", SIREN: "812345676",
			Email: "g@example.fr", Address: parties.Address{Line1: "1 rue", PostalCode: "69007", City: "Lyon", Country: "FR"},
			LegalRepresentative: &parties.Representative{FirstName: "Alice", LastName: "Martin"}})
		if err != nil {
			t.Fatal(err)
		}
		store := storage.NewPayers(db)
		svc := payers.NewService(store, storage.NewParties(db), &walletFailsOnce{Users: client})
		if _, err := svc.Ensure(ctx, buyer.ID); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("first Ensure = %v, want psp.ErrUnavailable", err)
		}
		if _, err := store.Payer(ctx, buyer.ID); !errors.Is(err, payers.ErrNotFound) {
			t.Errorf("a payer was kept after the wallet failed: %v", err)
		}
		p, err := svc.Ensure(ctx, buyer.ID)
		if err != nil || p.UserID == "" || p.WalletID == "" {
			t.Fatalf("second Ensure = %+v, %v", p, err)
		}
		if again, err := svc.Ensure(ctx, buyer.ID); err != nil || again != p {
			t.Errorf("third Ensure = %+v, %v, want the kept payer %+v", again, err, p)
		}
		if n := fake.Created("users"); n != 1 {
			t.Errorf("%d provider users created, want 1 (the retry reuses the first)", n)
		}
	})
}
