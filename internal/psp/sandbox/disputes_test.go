package sandbox_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// TestSandboxDisputes: the dispute card pays at once and is disputed a day later (once, however
// many processes settle), its whole amount, reason fraud; a disputed pay-in cannot be refunded
// (005408); evidence with a delivery proof wins 2 days later, without one loses, an acceptance
// closes it lost, an unanswered one is lost at its deadline.
func TestSandboxDisputes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, "https://pay.example")
		ctx := t.Context()
		buyer := f.buyer(t)
		card := f.card(t, buyer, sandbox.DisputeCard)
		payIns := make([]psp.PayIn, 4)
		for i := range payIns {
			payIns[i] = f.cardPayIn(t, buyer, card, 12000, "https://shop.example/back")
			if payIns[i].Status != psp.PayInSucceeded {
				t.Fatalf("dispute card pay-in = %+v", payIns[i])
			}
		}
		f.events.take()
		if n, err := f.p.SettleDisputes(ctx, false); err != nil || n != 0 {
			t.Fatalf("settle before a day = %d, %v", n, err)
		}
		f.clock.Advance(25 * time.Hour)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := f.p.SettleDisputes(ctx, false); err != nil {
					t.Errorf("settle: %v", err)
				}
			})
		}
		wg.Wait()
		created := f.events.take()
		if len(created) != 4 {
			t.Fatalf("notifications = %+v, want 4 DISPUTE_CREATED", created)
		}
		ids := map[string]string{} // pay-in → dispute
		for _, n := range created {
			d, err := f.p.GetDispute(ctx, n.ResourceID)
			if err != nil || n.Event != "DISPUTE_CREATED" || n.Kind != psp.ResourceDispute || d.Status != psp.DisputeNeedsResponse ||
				d.Reason != "fraud" || d.Amount != 12000 || !d.EvidenceDueBy.Equal(f.clock.Now().Add(7*24*time.Hour)) {
				t.Fatalf("dispute %+v (%+v), %v", d, n, err)
			}
			ids[d.PayInID] = d.ID
		}
		if ds, err := f.p.PayInDisputes(ctx, payIns[0].ID); err != nil || len(ds) != 1 || ds[0].ID != ids[payIns[0].ID] {
			t.Fatalf("PayInDisputes = %+v, %v", ds, err)
		}
		if r, err := f.p.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key("refund-disputed"), PayInID: payIns[0].ID,
			AuthorID: buyer.userID, Amount: 1000}); err != nil || r.Status != psp.RefundFailed || r.ResultCode != "005408" {
			t.Fatalf("refund of a disputed pay-in = %+v, %v", r, err)
		}

		pdf := [][]byte{[]byte("%PDF-1.4")}
		won, lost, accepted, unanswered := ids[payIns[0].ID], ids[payIns[1].ID], ids[payIns[2].ID], ids[payIns[3].ID]
		if _, err := f.p.SubmitDisputeEvidence(ctx, won, 0, []psp.DisputeDocument{{Kind: "delivery_proof", Pages: pdf}}); !isRejected(err) {
			t.Fatalf("contesting 0: %v", err)
		}
		if d, err := f.p.SubmitDisputeEvidence(ctx, won, 12000, []psp.DisputeDocument{{Kind: "delivery_proof", Pages: pdf}}); err != nil || d.Status != psp.DisputeUnderReview {
			t.Fatalf("evidence: %+v, %v", d, err)
		}
		if d, err := f.p.SubmitDisputeEvidence(ctx, won, 12000, nil); err != nil || d.Status != psp.DisputeUnderReview {
			t.Fatalf("evidence again (comes back as it is): %+v, %v", d, err)
		}
		if _, err := f.p.SubmitDisputeEvidence(ctx, lost, 12000, []psp.DisputeDocument{{Kind: "other", Pages: pdf}}); err != nil {
			t.Fatal(err)
		}
		if d, err := f.p.CloseDispute(ctx, accepted); err != nil || d.Status != psp.DisputeClosed || d.Outcome != psp.DisputeLost {
			t.Fatalf("close: %+v, %v", d, err)
		}
		if _, err := f.p.CloseDispute(ctx, accepted); !isRejected(err) {
			t.Fatalf("close twice: %v", err)
		}
		f.events.take()
		f.clock.Advance(49 * time.Hour)
		if n, err := f.p.SettleDisputes(ctx, false); err != nil || n != 2 {
			t.Fatalf("decisions = %d, %v; want 2", n, err)
		}
		for id, want := range map[string]psp.DisputeOutcome{won: psp.DisputeWon, lost: psp.DisputeLost, accepted: psp.DisputeLost} {
			if d, _ := f.p.GetDispute(ctx, id); d.Status != psp.DisputeClosed || d.Outcome != want {
				t.Errorf("dispute %s = %+v, want %s", id, d, want)
			}
		}
		if d, _ := f.p.GetDispute(ctx, unanswered); d.Status != psp.DisputeNeedsResponse {
			t.Fatalf("unanswered before its deadline = %+v", d)
		}
		f.clock.Advance(5 * 24 * time.Hour)
		if _, err := f.p.SubmitDisputeEvidence(ctx, unanswered, 12000, []psp.DisputeDocument{{Kind: "delivery_proof", Pages: pdf}}); !isRejected(err) {
			t.Fatalf("evidence after the deadline: %v", err)
		}
		if n, err := f.p.SettleDisputes(ctx, false); err != nil || n != 1 {
			t.Fatalf("deadline round = %d, %v", n, err)
		}
		if d, _ := f.p.GetDispute(ctx, unanswered); d.Status != psp.DisputeClosed || d.Outcome != psp.DisputeLost {
			t.Fatalf("unanswered after its deadline = %+v", d)
		}
	})
}

func isRejected(err error) bool {
	var rejected *psp.RejectedError
	return errors.As(err, &rejected)
}
