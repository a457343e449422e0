package httpapi_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// disputeEnv is a sandbox server with a buyer paying a centre by the dispute test card.
type disputeEnv struct {
	payEnv
	m         money
	card      string
	centerTok string
}

func startDisputes(t *testing.T, b storagetest.Backend) disputeEnv {
	t.Helper()
	s := apptest.Start(t, b)
	buyer := createBuyer(t, s, "812345676")
	center := createCenter(t, s, "81234567600017")
	e := disputeEnv{payEnv: payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)},
		m: money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}, centerTok: s.Token(t, auth.RoleCenter, center.ID)}
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + center.ID + "/fee", Token: e.m.admin,
		Body: map[string]any{"fee_rate_bps": 500}}).Expect(t, 200)
	e.card = e.registerCard(t, e.token, sandbox.DisputeCard)
	return e
}

// paid pays a 120.00 EUR order with the dispute card (frictionless: succeeded at once).
func (e disputeEnv) paid(t *testing.T) (httpapi.Order, httpapi.PaymentIntent) {
	t.Helper()
	o := e.order(t, 10000)
	pi := decodeIntent(t, e.pay(t, e.token, o.ID, e.card).Expect(t, 201))
	if pi.Status != "succeeded" || pi.Amount != 12000 {
		t.Fatalf("dispute card payment = %+v", pi)
	}
	return o, pi
}

// moveClock moves the test clock by d (settle: the sandbox settles what is due at once).
func (e disputeEnv) moveClock(t *testing.T, d time.Duration, settle bool) {
	t.Helper()
	var c httpapi.ClockState
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sandbox/clock", Token: e.m.admin}).Expect(t, 200).JSON(t, &c)
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.m.admin,
		Body: map[string]any{"now": c.Now.Add(d).Format(time.RFC3339Nano), "settle": settle}}).Expect(t, 200)
	e.s.App.Notifications.Wait()
}

func (e disputeEnv) disputes(t *testing.T, tok string) []httpapi.Dispute {
	t.Helper()
	var l httpapi.DisputeList
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: tok}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

func (e disputeEnv) dispute(t *testing.T, tok, id string) httpapi.Dispute {
	t.Helper()
	var d httpapi.Dispute
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + id, Token: tok}).Expect(t, 200).JSON(t, &d)
	return d
}

// openedOn returns the dispute of a payment intent, as the centre lists it.
func (e disputeEnv) openedOn(t *testing.T, intentID string) httpapi.Dispute {
	t.Helper()
	for _, d := range e.disputes(t, e.centerTok) {
		if d.PaymentIntentID == intentID {
			return d
		}
	}
	t.Fatalf("no dispute on %s", intentID)
	return httpapi.Dispute{}
}

func (e disputeEnv) available(t *testing.T) int64 {
	t.Helper()
	e.m.trialBalanceIsZero(t)
	return e.m.balance(t, e.centerTok).Available
}

// TestDisputeWonWithDeliveryNoteLostWithout is the done-when, over the API on both
// databases: a dispute on the sandbox's dispute card debits the centre at once, is won with the
// order's delivery note (credited back) and lost without one (the debit stays), the trial
// balance 0 after each step; roles, malformed answers and late answers are refused.
func TestDisputeWonWithDeliveryNoteLostWithout(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startDisputes(t, b)
		s := e.s
		o, pi := e.paid(t)
		if got := e.available(t); got != 11400 {
			t.Fatalf("available after the payment = %d, want 11400", got)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders/" + o.ID + "/delivery-notes", Token: e.centerTok,
			Body: map[string]any{"kind": "BL", "number": "BL-DISPUTE-1"}}).Expect(t, 201)

		// A day later the buyer's bank disputes the payment: the centre is debited the whole
		// disputed amount at once (the platform keeps its fee).
		e.moveClock(t, 25*time.Hour, false)
		d := e.openedOn(t, pi.ID)
		if !strings.HasPrefix(d.ID, "dp_") || d.OrderID != o.ID || d.Amount != 12000 || d.Currency != "EUR" || d.Reason != "fraud" ||
			d.Status != "needs_response" || d.Evidence != nil || d.ClosedAt != nil || d.EvidenceDueBy.After(d.CreatedAt.Add(7*24*time.Hour)) || d.EvidenceDueBy.Before(d.CreatedAt.Add(7*24*time.Hour-time.Minute)) {
			t.Fatalf("new dispute = %+v", d)
		}
		if got := e.available(t); got != 11400-12000 {
			t.Fatalf("available after the dispute = %d, want -600", got)
		}
		if txs := e.m.transactions(t, e.centerTok, "?type=dispute"); len(txs) != 1 || txs[0].Net != -12000 || txs[0].Gross != -12000 ||
			txs[0].Fee != 0 || txs[0].SourceID != d.ID {
			t.Fatalf("dispute balance transactions = %+v", txs)
		}

		// Who sees it: its buyer and centre, admin; not another centre, nor another buyer.
		if got := e.dispute(t, e.token, d.ID); got.ID != d.ID {
			t.Fatalf("buyer's read = %+v", got)
		}
		e.dispute(t, e.m.admin, d.ID)
		other := createCenter(t, s, "82345678500018")
		otherTok := s.Token(t, auth.RoleCenter, other.ID)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + d.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + d.ID, Token: s.Token(t, auth.RoleBuyer, "byr_other")}).ExpectProblem(t, 404, "not_found")
		if l := e.disputes(t, otherTok); len(l) != 0 {
			t.Fatalf("another centre lists %+v", l)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: s.Token(t, auth.RoleService, "")}).ExpectProblem(t, 403, "forbidden")

		// Answers the contract refuses.
		evidence := func(tok, id string, body any) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + id + "/evidence", Token: tok, Body: body})
		}
		evidence(e.token, d.ID, map[string]any{"text": "x"}).ExpectProblem(t, 403, "forbidden")
		evidence(otherTok, d.ID, map[string]any{"text": "x"}).ExpectProblem(t, 404, "not_found")
		evidence(e.centerTok, d.ID, map[string]any{}).ExpectProblem(t, 422, "validation_failed")
		evidence(e.centerTok, d.ID, map[string]any{"text": "   "}).ExpectProblem(t, 422, "validation_failed")
		evidence(e.centerTok, d.ID, map[string]any{"text": strings.Repeat("x", 5001)}).ExpectProblem(t, 422, "validation_failed")
		evidence(e.centerTok, d.ID, map[string]any{"text": "x", "extra": 1}).ExpectProblem(t, 422, "validation_failed")
		p := evidence(e.centerTok, d.ID, map[string]any{"text": "livré", "delivery_note_id": "BL-NOT-THIS-ORDER"}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != "delivery_note_id" {
			t.Fatalf("unknown delivery note problem = %+v", p)
		}
		evidence(e.centerTok, "dp_missing", map[string]any{"text": "x"}).ExpectProblem(t, 404, "not_found")

		// Evidence with the order's delivery note: under review, then won; the centre is
		// credited back.
		var answered httpapi.Dispute
		evidence(e.centerTok, d.ID, map[string]any{"text": "Pièce livrée contre signature.", "delivery_note_id": "BL-DISPUTE-1"}).
			Expect(t, 200).JSON(t, &answered)
		if answered.Status != "under_review" || answered.Evidence == nil || answered.Evidence.DeliveryNoteID == nil ||
			*answered.Evidence.DeliveryNoteID != "BL-DISPUTE-1" || answered.Evidence.Text != "Pièce livrée contre signature." ||
			answered.Evidence.SubmittedAt.IsZero() {
			t.Fatalf("answered dispute = %+v", answered)
		}
		evidence(e.centerTok, d.ID, map[string]any{"text": "again"}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: e.centerTok}).ExpectProblem(t, 409, "invalid_transition")
		if got := e.available(t); got != -600 {
			t.Fatalf("available while under review = %d", got)
		}
		e.moveClock(t, time.Minute, true)
		won := e.dispute(t, e.centerTok, d.ID)
		if won.Status != "won" || won.ClosedAt == nil {
			t.Fatalf("dispute with a delivery note = %+v, want won", won)
		}
		if got := e.available(t); got != 11400 {
			t.Fatalf("available after the won dispute = %d, want 11400", got)
		}
		if txs := e.m.transactions(t, e.centerTok, "?type=dispute_won"); len(txs) != 1 || txs[0].Net != 12000 || txs[0].SourceID != d.ID {
			t.Fatalf("dispute_won balance transactions = %+v", txs)
		}

		// Evidence without a delivery note: lost; the debit stays.
		_, pi2 := e.paid(t)
		if got := e.available(t); got != 22800 {
			t.Fatalf("available after the second payment = %d", got)
		}
		e.moveClock(t, time.Minute, true)
		d2 := e.openedOn(t, pi2.ID)
		if got := e.available(t); got != 22800-12000 {
			t.Fatalf("available after the second dispute = %d", got)
		}
		evidence(e.m.admin, d2.ID, map[string]any{"text": "Le client a bien reçu la pièce."}).Expect(t, 200)
		e.moveClock(t, 49*time.Hour, false)
		if lost := e.dispute(t, e.token, d2.ID); lost.Status != "lost" || lost.ClosedAt == nil || lost.Evidence == nil || lost.Evidence.DeliveryNoteID != nil {
			t.Fatalf("dispute without a delivery note = %+v, want lost", lost)
		}
		if got := e.available(t); got != 10800 {
			t.Fatalf("available after the lost dispute = %d, want 10800", got)
		}

		// Events: dispute.created and dispute.closed, data.object as the GET answers it.
		for _, typ := range []string{"dispute.created", "dispute.closed"} {
			var l httpapi.EventList
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=" + typ, Token: e.centerTok}).Expect(t, 200).JSON(t, &l)
			if len(l.Data) != 2 {
				t.Fatalf("%s events = %d, want 2", typ, len(l.Data))
			}
			var obj httpapi.Dispute
			if err := json.Unmarshal(l.Data[0].Data.Object, &obj); err != nil || obj.ID != d2.ID {
				t.Fatalf("%s object = %s, %v", typ, l.Data[0].Data.Object, err)
			}
			if typ == "dispute.closed" && obj.Status != "lost" {
				t.Fatalf("closed event object = %+v", obj)
			}
		}
		var audits int
		if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, `SELECT COUNT(*) FROM audit_events WHERE action = 'dispute.evidence'`)).Scan(&audits); err != nil || audits != 2 {
			t.Fatalf("dispute.evidence audit entries = %d, %v", audits, err)
		}
	})
}

// TestDisputeAcceptedOrUnanswered: accepting loses at once (and closes the provider's dispute);
// a dispute nobody answers is lost at its due date, by the periodic work on the clock, and an
// answer after it is refused.
func TestDisputeAcceptedOrUnanswered(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startDisputes(t, b)
		s := e.s
		_, pi := e.paid(t)
		e.moveClock(t, time.Minute, true)
		d := e.openedOn(t, pi.ID)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: e.token}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: s.Token(t, auth.RoleService, "")}).ExpectProblem(t, 403, "forbidden")
		var lost httpapi.Dispute
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: e.centerTok}).Expect(t, 200).JSON(t, &lost)
		if lost.Status != "lost" || lost.ClosedAt == nil || lost.Evidence != nil {
			t.Fatalf("accepted dispute = %+v", lost)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: e.centerTok}).ExpectProblem(t, 409, "invalid_transition")
		e.moveClock(t, time.Minute, true)
		if got := e.dispute(t, e.centerTok, d.ID); got.Status != "lost" {
			t.Fatalf("accepted dispute after the provider's close = %+v", got)
		}
		if got := e.available(t); got != 11400-12000 {
			t.Fatalf("available after the accepted dispute = %d", got)
		}

		_, pi2 := e.paid(t)
		e.moveClock(t, time.Minute, true)
		d2 := e.openedOn(t, pi2.ID)
		e.moveClock(t, 7*24*time.Hour, false)
		if got := e.dispute(t, e.centerTok, d2.ID); got.Status != "lost" || got.ClosedAt == nil {
			t.Fatalf("unanswered dispute at its due date = %+v", got)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d2.ID + "/evidence", Token: e.centerTok,
			Body: map[string]any{"text": "too late"}}).ExpectProblem(t, 409, "invalid_transition")
		if got := e.available(t); got != 11400*2-12000*2 {
			t.Fatalf("available after two lost disputes = %d", got)
		}
		var l httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=dispute.closed", Token: e.m.admin}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 2 {
			t.Fatalf("dispute.closed events = %d, want 2 (each closed once)", len(l.Data))
		}
	})
}

// TestDisputesWithMangoPay: the same flow against the MangoPay fake, driven by its hooks. A
// dispute (DISPUTE_CREATED, applied once however often it is notified) debits the centre; the
// evidence goes to MangoPay as a DELIVERY_PROOF document (created, its page uploaded, submitted)
// then PUT /disputes/{id}/submit, even when MangoPay is down at the answer (recorded first, told
// by the retry); the bank may ask for more (reopened: answered again); a dispute may also arrive
// by its repudiation's notification; the bank's decision (DISPUTE_CLOSED) credits the centre back; an acceptance is
// PUT /disputes/{id}/close.
func TestDisputesWithMangoPay(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startPayments(t, b)
		s := e.s
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		centerTok := s.Token(t, auth.RoleCenter, e.center.ID)
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		payInOfIntent := func(id string) string {
			var payIn string
			if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, `SELECT provider_payin_id FROM payment_intents WHERE id = ?`), id).Scan(&payIn); err != nil {
				t.Fatal(err)
			}
			return payIn
		}
		paid := func() (httpapi.Order, string) {
			o := e.order(t, 10000)
			pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
			if pi.Status != "succeeded" {
				t.Fatalf("intent = %+v", pi)
			}
			return o, pi.ID
		}
		o, piID := paid()
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders/" + o.ID + "/delivery-notes", Token: centerTok,
			Body: map[string]any{"kind": "BR", "number": "BR-77"}}).Expect(t, 201)
		mpDispute, err := e.fake.OpenDispute(payInOfIntent(piID), "PRODUCT_NOT_PROVIDED", true)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e.hook(t, "DISPUTE_CREATED", mpDispute)
		}
		var l httpapi.DisputeList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: centerTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 1 || l.Data[0].PaymentIntentID != piID || l.Data[0].Reason != "product_not_provided" || l.Data[0].Status != "needs_response" {
			t.Fatalf("disputes after the hooks = %+v", l.Data)
		}
		d := l.Data[0]
		m.trialBalanceIsZero(t)
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Fatalf("available after the dispute = %d, want 0", bal.Available)
		}

		// MangoPay down when the centre answers: the answer is recorded, told later.
		e.fake.InjectFault(mangopaytest.Fault{Route: "PUT /disputes/{id}/submit", Status: 503, Times: 100})
		var answered httpapi.Dispute
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/evidence", Token: centerTok,
			Body: map[string]any{"text": "Retirée au centre le 02/11.", "delivery_note_id": "BR-77"}}).Expect(t, 200).JSON(t, &answered)
		if answered.Status != "under_review" {
			t.Fatalf("answered = %+v", answered)
		}
		e.fake.ClearFaults()
		if n, err := s.App.Disputes.SyncProvider(t.Context()); err != nil || n != 1 {
			t.Fatalf("provider sync = %d, %v", n, err)
		}
		if n, err := s.App.Disputes.SyncProvider(t.Context()); err != nil || n != 0 {
			t.Fatalf("second provider sync = %d, %v", n, err)
		}
		docs := e.fake.DisputeDocuments(mpDispute)
		if len(docs) != 1 || docs[0].Type != "DELIVERY_PROOF" || docs[0].Status != "VALIDATION_ASKED" || len(docs[0].Pages) != 1 ||
			!strings.HasPrefix(string(docs[0].Pages[0]), "%PDF") {
			t.Fatalf("documents at MangoPay = %+v", docs)
		}
		if got := e.fake.Calls("POST /disputes/{id}/documents/{id}/pages"); got != 1 {
			t.Fatalf("pages uploaded = %d, want 1", got)
		}
		e.hook(t, "DISPUTE_SUBMITTED", mpDispute)

		// The bank asks for more: needs_response again until MangoPay's new deadline; the second
		// answer is a second document.
		if err := e.fake.ReopenDispute(mpDispute); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "DISPUTE_FURTHER_ACTION_REQUIRED", mpDispute)
		var reopened httpapi.Dispute
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + d.ID, Token: centerTok}).Expect(t, 200).JSON(t, &reopened)
		if reopened.Status != "needs_response" || reopened.Evidence == nil || !reopened.EvidenceDueBy.After(d.EvidenceDueBy.Add(-time.Minute)) {
			t.Fatalf("reopened dispute = %+v", reopened)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/evidence", Token: centerTok,
			Body: map[string]any{"text": "Bon de retrait signé par le client.", "delivery_note_id": "BR-77"}}).Expect(t, 200).JSON(t, &answered)
		if answered.Status != "under_review" || answered.Evidence.Text != "Bon de retrait signé par le client." {
			t.Fatalf("second answer = %+v", answered)
		}
		if docs := e.fake.DisputeDocuments(mpDispute); len(docs) != 2 || docs[1].Type != "DELIVERY_PROOF" || docs[1].Status != "VALIDATION_ASKED" {
			t.Fatalf("documents after the second answer = %+v", docs)
		}
		if err := e.fake.DecideDispute(mpDispute, true); err != nil {
			t.Fatal(err)
		}
		e.hook(t, "DISPUTE_CLOSED", mpDispute)
		e.hook(t, "DISPUTE_CLOSED", mpDispute)
		var won httpapi.Dispute
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + d.ID, Token: centerTok}).Expect(t, 200).JSON(t, &won)
		if won.Status != "won" {
			t.Fatalf("dispute after MangoPay's decision = %+v", won)
		}
		m.trialBalanceIsZero(t)
		if bal := m.balance(t, centerTok); bal.Available != 12000 {
			t.Fatalf("available after the won dispute = %d, want 12000", bal.Available)
		}

		// Accepted: MangoPay's dispute is closed.
		_, pi2 := paid()
		mp2, err := e.fake.OpenDispute(payInOfIntent(pi2), "FRAUD", true)
		if err != nil {
			t.Fatal(err)
		}
		// This one arrives by its repudiation's notification (PAYIN_REPUDIATION_CREATED names
		// the repudiation; its pay-in's disputes are read: GET /payins/{id}/disputes).
		repudiation := ""
		for _, ev := range e.fake.Events() {
			if ev.Type == "PAYIN_REPUDIATION_CREATED" {
				repudiation = ev.ResourceID
			}
		}
		e.hook(t, "PAYIN_REPUDIATION_CREATED", repudiation)
		if got := e.fake.Calls("GET /payins/{id}/disputes"); got != 1 {
			t.Fatalf("pay-in disputes read %d times, want 1", got)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: centerTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 2 {
			t.Fatalf("disputes after the repudiation's hook = %+v", l.Data)
		}
		e.hook(t, "DISPUTE_CREATED", mp2)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: centerTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 2 || l.Data[0].PaymentIntentID != pi2 {
			t.Fatalf("disputes = %+v", l.Data)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + l.Data[0].ID + "/accept", Token: centerTok}).Expect(t, 200)
		if got := e.fake.Calls("PUT /disputes/{id}/close"); got != 1 {
			t.Fatalf("MangoPay closes = %d, want 1", got)
		}
		e.hook(t, "DISPUTE_CLOSED", mp2)
		var events httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=dispute.closed", Token: m.admin}).Expect(t, 200).JSON(t, &events)
		if len(events.Data) != 2 {
			t.Fatalf("dispute.closed events = %d, want 2", len(events.Data))
		}
		m.trialBalanceIsZero(t)
		if bal := m.balance(t, centerTok); bal.Available != 12000 {
			t.Fatalf("available after the accepted dispute = %d, want 12000", bal.Available)
		}

		// A dispute whose notifications never came is found by the polling safety net (GET
		// /disputes), once.
		_, pi3 := paid()
		if _, err := e.fake.OpenDispute(payInOfIntent(pi3), "DUPLICATE", true); err != nil {
			t.Fatal(err)
		}
		if n, err := s.App.Disputes.Poll(t.Context()); err != nil || n != 1 {
			t.Fatalf("poll = %d, %v; want 1 applied", n, err)
		}
		if n, err := s.App.Disputes.Poll(t.Context()); err != nil || n != 0 {
			t.Fatalf("second poll = %d, %v; want 0", n, err)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: centerTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 3 || l.Data[0].PaymentIntentID != pi3 || l.Data[0].Reason != "duplicate" {
			t.Fatalf("disputes after the poll = %+v", l.Data)
		}
		m.trialBalanceIsZero(t)
		if bal := m.balance(t, centerTok); bal.Available != 12000 {
			t.Fatalf("available after the polled dispute = %d, want 12000 (24000 earned, 12000 disputed)", bal.Available)
		}
	})
}

// TestDisputeRaces (MangoPay fake, -race, both databases): the same provider dispute applied by
// several workers at once is recorded once (one debit, one dispute.created); at the due date,
// several expiry rounds (processes) racing the centre's acceptance close the dispute once (one
// dispute.closed), lost either way.
func TestDisputeRaces(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		clk := clock.NewManual(time.Now())
		e := startPayments(t, b, apptest.WithBaseClock(clk))
		s := e.s
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		centerTok := s.Token(t, auth.RoleCenter, e.center.ID)
		card := e.registerCard(t, e.token, mangopaytest.FrictionlessCard)
		o := e.order(t, 10000)
		pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
		var payIn string
		if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, `SELECT provider_payin_id FROM payment_intents WHERE id = ?`), pi.ID).Scan(&payIn); err != nil {
			t.Fatal(err)
		}
		mpDispute, err := e.fake.OpenDispute(payIn, "FRAUD", true)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- s.App.Disputes.ApplyDispute(t.Context(), mpDispute) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent apply: %v", err)
			}
		}
		count := func(q string, args ...any) int {
			var n int
			if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, q), args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(`SELECT COUNT(*) FROM disputes`); n != 1 {
			t.Fatalf("disputes = %d, want 1", n)
		}
		if n := count(`SELECT COUNT(*) FROM events WHERE type = 'dispute.created'`); n != 1 {
			t.Fatalf("dispute.created events = %d, want 1", n)
		}
		m.trialBalanceIsZero(t)
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Fatalf("available = %d, want 0 (debited once)", bal.Available)
		}

		var l httpapi.DisputeList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes", Token: centerTok}).Expect(t, 200).JSON(t, &l)
		d := l.Data[0]
		clk.Advance(8 * 24 * time.Hour)
		statuses := make(chan int, 1)
		for range 6 {
			wg.Go(func() {
				if _, err := s.App.Disputes.ExpireDue(t.Context()); err != nil {
					t.Errorf("expire: %v", err)
				}
			})
		}
		wg.Go(func() {
			statuses <- s.Do(t, apptest.Request{Method: "POST", Path: "/v1/disputes/" + d.ID + "/accept", Token: centerTok}).Status
		})
		wg.Wait()
		if st := <-statuses; st != 200 && st != 409 {
			t.Fatalf("acceptance racing the due date answered %d", st)
		}
		if n := count(`SELECT COUNT(*) FROM events WHERE type = 'dispute.closed'`); n != 1 {
			t.Fatalf("dispute.closed events = %d, want 1", n)
		}
		var got httpapi.Dispute
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/disputes/" + d.ID, Token: centerTok}).Expect(t, 200).JSON(t, &got)
		if got.Status != "lost" {
			t.Fatalf("dispute = %+v, want lost", got)
		}
		m.trialBalanceIsZero(t)
	})
}

// TestDisputedPaymentsAndRefunds (issue #12 item 5): a dispute on a partly refunded payment is
// recorded as such — the centre is debited only what it still held of the payment — and a
// disputed payment cannot be refunded (409 payment_not_refundable), trial balance 0 throughout.
func TestDisputedPaymentsAndRefunds(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startDisputes(t, b)
		s := e.s
		_, pi := e.paid(t)
		var r httpapi.Refund
		refund(t, s, e.centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 3000, "reason": "part_damaged"}).Expect(t, 201).JSON(t, &r)
		waitFor(t, func() bool {
			var got httpapi.Refund
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r.ID, Token: e.centerTok}).Expect(t, 200).JSON(t, &got)
			return got.Status == "succeeded"
		})
		before := e.available(t) // 11400 less the refund net of its fee share (3000 − 150)
		if before != 11400-2850 {
			t.Fatalf("available after the partial refund = %d", before)
		}
		e.moveClock(t, time.Minute, true)
		d := e.openedOn(t, pi.ID)
		if d.Amount != 9000 || d.Status != "needs_response" {
			t.Fatalf("dispute on a partly refunded payment = %+v, want 90.00 disputed", d)
		}
		if got := e.available(t); got != before-9000 {
			t.Fatalf("available after the dispute = %d, want %d (only what the centre still held)", got, before-9000)
		}
		refund(t, s, e.centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 1000, "reason": "other"}).
			ExpectProblem(t, 409, "payment_not_refundable")
		refund(t, s, e.m.admin, map[string]any{"payment_intent_id": pi.ID, "reason": "other"}).ExpectProblem(t, 409, "payment_not_refundable")
		if got := e.available(t); got != before-9000 {
			t.Fatalf("available after the refused refunds = %d", got)
		}
	})
}
