package disputes

import (
	"errors"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	open := func() Dispute {
		return Dispute{ID: "dp_1", CenterID: "ctr_1", Amount: 12000, Debited: 12000, Status: StatusNeedsResponse,
			EvidenceDueBy: at.Add(ResponseWindow), CreatedAt: at, ProviderAction: ActionNone}
	}
	d := open()
	if err := d.SubmitEvidence(Evidence{Text: "x", SubmittedAt: at.Add(ResponseWindow)}); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("evidence at the due date: %v", err)
	}
	if err := d.SubmitEvidence(Evidence{Text: "x", SubmittedAt: at.Add(time.Hour)}); err != nil || d.Status != StatusUnderReview || d.ProviderAction != ActionSubmit {
		t.Fatalf("evidence: %v, %+v", err, d)
	}
	for name, err := range map[string]error{
		"evidence again": d.SubmitEvidence(Evidence{Text: "y", SubmittedAt: at.Add(2 * time.Hour)}),
		"accept":         d.Accept(at),
		"expire":         d.Expire(at.Add(8 * 24 * time.Hour)),
	} {
		if !errors.Is(err, ErrInvalidTransition) {
			t.Errorf("%s while under review: %v", name, err)
		}
	}
	if err := d.Reopen(at.Add(9*24*time.Hour), at.Add(time.Hour)); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("reopen before the answer was told: %v", err)
	}
	told := d
	told.ProviderAction = ActionNone
	if err := told.Reopen(at.Add(9*24*time.Hour), at.Add(time.Hour)); err != nil || told.Status != StatusNeedsResponse ||
		!told.EvidenceDueBy.Equal(at.Add(9*24*time.Hour)) || told.Evidence == nil {
		t.Fatalf("reopen: %v, %+v", err, told)
	}
	if err := d.Decide(true, at.Add(48*time.Hour)); err != nil || d.Status != StatusWon || d.ClosedAt.IsZero() || d.ProviderAction != ActionNone {
		t.Fatalf("decide: %v, %+v", err, d)
	}
	if err := d.Decide(false, at); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("decide a final dispute: %v", err)
	}

	d = open()
	if err := d.Expire(at.Add(time.Hour)); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("expire before the due date: %v", err)
	}
	if err := d.Expire(d.EvidenceDueBy); err != nil || d.Status != StatusLost || d.ProviderAction != ActionNone {
		t.Fatalf("expire: %v, %+v", err, d)
	}
	d = open()
	if err := d.Accept(at); err != nil || d.Status != StatusLost || d.ProviderAction != ActionClose || d.ClosedAt != at {
		t.Fatalf("accept: %v, %+v", err, d)
	}
}

func TestLedger(t *testing.T) {
	for _, c := range []struct{ amount, payment, refunded, want int64 }{
		{12000, 12000, 0, 12000}, {12000, 12000, 3000, 9000}, {9000, 12000, 3000, 9000}, {12000, 12000, 12000, 0}, {5000, 12000, -1, 5000},
	} {
		if got := DebitFor(c.amount, c.payment, c.refunded); got != c.want {
			t.Errorf("DebitFor(%d, %d, %d) = %d, want %d", c.amount, c.payment, c.refunded, got, c.want)
		}
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	d := Dispute{ID: "dp_1", CenterID: "ctr_0193", Amount: 12000, Debited: 9000, CreatedAt: at, ClosedAt: at}
	opened, ok := Opened(d)
	if !ok || opened.Check() != nil || opened.Kind != KindDispute || opened.Postings[0].Amount != -9000 {
		t.Fatalf("opened = %+v, %v", opened, opened.Check())
	}
	back, ok := WonBack(d)
	if !ok || back.Check() != nil || back.Kind != KindDisputeWon || back.Postings[1].Amount != 9000 {
		t.Fatalf("won back = %+v, %v", back, back.Check())
	}
	if _, ok := Opened(Dispute{ID: "dp_2", CenterID: "ctr_0193", Amount: 100}); ok {
		t.Fatal("a dispute that debits nothing posts nothing")
	}
}
