package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// FindCardPayIn finds the pay-in an idempotency key created (the lookup a lost answer needs);
// SucceededPayIns lists the pay-ins executed in a window (the sweep's).
func TestFindCardPayInAndSucceededPayIns(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		f := newFixture(t, b, "https://sandbox.example")
		buyer := f.buyer(t)
		card := f.card(t, buyer, sandbox.FrictionlessCard)
		if _, err := f.p.FindCardPayIn(ctx, "pi_never_sent"); !errors.Is(err, psp.ErrNotFound) {
			t.Fatalf("unused key: %v, want ErrNotFound", err)
		}
		from := f.clock.Now()
		f.clock.Advance(time.Minute)
		req := psp.CardPayInRequest{IdempotencyKey: "pi_lost_answer", AuthorID: buyer.userID, CreditedWalletID: buyer.walletID,
			CardID: card, Amount: 1500, SecureModeReturnURL: "https://shop.example/r", BrowserInfo: browserInfo(),
			IPAddress: "203.0.113.7", Tag: "pi_lost_answer"}
		created, err := f.p.CreateCardPayIn(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.p.FindCardPayIn(ctx, "pi_lost_answer")
		if err != nil || got.ID != created.ID || got.Status != psp.PayInSucceeded || got.Tag != "pi_lost_answer" {
			t.Fatalf("FindCardPayIn = %+v, %v", got, err)
		}
		req.IdempotencyKey, req.CardID = "pi_refused", "card_nobody"
		if _, err := f.p.CreateCardPayIn(ctx, req); err == nil {
			t.Fatal("a pay-in on an unknown card was accepted")
		}
		if _, err := f.p.FindCardPayIn(ctx, "pi_refused"); !errors.Is(err, psp.ErrNotFound) {
			t.Fatalf("refused key: %v, want ErrNotFound", err)
		}
		f.cardPayIn(t, buyer, card, sandbox.DeclinedAmount, "https://shop.example/r") // failed: not listed
		f.clock.Advance(time.Minute)
		ids, err := f.p.SucceededPayIns(ctx, from, f.clock.Now())
		if err != nil || len(ids) != 1 || ids[0] != created.ID {
			t.Fatalf("SucceededPayIns = %v, %v; want [%s]", ids, err, created.ID)
		}
		if ids, err := f.p.SucceededPayIns(ctx, f.clock.Now(), f.clock.Now().Add(time.Hour)); err != nil || len(ids) != 0 {
			t.Fatalf("empty window = %v, %v", ids, err)
		}
	})
}
