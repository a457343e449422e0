package collections_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestRepresentation: a debit that fails for insufficient funds is retrying for 7 days (the
// buyer's SEPA disabled with collection_retrying, nothing recorded unpaid, the intents still
// scheduled), then presented once more with a new idempotency key, once however many rounds run
// at once; a success clears it with no unpaid debit and SEPA back, a second failure is the unpaid
// debit. Another failure code is unpaid at once.
func TestRepresentation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC))
		lucky := e.sepaBuyer(t, "812345676", ibanFR)
		poor := e.sepaBuyer(t, "823456785", ibanDE)
		luckyPI := e.sepa(t, lucky, 1000, time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC))
		poorPI := e.sepa(t, poor, 2000, time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC))
		closed := time.Date(2026, 11, 30, 23, 10, 0, 0, time.UTC) // 1 December, 00:10 in Paris
		e.clock.Set(closed)
		svc := e.s.App.Collections
		if _, err := svc.RefreshScores(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CollectMonth(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		for _, by := range []buyer{lucky, poor} {
			if p := e.profile(t, by.ID); !p.Enabled {
				t.Fatalf("profile before the debits = %+v", p)
			}
		}
		first := map[string]string{}
		for _, by := range []buyer{lucky, poor} {
			col := e.only(t, by.ID)
			first[by.ID] = e.payInOf(t, col.ID)
			if err := e.fake.SettleDirectDebit(first[by.ID], "001830"); err != nil {
				t.Fatal(err)
			}
			e.notify(t, psp.ResourcePayIn, first[by.ID])
			e.notify(t, psp.ResourcePayIn, first[by.ID]) // a duplicate changes nothing
			col = e.only(t, by.ID)
			wantRetry := closed.Add(7 * 24 * time.Hour)
			if col.Status != "retrying" || col.RetryAt == nil || !col.RetryAt.Equal(wantRetry) || col.Attempts != 1 || col.FailureCode != nil {
				t.Fatalf("after the first failure: %+v", col)
			}
			if p := e.profile(t, by.ID); p.Enabled || !contains(p.Reasons, "collection_retrying") || p.Suspended {
				t.Errorf("profile while retrying = %+v", p)
			}
			if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, by.ID); got != 0 {
				t.Errorf("unpaid debits while retrying = %d", got)
			}
			for _, typ := range []string{"sepa_collection.retrying", "sepa.disabled"} {
				if got := e.count(t, `SELECT COUNT(*) FROM events WHERE buyer_id = ? AND type = ?`, by.ID, typ); got != 1 {
					t.Errorf("%s events = %d, want 1", typ, got)
				}
			}
		}
		for _, id := range []string{luckyPI, poorPI} {
			if pi := e.intentStatus(t, id); pi.Status != "scheduled" {
				t.Errorf("intent %s while retrying = %s", id, pi.Status)
			}
		}

		// Not yet: nothing is presented before retry_at.
		e.clock.Set(closed.Add(7*24*time.Hour - time.Minute))
		if n, err := svc.RepresentDue(ctx); err != nil || n != 0 {
			t.Fatalf("before retry_at: %d, %v", n, err)
		}
		created := e.fake.Created("payins")
		// Its day: several rounds at once present each collection once.
		e.clock.Set(closed.Add(7 * 24 * time.Hour))
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.RepresentDue(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got := e.fake.Created("payins"); got != created+2 {
			t.Errorf("pay-ins created by the re-presentation = %d, want 2", got-created)
		}
		for _, by := range []buyer{lucky, poor} {
			col := e.only(t, by.ID)
			if col.Status != "submitted" || col.Attempts != 2 || col.RetryAt == nil {
				t.Errorf("after the re-presentation: %+v", col)
			}
			if second := e.payInOf(t, col.ID); second == first[by.ID] {
				t.Error("the re-presentation reused the first pay-in")
			}
			if p := e.profile(t, by.ID); contains(p.Reasons, "collection_retrying") {
				t.Errorf("profile after the re-presentation = %+v", p)
			}
		}
		// A late notification of the first pay-in changes nothing.
		e.notify(t, psp.ResourcePayIn, first[lucky.ID])
		if col := e.only(t, lucky.ID); col.Status != "submitted" {
			t.Errorf("after a late first notification: %s", col.Status)
		}

		// lucky's second debit succeeds: nothing unpaid, SEPA enabled.
		second := e.payInOf(t, e.only(t, lucky.ID).ID)
		if err := e.fake.SettleDirectDebit(second, ""); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, second)
		if col := e.only(t, lucky.ID); col.Status != "succeeded" {
			t.Errorf("lucky after the second debit = %+v", col)
		}
		if pi := e.intentStatus(t, luckyPI); pi.Status != "succeeded" {
			t.Errorf("lucky's intent = %s", pi.Status)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, lucky.ID); got != 0 {
			t.Errorf("lucky's unpaid debits = %d", got)
		}
		if p := e.profile(t, lucky.ID); p.Suspended || contains(p.Reasons, "collection_retrying") || contains(p.Reasons, "unpaid_debit") {
			t.Errorf("lucky's profile = %+v", p)
		}

		// poor's second debit fails too: the unpaid debit of DOMAIN.md.
		second = e.payInOf(t, e.only(t, poor.ID).ID)
		if err := e.fake.SettleDirectDebit(second, "001830"); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, second)
		col := e.only(t, poor.ID)
		if col.Status != "failed" || col.FailureCode == nil || *col.FailureCode != "insufficient_funds" || col.Attempts != 2 {
			t.Errorf("poor after the second debit = %+v", col)
		}
		if pi := e.intentStatus(t, poorPI); pi.Status != "failed" {
			t.Errorf("poor's intent = %s", pi.Status)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, poor.ID); got != 1 {
			t.Errorf("poor's unpaid debits = %d", got)
		}
		if p := e.profile(t, poor.ID); !p.Suspended || !contains(p.Reasons, "unpaid_debit") || p.Enabled {
			t.Errorf("poor's profile = %+v", p)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM events WHERE buyer_id = ? AND type = ?`, poor.ID, "sepa.disabled"); got != 2 {
			t.Errorf("poor's sepa.disabled events = %d, want 2 (retrying, then the suspension)", got)
		}
		if n, err := svc.RepresentDue(ctx); err != nil || n != 0 {
			t.Errorf("a third presentation: %d, %v", n, err)
		}
	})
}

// TestRepresentationLostAnswer: the re-presentation's answer is lost after the provider made the
// debit (a crash between the call and the record): the collection stays retrying, and the next
// round gets the same pay-in back (same derived key), so the buyer is debited once.
func TestRepresentationLostAnswer(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		by := e.sepaBuyer(t, "812345676", ibanFR)
		e.sepa(t, by, 1000, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		if _, err := e.s.App.Collections.CollectMonth(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		first := e.payInOf(t, e.only(t, by.ID).ID)
		if err := e.fake.SettleDirectDebit(first, "001830"); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, first)
		e.clock.Set(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC))
		provider := &faultyProvider{Provider: e.s.App.Provider, fake: e.fake, loseAnswer: 1}
		svc := e.newService(provider, 1)
		created := e.fake.Created("payins")
		if _, err := svc.RepresentDue(ctx); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("lost answer: %v", err)
		}
		if col := e.only(t, by.ID); col.Status != "retrying" || e.fake.Created("payins") != created+1 {
			t.Fatalf("after the lost answer: %s, %d pay-ins made", col.Status, e.fake.Created("payins")-created)
		}
		if n, err := svc.RepresentDue(ctx); err != nil || n != 1 {
			t.Fatalf("next round: %d, %v", n, err)
		}
		col := e.only(t, by.ID)
		if col.Status != "submitted" || col.Attempts != 2 || e.fake.Created("payins") != created+1 {
			t.Errorf("after the next round: %+v, %d pay-ins made", col, e.fake.Created("payins")-created)
		}
	})
}
