package balances

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payers"
	"github.com/vhupay/vhupay/internal/psp"
)

type memTransfers struct {
	mu        sync.Mutex
	payees    map[string]Payee
	transfers []Transfer
}

func (m *memTransfers) Payee(_ context.Context, centerID string) (Payee, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.payees[centerID]
	if !ok {
		return Payee{}, ErrNoPayee
	}
	return p, nil
}

func (m *memTransfers) SavePayee(_ context.Context, p Payee) (Payee, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.payees[p.CenterID]; ok {
		return old, nil
	}
	m.payees[p.CenterID] = p
	return p, nil
}

func (m *memTransfers) PendingTransfers(_ context.Context, limit int) ([]Transfer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Transfer
	for _, t := range m.transfers {
		if t.Status == TransferPending && len(out) < limit {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memTransfers) FinishTransfer(_ context.Context, t Transfer) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.transfers {
		if m.transfers[i].ID == t.ID && m.transfers[i].Status == TransferPending {
			m.transfers[i] = t
			return true, nil
		}
	}
	return false, nil
}

type fakeMover struct {
	mu        sync.Mutex
	down      bool
	refuse    bool
	owners    int
	transfers map[string]psp.TransferRequest // by idempotency key
}

func (f *fakeMover) CreateOwner(_ context.Context, req psp.OwnerRequest) (psp.Owner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return psp.Owner{}, psp.ErrUnavailable
	}
	f.owners++
	return psp.Owner{ID: "owner-" + req.Tag, Status: psp.OwnerActive}, nil
}

func (f *fakeMover) CreateWallet(_ context.Context, req psp.WalletRequest) (psp.Wallet, error) {
	return psp.Wallet{ID: "wallet-" + req.OwnerID, OwnerID: req.OwnerID}, nil
}

func (f *fakeMover) CreateTransfer(_ context.Context, req psp.TransferRequest) (psp.Transfer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return psp.Transfer{}, fmt.Errorf("timeout: %w", psp.ErrUnavailable)
	}
	if f.refuse {
		return psp.Transfer{ID: "t-" + req.IdempotencyKey, Status: psp.TransferFailed, ResultCode: "001001"}, nil
	}
	f.transfers[req.IdempotencyKey] = req
	return psp.Transfer{ID: "t-" + req.IdempotencyKey, Status: psp.TransferSucceeded, ResultCode: "000000"}, nil
}

type onePayer struct{}

func (onePayer) Ensure(_ context.Context, buyerID string) (payers.Payer, error) {
	return payers.Payer{BuyerID: buyerID, UserID: "user-" + buyerID, WalletID: "wallet-" + buyerID}, nil
}

type oneCenter struct{}

func (oneCenter) Center(_ context.Context, id string) (parties.Center, error) {
	if id != "ctr_1" {
		return parties.Center{}, parties.ErrNotFound
	}
	return parties.Center{ID: id, Name: "CVHU", SIRET: "81234567600017", Email: "c@d.fr"}, nil
}

func TestTransfersRun(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	store := &memTransfers{payees: map[string]Payee{}}
	store.transfers = append(store.transfers,
		TransferFor(Earning{IntentID: "pi_1", BuyerID: "byr_1", CenterID: "ctr_1", Amount: 12000, FeeRateBPS: 500}, at),
		TransferFor(Earning{IntentID: "pi_2", BuyerID: "byr_1", CenterID: "ctr_1", Amount: 3000}, at))
	mover := &fakeMover{transfers: map[string]psp.TransferRequest{}, down: true}
	s := NewTransfers(store, oneCenter{}, onePayer{}, mover, clock.NewManual(at), nil)

	// The provider is down: nothing is recorded, everything waits for the next round.
	if n, err := s.Run(ctx); !errors.Is(err, psp.ErrUnavailable) || n != 0 {
		t.Fatalf("Run with the provider down = %d, %v", n, err)
	}
	if p, _ := store.PendingTransfers(ctx, 10); len(p) != 2 {
		t.Fatalf("pending after an outage: %d", len(p))
	}

	// Back: both made, with the record's id as key; several rounds at once make each once.
	mover.down = false
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = s.Run(ctx) })
	}
	wg.Wait()
	if len(mover.transfers) != 2 || mover.owners < 1 {
		t.Fatalf("transfers made: %v", mover.transfers)
	}
	first := mover.transfers[store.transfers[0].ID]
	if first.Amount != 12000 || first.Fees != 600 || first.DebitedWalletID != "wallet-byr_1" || first.AuthorID != "user-byr_1" ||
		first.CreditedWalletID != "wallet-owner-ctr_1" || first.CreditedUserID != "owner-ctr_1" || first.Tag != "pi_1" {
		t.Errorf("first transfer = %+v", first)
	}
	for _, tr := range store.transfers {
		if tr.Status != TransferSucceeded || tr.ProviderTransferID != "t-"+tr.ID {
			t.Errorf("transfer after the rounds = %+v", tr)
		}
	}
	if n, err := s.Run(ctx); n != 0 || err != nil {
		t.Errorf("a round with nothing pending = %d, %v", n, err)
	}

	// A refusal is recorded failed (operators look), not retried for ever.
	store.transfers = append(store.transfers, TransferFor(Earning{IntentID: "pi_3", BuyerID: "byr_1", CenterID: "ctr_1", Amount: 100}, at))
	mover.refuse = true
	if n, err := s.Run(ctx); n != 1 || err != nil {
		t.Fatalf("Run with a refusal = %d, %v", n, err)
	}
	if got := store.transfers[2]; got.Status != TransferFailed || got.ResultCode != "001001" {
		t.Errorf("refused transfer = %+v", got)
	}

	// A centre the provider cannot take yet waits; the others' transfers go on.
	store.transfers = append(store.transfers,
		TransferFor(Earning{IntentID: "pi_4", BuyerID: "byr_1", CenterID: "ctr_unknown", Amount: 100}, at),
		TransferFor(Earning{IntentID: "pi_5", BuyerID: "byr_1", CenterID: "ctr_1", Amount: 100}, at))
	mover.refuse = false
	if n, err := s.Run(ctx); n != 1 || err != nil {
		t.Fatalf("Run with a centre that cannot be paid = %d, %v", n, err)
	}
	if got := store.transfers[3]; got.Status != TransferPending {
		t.Errorf("the blocked transfer = %+v", got)
	}
	if got := store.transfers[4]; got.Status != TransferSucceeded {
		t.Errorf("the next transfer = %+v", got)
	}

	// No provider: nothing moves.
	if n, err := NewTransfers(store, oneCenter{}, onePayer{}, nil, clock.NewManual(at), nil).Run(ctx); n != 0 || err != nil {
		t.Errorf("Run without a provider = %d, %v", n, err)
	}
}
