package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// owner creates a centre's owner user and wallet.
func (f *fixture) owner(t *testing.T) buyer {
	t.Helper()
	ctx := context.Background()
	o, err := f.p.CreateOwner(ctx, psp.OwnerRequest{IdempotencyKey: key("owner"), Name: "CVHU Lyon", Kind: psp.CompanyBusiness,
		CompanyNumber: "81234567600017", Email: "compta@cvhu.fr", TermsAccepted: true, Tag: "ctr_1"})
	if err != nil {
		t.Fatalf("CreateOwner: %v", err)
	}
	if o.Status != psp.OwnerActive || o.PayoutsEnabled || o.PendingAction != nil {
		t.Fatalf("owner = %+v", o)
	}
	w, err := f.p.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key("wallet"), OwnerID: o.ID, Description: "vhupay centre"})
	if err != nil {
		t.Fatalf("CreateWallet: %v", err)
	}
	return buyer{userID: o.ID, walletID: w.ID}
}

func TestSandboxOwnersAndTransfers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b, "https://pay.example")
		buyer, centre := f.buyer(t), f.owner(t)
		if err := f.store.CreditWallet(ctx, buyer.walletID, 12000); err != nil {
			t.Fatal(err)
		}
		if _, err := f.p.GetOwner(ctx, buyer.userID); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("GetOwner of a payer: %v, want ErrNotFound", err)
		}
		if _, err := f.p.GetOwner(ctx, "sbx_user_missing"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("GetOwner of nobody: %v, want ErrNotFound", err)
		}
		_, err := f.p.EnrolOwner(ctx, centre.userID)
		wantRejected(t, err, "param_error", "UserId")
		_, err = f.p.CreateOwner(ctx, psp.OwnerRequest{IdempotencyKey: key("owner"), Name: " ", Email: "nope"})
		wantRejected(t, err, "param_error", "Email")

		req := psp.TransferRequest{IdempotencyKey: key("transfer"), AuthorID: buyer.userID, DebitedWalletID: buyer.walletID,
			CreditedWalletID: centre.walletID, CreditedUserID: centre.userID, Amount: 12000, Fees: 600, Tag: "pi_1"}
		tr, err := f.p.CreateTransfer(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != psp.TransferSucceeded || tr.Amount != 12000 || tr.Fees != 600 || tr.ResultCode != "000000" || tr.Tag != "pi_1" ||
			tr.ExecutedAt.IsZero() || tr.Failure != "" {
			t.Errorf("transfer = %+v", tr)
		}
		fees, err := f.p.GetFeesWallet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := []int64{f.balance(t, buyer.walletID), f.balance(t, centre.walletID), fees.Balance}; !cmp.Equal(got, []int64{0, 11400, 600}) {
			t.Errorf("balances buyer, centre, fees = %v, want [0 11400 600]", got)
		}
		wallet, err := f.p.GetOwnerWallet(ctx, centre.walletID, psp.OwnerNotPresent)
		if err != nil || wallet.Balance != 11400 || wallet.OwnerID != centre.userID {
			t.Errorf("centre wallet = %+v, %v", wallet, err)
		}
		// The same key again: the same transfer, no money moved twice, no second event.
		again, err := f.p.CreateTransfer(ctx, req)
		if err != nil || again.ID != tr.ID || f.balance(t, centre.walletID) != 11400 {
			t.Errorf("replay = %+v, %v; centre %d", again, err, f.balance(t, centre.walletID))
		}
		if diff := cmp.Diff([]psp.Notification{{Kind: psp.ResourceTransfer, ResourceID: tr.ID, Event: "TRANSFER_NORMAL_SUCCEEDED"}},
			f.events.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		got, err := f.p.GetTransfer(ctx, tr.ID)
		if err != nil || !cmp.Equal(got, tr) {
			t.Errorf("GetTransfer = %+v, %v; want %+v", got, err, tr)
		}
		if _, err := f.p.GetTransfer(ctx, "sbx_transfer_missing"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("GetTransfer of nothing: %v", err)
		}

		// Refusals are failed transfers with MangoPay's result codes; no money moves.
		other := f.buyer(t)
		if err := f.store.CreditWallet(ctx, other.walletID, 500); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			req  psp.TransferRequest
			code string
		}{
			"insufficient balance": {psp.TransferRequest{AuthorID: buyer.userID, DebitedWalletID: buyer.walletID, CreditedWalletID: centre.walletID, Amount: 1}, "001001"},
			"not the owner":        {psp.TransferRequest{AuthorID: other.userID, DebitedWalletID: buyer.walletID, CreditedWalletID: centre.walletID, Amount: 1}, "001002"},
			"payer to payer":       {psp.TransferRequest{AuthorID: other.userID, DebitedWalletID: other.walletID, CreditedWalletID: buyer.walletID, Amount: 1}, "002701"},
			"owner to payer":       {psp.TransferRequest{AuthorID: centre.userID, DebitedWalletID: centre.walletID, CreditedWalletID: buyer.walletID, Amount: 1}, "002702"},
			"same wallet":          {psp.TransferRequest{AuthorID: other.userID, DebitedWalletID: other.walletID, CreditedWalletID: other.walletID, Amount: 1}, "101108"},
			"fees take it all":     {psp.TransferRequest{AuthorID: other.userID, DebitedWalletID: other.walletID, CreditedWalletID: centre.walletID, Amount: 100, Fees: 100}, "001014"},
		} {
			tc.req.IdempotencyKey = key("transfer")
			tr, err := f.p.CreateTransfer(ctx, tc.req)
			if err != nil || tr.Status != psp.TransferFailed || tr.ResultCode != tc.code || tr.Failure != psp.FailureProviderError {
				t.Errorf("%s: %+v, %v; want failed %s", name, tr, err, tc.code)
			}
		}
		if got := []int64{f.balance(t, buyer.walletID), f.balance(t, other.walletID), f.balance(t, centre.walletID)}; !cmp.Equal(got, []int64{0, 500, 11400}) {
			t.Errorf("balances after refusals = %v", got)
		}
		_, err = f.p.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: key("transfer"), AuthorID: other.userID,
			DebitedWalletID: other.walletID, CreditedWalletID: "sbx_wallet_missing", Amount: 1})
		wantRejected(t, err, "param_error", "CreditedWalletId")
		_, err = f.p.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: key("transfer"), AuthorID: other.userID,
			DebitedWalletID: other.walletID, CreditedWalletID: centre.walletID, Amount: 0})
		wantRejected(t, err, "param_error", "DebitedFunds")

		// Concurrent transfers of the whole balance: one goes through.
		var wg sync.WaitGroup
		results := make([]psp.Transfer, 4)
		for i := range results {
			wg.Go(func() {
				results[i], _ = f.p.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: key("transfer"), AuthorID: other.userID,
					DebitedWalletID: other.walletID, CreditedWalletID: centre.walletID, Amount: 500})
			})
		}
		wg.Wait()
		succeeded := 0
		for _, r := range results {
			if r.Status == psp.TransferSucceeded {
				succeeded++
			}
		}
		if succeeded != 1 || f.balance(t, other.walletID) != 0 || f.balance(t, centre.walletID) != 11900 {
			t.Errorf("%d concurrent transfers succeeded; balances %d, %d", succeeded, f.balance(t, other.walletID), f.balance(t, centre.walletID))
		}
		if w, _ := f.p.GetWallet(ctx, sandbox.FeesWalletID); w.Balance != 600 {
			t.Errorf("fee wallet %+v", w)
		}
	})
}

// TestSandboxTransferRefunds: a transfer is given back as MangoPay does: the amount to the debited
// wallet, the fee part from the platform's fee wallet, the rest from the credited wallet; never
// more than the transfer or its fee, never from a wallet that cannot pay; once per key.
func TestSandboxTransferRefunds(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b, "https://pay.example")
		buyer, centre := f.buyer(t), f.owner(t)
		if err := f.store.CreditWallet(ctx, buyer.walletID, 12000); err != nil {
			t.Fatal(err)
		}
		tr, err := f.p.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: key("transfer"), AuthorID: buyer.userID,
			DebitedWalletID: buyer.walletID, CreditedWalletID: centre.walletID, CreditedUserID: centre.userID, Amount: 12000, Fees: 600})
		if err != nil || tr.Status != psp.TransferSucceeded {
			t.Fatalf("transfer = %+v, %v", tr, err)
		}
		f.events.take()
		balances := func() []int64 {
			fees, err := f.p.GetFeesWallet(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return []int64{f.balance(t, buyer.walletID), f.balance(t, centre.walletID), fees.Balance}
		}
		req := psp.TransferRefundRequest{IdempotencyKey: key("trr"), TransferID: tr.ID, AuthorID: buyer.userID, Amount: 3000, Fees: 150, Tag: "re_1"}
		r, err := f.p.RefundTransfer(ctx, req)
		if err != nil || r.Status != psp.RefundSucceeded || r.InitialKind != psp.RefundOfTransfer || r.InitialID != tr.ID || r.Amount != 3000 {
			t.Fatalf("refund = %+v, %v", r, err)
		}
		if got := balances(); !cmp.Equal(got, []int64{3000, 11400 - 2850, 450}) {
			t.Errorf("balances buyer, centre, fees = %v", got)
		}
		again, err := f.p.RefundTransfer(ctx, req)
		if err != nil || again.ID != r.ID || !cmp.Equal(balances(), []int64{3000, 8550, 450}) {
			t.Errorf("replay = %+v, %v; balances %v", again, err, balances())
		}
		if diff := cmp.Diff([]psp.Notification{{Kind: psp.ResourceRefund, ResourceID: r.ID, Event: "TRANSFER_REFUND_SUCCEEDED"}}, f.events.take()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		got, err := f.p.GetRefund(ctx, r.ID)
		if err != nil || !cmp.Equal(got, r) {
			t.Errorf("GetRefund = %+v, %v; want %+v", got, err, r)
		}
		// More than what is left of the transfer, or of its fee: failed, nothing moves.
		for name, tc := range map[string]psp.TransferRefundRequest{
			"amount": {TransferID: tr.ID, AuthorID: buyer.userID, Amount: 9001, Fees: 0},
			"fees":   {TransferID: tr.ID, AuthorID: buyer.userID, Amount: 1000, Fees: 451},
			"whole":  {TransferID: tr.ID, AuthorID: buyer.userID},
		} {
			tc.IdempotencyKey = key("trr")
			r, err := f.p.RefundTransfer(ctx, tc)
			if err != nil || r.Status != psp.RefundFailed || r.ResultCode != "005403" {
				t.Errorf("%s: %+v, %v; want failed 005403", name, r, err)
			}
		}
		// The centre's wallet paid out: it cannot give its part back (a wallet never goes negative).
		if err := f.store.CreditWallet(ctx, centre.walletID, -8550); err != nil {
			t.Fatal(err)
		}
		r, err = f.p.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: key("trr"), TransferID: tr.ID, AuthorID: buyer.userID, Amount: 9000, Fees: 450})
		if err != nil || r.Status != psp.RefundFailed || r.ResultCode != "001001" {
			t.Errorf("refund from an empty wallet = %+v, %v", r, err)
		}
		if got := balances(); !cmp.Equal(got, []int64{3000, 0, 450}) {
			t.Errorf("balances after refusals = %v", got)
		}
		_, err = f.p.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: key("trr"), TransferID: tr.ID, AuthorID: centre.userID, Amount: 1})
		wantRejected(t, err, "param_error", "AuthorId")
		if _, err := f.p.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: key("trr"), TransferID: "sbx_transfer_missing", AuthorID: buyer.userID}); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("refund of no transfer: %v", err)
		}
	})
}
