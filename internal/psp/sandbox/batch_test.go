package sandbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// countPayIns counts the sandbox's pay-ins.
func (f *fixture) countPayIns(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow("SELECT COUNT(*) FROM sandbox_payins").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// plainDebits makes n buyers, each with a signed mandate on an account that debits, and one
// direct debit request per buyer of unit, 2×unit, … cents, each with new keys.
func (f *fixture) plainDebits(t *testing.T, n int, unit int64) []psp.DirectDebitPayInRequest {
	t.Helper()
	reqs := make([]psp.DirectDebitPayInRequest, n)
	for i := range reqs {
		by := f.buyer(t)
		m := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		reqs[i] = psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID, CreditedWalletID: by.walletID,
			MandateID: m.ID, Amount: unit * int64(i+1), StatementDescriptor: "vhupay 2026-11", Tag: key("col")}
	}
	return reqs
}

// TestDirectDebitBatch: a batch of debits in one call gives each request what
// CreateDirectDebitPayIn gives it — plain debits created, a debit on a cancelled mandate failed at
// once (with its notification), an unknown mandate refused, a key used before its first pay-in,
// a key repeated in the batch one pay-in — and the batch replayed (a close resumed after a
// crash) gets the same pay-ins back without a second debit.
func TestDirectDebitBatch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		reqs := f.plainDebits(t, 3, 1000)
		cancelled := f.buyer(t)
		cm := f.signedMandate(t, cancelled, "Garage Martin", ibanSucceeds)
		if _, err := f.p.CancelMandate(ctx, cm.ID); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs,
			psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: cancelled.userID, CreditedWalletID: cancelled.walletID,
				MandateID: cm.ID, Amount: 500, StatementDescriptor: "vhupay 2026-11", Tag: key("col")},
			psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: cancelled.userID, CreditedWalletID: cancelled.walletID,
				MandateID: "sbx_mandate_unknown", Amount: 500, StatementDescriptor: "vhupay 2026-11", Tag: key("col")})
		// A key used before by a call of its own, and the first request's key again.
		early := reqs[1]
		early.IdempotencyKey, early.Tag = key("dd"), key("col")
		before, err := f.p.CreateDirectDebitPayIn(ctx, early)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, early, reqs[0])
		f.events.take()

		first, err := f.p.CreateDirectDebitPayIns(ctx, reqs)
		if err != nil {
			t.Fatalf("CreateDirectDebitPayIns: %v", err)
		}
		if len(first) != len(reqs) {
			t.Fatalf("%d results for %d requests", len(first), len(reqs))
		}
		for i := range 3 {
			r, req := first[i], reqs[i]
			if r.Err != nil {
				t.Fatalf("request %d: %v", i, r.Err)
			}
			read, err := f.p.GetPayIn(ctx, r.PayIn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(read, r.PayIn); diff != "" {
				t.Errorf("request %d: answered vs stored (-stored +answered):\n%s", i, diff)
			}
			if r.PayIn.Status != psp.PayInCreated || r.PayIn.Method != psp.PayInDirectDebit || r.PayIn.Amount != req.Amount ||
				r.PayIn.MandateID != req.MandateID || r.PayIn.AuthorID != req.AuthorID || r.PayIn.Tag != req.Tag {
				t.Errorf("request %d: pay-in %+v for %+v", i, r.PayIn, req)
			}
		}
		if r := first[3]; r.Err != nil || r.PayIn.Status != psp.PayInFailed || r.PayIn.Failure != psp.FailureMandateCancelled {
			t.Errorf("cancelled mandate: %+v, %v; want a failed pay-in (mandate_cancelled)", r.PayIn, r.Err)
		}
		var rejected *psp.RejectedError
		if r := first[4]; !errors.As(r.Err, &rejected) {
			t.Errorf("unknown mandate: %+v, %v; want a refusal", r.PayIn, r.Err)
		}
		if r := first[5]; r.Err != nil || r.PayIn.ID != before.ID {
			t.Errorf("key used before: %+v, %v; want its pay-in %s", r.PayIn, r.Err, before.ID)
		}
		if r := first[6]; r.Err != nil || r.PayIn.ID != first[0].PayIn.ID {
			t.Errorf("key repeated in the batch: %+v, %v; want the first request's pay-in %s", r.PayIn, r.Err, first[0].PayIn.ID)
		}
		if got := f.events.take(); len(got) != 1 || got[0].ResourceID != first[3].PayIn.ID || got[0].Event != "PAYIN_NORMAL_FAILED" {
			t.Errorf("notifications = %+v, want the failed debit's only", got)
		}
		made := f.countPayIns(t)
		if made != 5 { // three plain debits, the failed one, the early one
			t.Errorf("pay-ins = %d, want 5", made)
		}

		again, err := f.p.CreateDirectDebitPayIns(ctx, reqs)
		if err != nil {
			t.Fatalf("replayed batch: %v", err)
		}
		for i := range reqs {
			if i == 4 {
				if !errors.As(again[i].Err, &rejected) {
					t.Errorf("replayed unknown mandate: %+v, %v; want a refusal", again[i].PayIn, again[i].Err)
				}
				continue
			}
			if again[i].Err != nil || again[i].PayIn.ID != first[i].PayIn.ID || again[i].PayIn.Status != first[i].PayIn.Status {
				t.Errorf("replayed request %d: %+v, %v; want %+v", i, again[i].PayIn, again[i].Err, first[i].PayIn)
			}
		}
		if got := f.countPayIns(t); got != made {
			t.Errorf("pay-ins after the replay = %d, want %d (no second debit)", got, made)
		}
		if got := f.events.take(); len(got) != 0 {
			t.Errorf("notifications of the replay = %+v, want none", got)
		}
	})
}

// TestDirectDebitBatchTwiceAtOnce: the same batch of new keys sent twice at the same time (two
// closers) makes one pay-in per key, and both calls that succeed answer the same pay-ins.
func TestDirectDebitBatchTwiceAtOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		reqs := f.plainDebits(t, 4, 100)
		results := make([][]psp.DirectDebitResult, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { results[i], errs[i] = f.p.CreateDirectDebitPayIns(ctx, reqs) })
		}
		wg.Wait()
		var answered [][]psp.DirectDebitResult
		for i := range 2 {
			// SQLite may refuse one writer while the other holds the database: that call is
			// unavailable (nothing made) and would be made again with the same keys.
			if errs[i] != nil {
				if !errors.Is(errs[i], psp.ErrUnavailable) {
					t.Fatalf("call %d: %v, want psp.ErrUnavailable or success", i, errs[i])
				}
				t.Logf("call %d: %v", i, errs[i])
				continue
			}
			answered = append(answered, results[i])
		}
		final, err := f.p.CreateDirectDebitPayIns(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		answered = append(answered, final)
		for _, rs := range answered {
			for j, r := range rs {
				if r.Err != nil || r.PayIn.ID != final[j].PayIn.ID {
					t.Errorf("request %d: %+v, %v; want pay-in %s", j, r.PayIn, r.Err, final[j].PayIn.ID)
				}
			}
		}
		if got := f.countPayIns(t); got != len(reqs) {
			t.Errorf("pay-ins = %d, want %d (one per key)", got, len(reqs))
		}
	})
}
