package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func payoutAccount(iban string) psp.PayoutAccountRequest {
	return psp.PayoutAccountRequest{IdempotencyKey: key("pa"), OwnerName: "CVHU Lyon",
		OwnerAddress: psp.Address{Line1: "1 rue du Port", City: "Lyon", PostalCode: "69007", Country: "FR"}, IBAN: iban}
}

// TestSandboxPayouts: a payout account enables the owner's payouts; a payout debits the wallet at
// once, is paid a day later by the clock (or at once with force), and the failing payout IBAN
// refuses it (account_closed) with the money back; refusals are failed payouts with MangoPay's
// codes; a key makes one payout.
func TestSandboxPayouts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b, "https://pay.example")
		buyer, centre := f.buyer(t), f.owner(t)
		if err := f.store.CreditWallet(ctx, centre.walletID, 10000); err != nil {
			t.Fatal(err)
		}
		req := payoutAccount("FR7630004000031234567890143")
		req.UserID = buyer.userID
		_, err := f.p.CreatePayoutAccount(ctx, req)
		wantRejected(t, err, "param_error", "UserId")
		req.UserID = centre.userID
		good, err := f.p.CreatePayoutAccount(ctx, req)
		if err != nil || good.Status != psp.PayoutAccountActive || good.UserID != centre.userID {
			t.Fatalf("payout account = %+v, %v", good, err)
		}
		if o, err := f.p.GetOwner(ctx, centre.userID); err != nil || !o.PayoutsEnabled {
			t.Fatalf("owner after its payout account = %+v, %v", o, err)
		}
		bad := payoutAccount(sandbox.FailingPayoutIBAN)
		bad.UserID = centre.userID
		failing, err := f.p.CreatePayoutAccount(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		f.events.take()

		pay := func(account string, amount int64) psp.PayoutRequest {
			return psp.PayoutRequest{IdempotencyKey: key("po"), AuthorID: centre.userID, DebitedWalletID: centre.walletID,
				PayoutAccountID: account, Amount: amount, Reference: "VHUPAY", Tag: "po_1"}
		}
		r := pay(good.ID, 6000)
		po, err := f.p.CreatePayout(ctx, r)
		if err != nil || po.Status != psp.PayoutCreated || po.Amount != 6000 || f.balance(t, centre.walletID) != 4000 {
			t.Fatalf("payout = %+v, %v; wallet %d", po, err, f.balance(t, centre.walletID))
		}
		if again, err := f.p.CreatePayout(ctx, r); err != nil || again.ID != po.ID || f.balance(t, centre.walletID) != 4000 {
			t.Fatalf("replay = %+v, %v", again, err)
		}
		// Refusals: more than the wallet, another's account, an inactive account.
		if over, err := f.p.CreatePayout(ctx, pay(good.ID, 4001)); err != nil || over.Status != psp.PayoutFailed || over.ResultCode != "121003" {
			t.Errorf("payout over the balance = %+v, %v", over, err)
		}
		other := pay(good.ID, 100)
		other.AuthorID = buyer.userID
		if po, err := f.p.CreatePayout(ctx, other); err != nil || po.Status != psp.PayoutFailed || po.ResultCode != "121002" {
			t.Errorf("payout by another = %+v, %v", po, err)
		}
		f.events.take()

		// A day later by the clock, not before.
		f.clock.Advance(23 * time.Hour)
		if n, err := f.p.Settle(ctx, false); err != nil || n != 0 {
			t.Fatalf("settled %d before a day, %v", n, err)
		}
		f.clock.Advance(time.Hour)
		if n, err := f.p.Settle(ctx, false); err != nil || n != 1 {
			t.Fatalf("settled %d after a day, %v", n, err)
		}
		if got, err := f.p.GetPayout(ctx, po.ID); err != nil || got.Status != psp.PayoutSucceeded || got.ExecutedAt.IsZero() {
			t.Errorf("paid payout = %+v, %v", got, err)
		}
		if ev := f.events.take(); len(ev) != 1 || ev[0].Event != "PAYOUT_NORMAL_SUCCEEDED" || ev[0].Kind != psp.ResourcePayout {
			t.Errorf("notifications = %+v", ev)
		}

		// The failing IBAN: refused, the money back in the wallet.
		back, err := f.p.CreatePayout(ctx, pay(failing.ID, 4000))
		if err != nil || back.Status != psp.PayoutCreated || f.balance(t, centre.walletID) != 0 {
			t.Fatalf("payout to the failing IBAN = %+v, %v", back, err)
		}
		if n, err := f.p.Settle(ctx, true); err != nil || n != 1 {
			t.Fatalf("settled %d, %v", n, err)
		}
		got, err := f.p.GetPayout(ctx, back.ID)
		if err != nil || got.Status != psp.PayoutFailed || got.Failure != psp.FailureAccountClosed || f.balance(t, centre.walletID) != 4000 {
			t.Errorf("refused payout = %+v, %v; wallet %d", got, err, f.balance(t, centre.walletID))
		}
		if ev := f.events.take(); len(ev) != 1 || ev[0].Event != "PAYOUT_NORMAL_FAILED" {
			t.Errorf("notifications = %+v", ev)
		}
		if a, err := f.p.DeactivatePayoutAccount(ctx, centre.userID, failing.ID); err != nil || a.Status != psp.PayoutAccountInactive {
			t.Errorf("deactivated = %+v, %v", a, err)
		}
		if po, err := f.p.CreatePayout(ctx, pay(failing.ID, 100)); err != nil || po.Status != psp.PayoutFailed || po.ResultCode != "121006" {
			t.Errorf("payout to an inactive account = %+v, %v", po, err)
		}
	})
}
