package mangopay_test

import (
	"errors"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// FindCardPayIn finds the pay-in a key created, across the key generations a 5xx spent, and
// reads its current state; a key never used is not found.
func TestFindCardPayIn(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-find")
	card := e.card(t, user.ID, mangopaytest.FrictionlessCard)

	if _, err := e.client.FindCardPayIn(ctx, "pi_never_sent"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unused key: %v, want ErrNotFound", err)
	}
	// The first generation's answer is a 500 (kept by MangoPay): the client moved on to the next.
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /payins/card/direct", Status: 500, Times: 1})
	created := e.cardPayIn(t, "pi_lost_answer", user, wallet, card, 1500)
	got, err := e.client.FindCardPayIn(ctx, "pi_lost_answer")
	if err != nil || got.ID != created.ID || got.Status != psp.PayInSucceeded || got.Amount != 1500 || got.Tag != "pi_1" {
		t.Fatalf("FindCardPayIn = %+v, %v; created %+v", got, err, created)
	}
	// A refused request created nothing.
	_, err = e.client.CreateCardPayIn(ctx, psp.CardPayInRequest{IdempotencyKey: "pi_refused", AuthorID: user.ID,
		CreditedWalletID: wallet.ID, CardID: "card_nobody", Amount: 100, SecureModeReturnURL: "https://shop.example/r",
		BrowserInfo: browser, IPAddress: "203.0.113.7"})
	if err == nil {
		t.Fatal("a pay-in on an unknown card was accepted")
	}
	if _, err := e.client.FindCardPayIn(ctx, "pi_refused"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("refused key: %v, want ErrNotFound", err)
	}
}

// SucceededPayIns lists the pay-ins that succeeded in the window, from the events, every page.
func TestSucceededPayIns(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-sweep")
	card := e.card(t, user.ID, mangopaytest.FrictionlessCard)
	from := e.clock.Now()
	e.clock.Advance(time.Minute)
	var want []string
	for i := range 105 {
		p := e.cardPayIn(t, "pi_sweep_"+string(rune('a'+i/26))+string(rune('a'+i%26)), user, wallet, card, int64(100+i))
		want = append(want, p.ID)
	}
	e.cardPayIn(t, "pi_declined", user, wallet, card, 33305) // failed: not listed
	e.clock.Advance(time.Minute)
	ids, err := e.client.SucceededPayIns(ctx, from, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(want) {
		t.Fatalf("listed %d pay-ins, want %d", len(ids), len(want))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for _, id := range want {
		if !seen[id] {
			t.Errorf("pay-in %s not listed", id)
		}
	}
	if ids, err := e.client.SucceededPayIns(ctx, e.clock.Now(), e.clock.Now().Add(time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("empty window = %v, %v", ids, err)
	}
}
