package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp"
	scoringsandbox "github.com/vhupay/vhupay/internal/scoring/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestRefreshScores: every SEPA buyer is checked once per close, an unavailable partner is
// recorded and not fatal, a resumed step asks nobody twice, and buyers who never signed a
// mandate are left alone. A score that falls below 10 disables the buyer's SEPA (sepa.disabled),
// one that comes back enables it (sepa.enabled), in the unit that records the checks; an
// unavailable partner changes nothing (the grace period).
func TestRefreshScores(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		poor := e.sepaBuyer(t, "812345676", ibanFR)
		down := e.sepaBuyer(t, "823456785", ibanDE)
		events := func(buyerID, typ string) int {
			return e.count(t, `SELECT COUNT(*) FROM events WHERE buyer_id = ? AND type = ?`, buyerID, typ)
		}
		enabledBefore := events(poor.ID, "sepa.enabled")
		if enabledBefore == 0 || !e.profile(t, poor.ID).Enabled {
			t.Fatalf("buyer not enabled after signing (%d sepa.enabled)", enabledBefore)
		}
		if _, err := e.s.App.SandboxScores.Set(ctx, "812345676", scoringsandbox.Answer{Value: 4}); err != nil {
			t.Fatal(err)
		}
		var unsigned httpapi.Buyer
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: e.admin, Body: map[string]any{
			"name": "Garage sans SEPA", "siren": "834567893", "email": "a@b.fr",
			"address": map[string]any{"line1": "1 rue", "postal_code": "69007", "city": "Lyon", "country": "FR"},
		}}).Expect(t, 201).JSON(t, &unsigned)
		if _, err := e.s.App.SandboxScores.Set(ctx, "823456785", scoringsandbox.Answer{Unavailable: true}); err != nil {
			t.Fatal(err)
		}
		checks := func() int { return e.count(t, `SELECT COUNT(*) FROM score_checks`) }
		before := checks()

		e.clock.Set(time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC))
		p := &progress{}
		n, err := e.s.App.Collections.RefreshScores(ctx, "2026-11", p)
		if err != nil || n != 2 {
			t.Fatalf("refresh: %d, %v; want 2", n, err)
		}
		if got := checks() - before; got != 2 {
			t.Errorf("score checks made = %d, want 2", got)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM score_checks WHERE buyer_id = ? AND outcome = 'unavailable'`, down.ID); got != 1 {
			t.Errorf("unavailable attempts recorded = %d", got)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM score_checks WHERE buyer_id = ?`, unsigned.ID); got != 0 {
			t.Errorf("a buyer without a mandate was scored %d times", got)
		}
		if got := events(poor.ID, "sepa.disabled"); got != 1 || e.profile(t, poor.ID).Enabled {
			t.Errorf("score 4/20: %d sepa.disabled events, enabled %v; want 1, false", got, e.profile(t, poor.ID).Enabled)
		}
		if got := events(down.ID, "sepa.disabled"); got != 0 || !e.profile(t, down.ID).Enabled {
			t.Errorf("partner unavailable: %d sepa.disabled events, enabled %v; want 0, true", got, e.profile(t, down.ID).Enabled)
		}
		// Resumed with its checkpoint: nobody is asked again, the count is the same.
		e.clock.Set(time.Date(2026, 12, 1, 0, 6, 0, 0, time.UTC))
		if n, err := e.s.App.Collections.RefreshScores(ctx, "2026-11", p); err != nil || n != 2 {
			t.Fatalf("resumed: %d, %v", n, err)
		}
		if got := checks() - before; got != 2 {
			t.Errorf("score checks after the resume = %d, want 2", got)
		}
		// The next month's close checks again; the score is back.
		if _, err := e.s.App.SandboxScores.Set(ctx, "812345676", scoringsandbox.Answer{Value: 16}); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC))
		if n, err := e.s.App.Collections.RefreshScores(ctx, "2026-12", &progress{}); err != nil || n != 2 {
			t.Fatalf("next close: %d, %v", n, err)
		}
		if got := checks() - before; got != 4 {
			t.Errorf("score checks after the next close = %d, want 4", got)
		}
		if got := events(poor.ID, "sepa.enabled"); got != enabledBefore+1 || !e.profile(t, poor.ID).Enabled {
			t.Errorf("score 16/20: %d sepa.enabled events, enabled %v; want %d, true", got, e.profile(t, poor.ID).Enabled, enabledBefore+1)
		}
	})
}

// TestReviewCeilings: DOMAIN.md's rule on three months of collections — a raise to
// ⌈1.5 × the largest month⌉ rounded up to 50.00 EUR, at most twice the ceiling; nothing during
// probation, after an unpaid debit, or with a score under the minimum; each buyer once per month.
func TestReviewCeilings(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)) // probation ends on 10 September
		grows := e.sepaBuyer(t, "812345676", ibanFR)
		unpaid := e.sepaBuyer(t, "823456785", ibanDE)
		capped := e.sepaBuyer(t, "845678903", ibanFR)
		low := e.sepaBuyer(t, "856789011", ibanFR)
		e.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		newcomer := e.sepaBuyer(t, "834567893", ibanFR2) // in probation until February

		day := func(month time.Month) time.Time { return time.Date(2026, month, 15, 10, 0, 0, 0, time.UTC) }
		for _, p := range []struct {
			b      buyer
			month  time.Month
			amount int64
		}{
			{grows, 9, 10000}, {grows, 10, 20000}, {grows, 10, 4000}, {grows, 11, 20000},
			{unpaid, 9, 20000}, {unpaid, 10, 20000}, {unpaid, 11, 20000},
			{capped, 11, 60000},
			{low, 10, 20000}, {low, 11, 20000},
			{newcomer, 11, 20000},
			{grows, 8, 100000}, // older than the 3 months reviewed
		} {
			e.sepa(t, p.b, p.amount, day(p.month))
		}
		svc := e.s.App.Collections
		for _, month := range []string{"2026-08", "2026-09", "2026-10", "2026-11"} {
			if _, err := svc.CollectMonth(ctx, month, &progress{}); err != nil {
				t.Fatal(err)
			}
		}
		// unpaid's October debit bounced.
		for _, c := range e.collectionsOf(t, unpaid.ID) {
			if c.Month == "2026-10" {
				pay := e.payInOf(t, c.ID)
				if err := e.fake.SettleDirectDebit(pay, "001801"); err != nil {
					t.Fatal(err)
				}
				e.notify(t, psp.ResourcePayIn, pay)
			}
		}
		if _, err := e.s.App.SandboxScores.Set(ctx, "856789011", scoringsandbox.Answer{Value: 8}); err != nil {
			t.Fatal(err)
		}

		// The close of November: scores first, then the reviews.
		e.clock.Set(time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC))
		if _, err := svc.RefreshScores(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		n, err := svc.ReviewCeilings(ctx, "2026-11", &progress{})
		if err != nil || n != 5 {
			t.Fatalf("reviews: %d, %v; want 5", n, err)
		}
		want := map[string]int64{
			grows.ID:    40000, // 1.5 × 24000 = 36000 → 40000
			unpaid.ID:   25000,
			capped.ID:   50000, // 1.5 × 60000 = 90000, at most 2 × 25000
			low.ID:      25000,
			newcomer.ID: 25000,
		}
		for id, ceiling := range want {
			if p := e.profile(t, id); p.Ceiling != ceiling {
				t.Errorf("%s: ceiling %d, want %d", id, p.Ceiling, ceiling)
			}
		}
		var changes httpapi.CeilingChangeList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + grows.ID + "/sepa/ceiling-changes", Token: e.admin}).Expect(t, 200).JSON(t, &changes)
		if len(changes.Data) != 2 || changes.Data[0].Reason != "monthly_review" || changes.Data[0].From != 25000 || changes.Data[0].To != 40000 ||
			changes.Data[0].Note != "monthly review of 2026-11" {
			t.Errorf("ceiling changes = %+v", changes.Data)
		}

		// The step again (a resumed close): nobody is reviewed twice, so capped stays at 50000
		// although a second review would raise it to 90000.
		if n, err := svc.ReviewCeilings(ctx, "2026-11", &progress{}); err != nil || n != 5 {
			t.Fatalf("again: %d, %v", n, err)
		}
		if p := e.profile(t, capped.ID); p.Ceiling != 50000 {
			t.Errorf("capped after a second run = %d, want 50000", p.Ceiling)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_ceiling_changes WHERE reason = 'monthly_review'`); got != 2 {
			t.Errorf("monthly_review changes = %d, want 2", got)
		}
		// December's close reviews capped again.
		e.clock.Set(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC))
		if _, err := svc.RefreshScores(ctx, "2026-12", &progress{}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ReviewCeilings(ctx, "2026-12", &progress{}); err != nil {
			t.Fatal(err)
		}
		if p := e.profile(t, capped.ID); p.Ceiling != 90000 {
			t.Errorf("capped after December's review = %d, want 90000", p.Ceiling)
		}
	})
}
