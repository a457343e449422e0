package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// refusingProvider refuses every direct debit, as a provider does with a request it will never
// accept (a refusal is final for its idempotency key).
type refusingProvider struct {
	psp.Provider
	calls int
}

func (p *refusingProvider) CreateDirectDebitPayIn(context.Context, psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	p.calls++
	return psp.PayIn{}, &psp.RejectedError{Code: "001999", Message: "Generic Operation error"}
}

// TestCollectMonthDebitRefusedAtSubmission: a debit the provider refuses when it is submitted
// fails its collection (provider_error) with its intents, records the unpaid debit and suspends
// the buyer; the step completes (the refusal is final) and a later run does not submit it again.
func TestCollectMonthDebitRefusedAtSubmission(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		by := e.sepaBuyer(t, "812345676", ibanFR)
		intent := e.sepa(t, by, 4200, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		provider := &refusingProvider{Provider: e.s.App.Provider}
		svc := e.newService(provider, 1)
		p := &progress{}
		n, err := svc.CollectMonth(ctx, "2026-11", p)
		if err != nil || n != 1 {
			t.Fatalf("CollectMonth = %d, %v; want 1 collection and no error (a refusal is final)", n, err)
		}
		col := e.only(t, by.ID)
		if col.Status != "failed" || col.FailureCode == nil || *col.FailureCode != "provider_error" {
			t.Errorf("collection = %+v, want failed with provider_error", col)
		}
		if pi := e.intentStatus(t, intent); pi.Status != "failed" {
			t.Errorf("intent status = %s, want failed", pi.Status)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, by.ID); got != 1 {
			t.Errorf("unpaid debits = %d, want 1", got)
		}
		if !e.profile(t, by.ID).Suspended {
			t.Error("the buyer is not suspended after a refused debit")
		}
		if _, err := svc.CollectMonth(ctx, "2026-11", p); err != nil {
			t.Fatal(err)
		}
		if provider.calls != 1 {
			t.Errorf("the provider was asked %d times, want 1", provider.calls)
		}
	})
}
