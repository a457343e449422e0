package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// Card disputes in the sandbox (SANDBOX.md, part 2): a pay-in of the dispute test card is
// disputed (reason fraud, its whole amount less what was refunded) when the clock is a day past
// it, or at once with a forced settlement; evidence holding a delivery proof wins, any other
// loses, decided when the clock is 2 days past the submission (or forced); a dispute nobody
// answered by its deadline is lost. As at MangoPay, a disputed pay-in cannot be refunded (005408).

// DisputeCard is the dispute test card: frictionless success, then a dispute.
const DisputeCard = "4970105555555551"

// Dispute timings (SANDBOX.md) and MangoPay's contest window (7 days at least).
const (
	disputeAfter       = 24 * time.Hour
	disputeDecideAfter = 48 * time.Hour
	contestWindow      = 7 * 24 * time.Hour
)

// Dispute notifications, MangoPay's.
const (
	eventDisputeCreated   = "DISPUTE_CREATED"
	eventDisputeSubmitted = "DISPUTE_SUBMITTED"
	eventDisputeClosed    = "DISPUTE_CLOSED"
)

// codeDisputed is MangoPay's refusal of a refund of a disputed pay-in.
const codeDisputed = "005408"

// disputeBatch bounds one round of openings.
const disputeBatch = 200

// SettleDisputes opens the disputes due (dispute test card pay-ins a day old, all of them when
// force is set) and closes those decided (submitted 2 days ago, or all submitted when forced;
// unanswered past their deadline). It returns how many disputes it opened or closed. Several
// processes may run it at once: each change is conditional, so each happens once, and only
// the process that made it sends its notification.
func (p *Provider) SettleDisputes(ctx context.Context, force bool) (int, error) {
	now := p.clock.Now()
	openBefore, decideBefore := now.Add(-disputeAfter), now.Add(-disputeDecideAfter)
	if force {
		openBefore, decideBefore = now.Add(time.Hour), now.Add(time.Hour)
	}
	due, err := p.store.DisputeCandidates(ctx, openBefore, disputeBatch)
	if err != nil {
		return 0, unavailable("list dispute candidates", err)
	}
	n := 0
	for _, pi := range due {
		d := Dispute{ID: newID("dispute"), PayInID: pi.ID, Status: psp.DisputeNeedsResponse, Reason: "fraud",
			Amount: pi.Amount - pi.Refunded, ContestDeadline: now.Add(contestWindow), CreatedAt: now}
		ok, err := p.store.CreateDispute(ctx, d)
		if err != nil {
			return n, unavailable("open dispute", err)
		}
		if ok {
			n++
			p.emit(ctx, psp.Notification{Kind: psp.ResourceDispute, ResourceID: d.ID, Event: eventDisputeCreated})
		}
	}
	toClose, err := p.store.DisputesToClose(ctx, decideBefore, now)
	if err != nil {
		return n, unavailable("list disputes to close", err)
	}
	for _, d := range toClose {
		outcome := psp.DisputeLost
		if d.Status == psp.DisputeUnderReview && d.DeliveryProof {
			outcome = psp.DisputeWon
		}
		ok, err := p.store.CloseDispute(ctx, d.ID, []psp.DisputeStatus{d.Status}, outcome, now)
		if err != nil {
			return n, unavailable("close dispute", err)
		}
		if ok {
			n++
			p.log.LogAttrs(ctx, slog.LevelInfo, "sandbox psp dispute closed", slog.String("dispute_id", d.ID), slog.String("outcome", string(outcome)))
			p.emit(ctx, psp.Notification{Kind: psp.ResourceDispute, ResourceID: d.ID, Event: eventDisputeClosed})
		}
	}
	return n, nil
}

// GetDispute implements psp.Disputes' read.
func (p *Provider) GetDispute(ctx context.Context, disputeID string) (psp.Dispute, error) {
	d, err := p.store.Dispute(ctx, disputeID)
	if err != nil {
		return psp.Dispute{}, unavailable("read dispute", err)
	}
	return toDispute(d), nil
}

func toDispute(d Dispute) psp.Dispute {
	return psp.Dispute{ID: d.ID, PayInID: d.PayInID, Status: d.Status, Outcome: d.Outcome, Contestable: true, Reason: d.Reason,
		Amount: d.Amount, EvidenceDueBy: d.ContestDeadline, ClosedAt: d.ClosedAt}
}

// PayInDisputes implements psp.Disputes' listing of a pay-in's disputes (at most one in the
// sandbox).
func (p *Provider) PayInDisputes(ctx context.Context, payInID string) ([]psp.Dispute, error) {
	if _, err := p.store.PayIn(ctx, payInID); err != nil {
		return nil, unavailable("read pay-in", err)
	}
	d, err := p.store.DisputeOfPayIn(ctx, payInID)
	if errors.Is(err, psp.ErrNotFound) {
		return []psp.Dispute{}, nil
	}
	if err != nil {
		return nil, unavailable("read dispute", err)
	}
	return []psp.Dispute{toDispute(d)}, nil
}

// SubmitDisputeEvidence implements psp.Disputes' submission, as MangoPay's documents and submit:
// a dispute that no longer waits for evidence comes back as it is; past its deadline, with no
// document or an empty page, or contesting outside 1 to the disputed amount, it is refused.
func (p *Provider) SubmitDisputeEvidence(ctx context.Context, disputeID string, amount int64, docs []psp.DisputeDocument) (psp.Dispute, error) {
	d, err := p.store.Dispute(ctx, disputeID)
	if err != nil {
		return psp.Dispute{}, unavailable("read dispute", err)
	}
	if d.Status != psp.DisputeNeedsResponse {
		return toDispute(d), nil
	}
	now := p.clock.Now()
	proof := false
	for _, doc := range docs {
		if len(doc.Pages) == 0 {
			return psp.Dispute{}, paramError(map[string]string{"Pages": "A document needs at least one page."})
		}
		for _, page := range doc.Pages {
			if len(page) == 0 {
				return psp.Dispute{}, paramError(map[string]string{"File": "The File must be a base64 encoded file of at most 10MB."})
			}
		}
		proof = proof || doc.Kind == "delivery_proof"
	}
	switch {
	case !now.Before(d.ContestDeadline):
		return psp.Dispute{}, paramError(map[string]string{"ContestDeadlineDate": "The contest deadline has passed."})
	case amount < 1 || amount > d.Amount:
		return psp.Dispute{}, paramError(map[string]string{"ContestedFunds": "The contested funds must be 1 to the disputed amount, in its currency."})
	}
	ok, err := p.store.SubmitDispute(ctx, d.ID, amount, proof, len(docs), now)
	if err != nil {
		return psp.Dispute{}, unavailable("submit dispute", err)
	}
	if ok {
		p.emit(ctx, psp.Notification{Kind: psp.ResourceDispute, ResourceID: d.ID, Event: eventDisputeSubmitted})
	}
	return p.GetDispute(ctx, d.ID)
}

// CloseDispute implements psp.Disputes' acceptance: a dispute waiting for evidence is closed
// lost; any other is refused.
func (p *Provider) CloseDispute(ctx context.Context, disputeID string) (psp.Dispute, error) {
	d, err := p.store.Dispute(ctx, disputeID)
	if err != nil {
		return psp.Dispute{}, unavailable("read dispute", err)
	}
	ok, err := p.store.CloseDispute(ctx, d.ID, []psp.DisputeStatus{psp.DisputeNeedsResponse}, psp.DisputeLost, p.clock.Now())
	if err != nil {
		return psp.Dispute{}, unavailable("close dispute", err)
	}
	if !ok {
		return psp.Dispute{}, paramError(map[string]string{"Status": "The dispute cannot be closed in status " + string(d.Status) + "."})
	}
	p.emit(ctx, psp.Notification{Kind: psp.ResourceDispute, ResourceID: d.ID, Event: eventDisputeClosed})
	return p.GetDispute(ctx, d.ID)
}

// disputed reports whether a pay-in has a dispute, in tx.
func disputed(ctx context.Context, tx Store, payInID string) (bool, error) {
	_, err := tx.DisputeOfPayIn(ctx, payInID)
	if errors.Is(err, psp.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
