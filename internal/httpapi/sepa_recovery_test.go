package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// recoveryEnv is a sandbox server at 10 November 2026 with a centre, driven by the test clock.
type recoveryEnv struct {
	s      *apptest.Server
	admin  string
	center httpapi.Center
}

func startRecovery(t *testing.T, b storagetest.Backend) *recoveryEnv {
	t.Helper()
	base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))
	s := apptest.Start(t, b, apptest.WithBaseClock(base), fastJobs(nil))
	return &recoveryEnv{s: s, admin: s.Token(t, auth.RoleAdmin, ""), center: createCenter(t, s, "81234567600017")}
}

// moveClock moves the sandbox test clock (settling the submitted debits with settle).
func (e *recoveryEnv) moveClock(t *testing.T, now string, settle bool) {
	t.Helper()
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.admin,
		Body: map[string]any{"now": now, "settle": settle}}).Expect(t, 200)
}

// closeNovember moves the clock into December and waits for November's close to complete.
func (e *recoveryEnv) closeNovember(t *testing.T) {
	t.Helper()
	e.moveClock(t, "2026-12-01T00:40:00+01:00", false)
	waitFor(t, func() bool {
		var mc httpapi.MonthClose
		r := e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/2026-11", Token: e.admin})
		if r.Status != http.StatusOK {
			return false
		}
		r.JSON(t, &mc)
		return mc.Status == "completed"
	})
}

func (e *recoveryEnv) collection(t *testing.T, tok string) httpapi.Collection {
	t.Helper()
	var list httpapi.CollectionList
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: tok}).Expect(t, 200).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("collections = %+v", list.Data)
	}
	return list.Data[0]
}

func (e *recoveryEnv) profile(t *testing.T, tok string) httpapi.SEPAProfile {
	t.Helper()
	var p httpapi.SEPAProfile
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: tok}).Expect(t, 200).JSON(t, &p)
	return p
}

func (e *recoveryEnv) unpaid(t *testing.T, buyerID string) int {
	t.Helper()
	var n int
	db := e.s.App.DB
	if err := db.SQL().QueryRow(dollars(db, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`), buyerID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSandboxSEPARecovery is issue #13's done-when over the API, in sandbox: every collection has
// its pre-notification (PDF) before its submission; the re-presentation IBAN fails once, is
// retrying, then succeeds 7 days later with the buyer never recorded unpaid; the insufficient-funds
// IBAN fails twice and is an unpaid debit.
func TestSandboxSEPARecovery(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startRecovery(t, b)
		s := e.s
		rep, repTok, repMandate := sandboxSEPABuyer(t, s, "812345676", ibanRepresentation)
		poor, poorTok, poorMandate := sandboxSEPABuyer(t, s, "823456785", ibanPenniless)
		repIntent := payOverHTTP(t, s, e.center.ID, rep, repTok, repMandate, 10000)    // 120.00 EUR
		poorIntent := payOverHTTP(t, s, e.center.ID, poor, poorTok, poorMandate, 5000) // 60.00 EUR
		e.closeNovember(t)

		// Pre-notified, then submitted.
		for _, tc := range []struct {
			tok, intent string
			mandate     httpapi.Mandate
			amount      string
		}{{repTok, repIntent, repMandate, "120,00 €"}, {poorTok, poorIntent, poorMandate, "60,00 €"}} {
			col := e.collection(t, tc.tok)
			if col.Status != "submitted" || col.PrenotifiedAt == nil || col.SubmittedAt == nil || col.PrenotifiedAt.After(*col.SubmittedAt) ||
				col.DueDate == nil || *col.DueDate != "2026-12-03" || col.CreditorID == nil || *col.CreditorID != "FR72ZZZ123456" ||
				col.MandateReference == nil || tc.mandate.Reference == nil || *col.MandateReference != *tc.mandate.Reference || col.Attempts != 1 {
				t.Fatalf("collection after the close = %+v", col)
			}
			var pi httpapi.PaymentIntent
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + tc.intent, Token: tc.tok}).Expect(t, 200).JSON(t, &pi)
			r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + col.ID + "/prenotification.pdf", Token: tc.tok}).Expect(t, 200)
			if ct := r.Header.Get("Content-Type"); ct != "application/pdf" {
				t.Errorf("content type %q", ct)
			}
			text := pdfToText(t, r.Body)
			for _, want := range []string{"Avis de prélèvement SEPA", "FR72ZZZ123456", *tc.mandate.Reference, "03/12/2026",
				tc.amount, *pi.OrderID, tc.intent, col.ID} {
				if !strings.Contains(text, strings.ReplaceAll(want, "\u00a0", " ")) {
					t.Errorf("the pre-notification lacks %q:\n%s", want, text)
				}
			}
		}
		// Another buyer's pre-notification is not found; a centre may not read it.
		repCol := e.collection(t, repTok)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + repCol.ID + "/prenotification.pdf", Token: poorTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + repCol.ID + "/prenotification.pdf",
			Token: s.Token(t, auth.RoleCenter, e.center.ID)}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + repCol.ID + "/prenotification.pdf", Token: e.admin}).Expect(t, 200)

		// The bank answers: both fail for insufficient funds and are presented again in 7 days.
		e.moveClock(t, "2026-12-01T00:41:00+01:00", true)
		waitFor(t, func() bool {
			return e.collection(t, repTok).Status == "retrying" && e.collection(t, poorTok).Status == "retrying"
		})
		for _, tok := range []string{repTok, poorTok} {
			col := e.collection(t, tok)
			if col.RetryAt == nil || !col.RetryAt.Equal(time.Date(2026, 12, 7, 23, 41, 0, 0, time.UTC)) {
				t.Errorf("retry_at = %v", col.RetryAt)
			}
			p := e.profile(t, tok)
			if p.Enabled || !slicesContain(p.Reasons, "collection_retrying") || p.Suspended {
				t.Errorf("profile while retrying = %+v", p)
			}
		}
		// A new SEPA payment is refused meanwhile.
		o := createOrder(t, s, repTok, orderBody(e.center.ID, line("REF-2", 1, 1000, nil)))
		p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: repTok,
			Body: map[string]any{"order_id": o.ID, "method": "sepa_debit"}}).ExpectProblem(t, 409, "sepa_not_eligible")
		if !slicesContain(p.Reasons, "collection_retrying") {
			t.Errorf("refusal reasons = %v", p.Reasons)
		}
		if e.unpaid(t, rep.ID) != 0 || e.unpaid(t, poor.ID) != 0 {
			t.Error("an unpaid debit was recorded while retrying")
		}

		// 7 days later: presented again and settled.
		e.moveClock(t, "2026-12-08T00:42:00+01:00", true)
		waitFor(t, func() bool {
			return e.collection(t, repTok).Status == "succeeded" && e.collection(t, poorTok).Status == "failed"
		})
		repCol = e.collection(t, repTok)
		if repCol.Attempts != 2 || repCol.FailureCode != nil {
			t.Errorf("the re-presented collection = %+v", repCol)
		}
		if e.unpaid(t, rep.ID) != 0 {
			t.Error("the re-presentation IBAN's buyer was recorded unpaid")
		}
		if p := e.profile(t, repTok); p.Suspended || slicesContain(p.Reasons, "collection_retrying") || slicesContain(p.Reasons, "unpaid_debit") {
			t.Errorf("the re-presentation IBAN's buyer = %+v", p)
		}
		poorCol := e.collection(t, poorTok)
		if poorCol.Attempts != 2 || poorCol.FailureCode == nil || *poorCol.FailureCode != "insufficient_funds" {
			t.Errorf("the insufficient-funds collection = %+v", poorCol)
		}
		if e.unpaid(t, poor.ID) != 1 {
			t.Error("the insufficient-funds buyer's unpaid debit is not recorded")
		}
		if p := e.profile(t, poorTok); !p.Suspended || !slicesContain(p.Reasons, "unpaid_debit") {
			t.Errorf("the insufficient-funds buyer = %+v", p)
		}
		// The insufficient-funds buyer pays its collection by card through the 3-D Secure page.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: repTok, Body: map[string]any{
			"method": "card", "collection_id": repCol.ID, "card_id": "card_none", "return_url": returnURL}}).ExpectProblem(t, 409, "collection_not_payable")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: repTok, Body: map[string]any{
			"method": "card", "collection_id": poorCol.ID, "card_id": "card_none", "return_url": returnURL}}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: poorTok, Body: map[string]any{
			"method": "sepa_debit", "collection_id": poorCol.ID}}).ExpectProblem(t, 422, "validation_failed")
		pe := payEnv{s: s, buyer: poor, center: e.center, token: poorTok}
		card := pe.registerCard(t, poorTok, "4970105181818183")
		pi := decodeIntent(t, s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: poorTok, Body: map[string]any{
			"method": "card", "collection_id": poorCol.ID, "card_id": card, "return_url": returnURL}}).Expect(t, 201))
		if pi.Status != "requires_action" || pi.OrderID != nil || pi.CollectionID == nil || *pi.CollectionID != poorCol.ID ||
			pi.Amount != poorCol.Amount || pi.NextAction == nil {
			t.Fatalf("recovery intent = %+v", pi)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		bank := func(page string, form url.Values) {
			t.Helper()
			resp, err := noFollow.PostForm(page, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("3-D Secure page answered %d", resp.StatusCode)
			}
		}
		// The garage gives up on the bank's page: the payment fails, the collection stays failed.
		bank(pi.NextAction.RedirectToURL.URL, url.Values{"action": {"cancel"}})
		waitFor(t, func() bool { return pe.intent(t, pi.ID).Status == "failed" })
		if col := e.collection(t, poorTok); col.Status != "failed" {
			t.Fatalf("collection after a cancelled card payment = %s", col.Status)
		}
		// It tries again, twice at once (two tabs): the first to succeed recovers the collection,
		// the other is refunded (canceled), never counted twice.
		pay := func() httpapi.PaymentIntent {
			return decodeIntent(t, s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: poorTok, Body: map[string]any{
				"method": "card", "collection_id": poorCol.ID, "card_id": card, "return_url": returnURL}}).Expect(t, 201))
		}
		pi, other := pay(), pay()
		bank(pi.NextAction.RedirectToURL.URL, url.Values{"code": {"123456"}})
		bank(other.NextAction.RedirectToURL.URL, url.Values{"code": {"123456"}})
		waitFor(t, func() bool { return pe.intent(t, other.ID).Status == "canceled" })
		waitFor(t, func() bool {
			return pe.intent(t, pi.ID).Status == "succeeded" && e.collection(t, poorTok).Status == "recovered"
		})
		prof := e.profile(t, poorTok)
		if !prof.Enabled || prof.Suspended || prof.Ceiling != 25000 || prof.ProbationUntil == nil {
			t.Errorf("the recovered buyer's profile = %+v", prof)
		}
		var changes httpapi.CeilingChangeList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/ceiling-changes", Token: poorTok}).Expect(t, 200).JSON(t, &changes)
		if len(changes.Data) == 0 || changes.Data[0].Reason != "reinstated" || changes.Data[0].To != 25000 {
			t.Errorf("ceiling changes = %+v", changes.Data)
		}
		// Paid once: the collection is not payable any more; the guarantee is repaid.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: poorTok, Body: map[string]any{
			"method": "card", "collection_id": poorCol.ID, "card_id": card, "return_url": returnURL}}).ExpectProblem(t, 409, "collection_not_payable")
		var guarantee int64
		db := s.App.DB
		if err := db.SQL().QueryRow(`SELECT COALESCE(SUM(amount), 0) FROM ledger_postings WHERE account = 'platform:guarantee'`).Scan(&guarantee); err != nil {
			t.Fatal(err)
		}
		if guarantee != 0 {
			t.Errorf("the platform's guarantee = %d after the recovery, want 0", guarantee)
		}
		// And it pays by SEPA again, at 250.00 EUR.
		o2 := createOrder(t, s, poorTok, orderBody(e.center.ID, line("REF-3", 1, 20000, nil)))
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: poorTok,
			Body: map[string]any{"order_id": o2.ID, "method": "sepa_debit"}}).Expect(t, 201)
		var pl httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=sepa_collection.recovered&type=sepa.enabled&type=sepa.ceiling_changed&limit=100",
			Token: poorTok}).Expect(t, 200).JSON(t, &pl)
		if got := eventTypes(pl.Data); len(got) < 2 || got[0] != "sepa_collection.recovered" && got[1] != "sepa_collection.recovered" || !slicesContain(got, "sepa.enabled") {
			t.Errorf("recovery events = %v", got)
		}

		// The events the buyers saw, in order.
		var l httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=sepa_collection.prenotified&type=sepa_collection.submitted&type=sepa_collection.retrying&type=sepa_collection.succeeded&limit=100",
			Token: repTok}).Expect(t, 200).JSON(t, &l)
		want := []string{"sepa_collection.succeeded", "sepa_collection.submitted", "sepa_collection.retrying", "sepa_collection.submitted", "sepa_collection.prenotified"}
		if got := eventTypes(l.Data); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("events = %v, want %v", got, want)
		}
	})
}

// TestSEPAProfileEventsEmitted: every change of a buyer's SEPA standing writes its sepa.enabled,
// sepa.disabled or sepa.ceiling_changed event in the unit that changes it, data.object equal to
// GET /v1/sepa right after: a mandate signed (with a fresh score), an operator's ceiling, a score
// below the minimum then a good one, a cancelled mandate. (A collection's failure, retrying and
// the recovery by card: TestRepresentation and TestSandboxSEPARecovery.)
func TestSEPAProfileEventsEmitted(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startRecovery(t, b)
		s := e.s
		buyer, tok, mandate := sandboxSEPABuyer(t, s, "812345676", ibanFR)
		profile := func() json.RawMessage { return getJSON(t, s, tok, "/v1/sepa") }
		seen := 0
		expect := func(want ...string) {
			t.Helper()
			got := typedEvents(t, s, tok, "sepa.enabled", "sepa.disabled", "sepa.ceiling_changed")
			if len(got) < seen+len(want) {
				t.Fatalf("sepa events = %v, want %v after the first %d", eventTypes(got), want, seen)
			}
			fresh := got[seen:]
			if strings.Join(eventTypes(fresh), ",") != strings.Join(want, ",") {
				t.Fatalf("new sepa events = %v, want %v", eventTypes(fresh), want)
			}
			for _, ev := range fresh {
				if ev.BuyerID == nil || *ev.BuyerID != buyer.ID || !jsonEqual(ev.Data.Object, profile()) {
					t.Errorf("%s = %s, want the profile's GET %s", ev.Type, ev.Data.Object, profile())
				}
			}
			seen += len(want)
		}
		if !e.profile(t, tok).Enabled {
			t.Fatalf("profile = %+v", e.profile(t, tok))
		}
		expect("sepa.enabled")

		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/buyers/" + buyer.ID + "/sepa-ceiling", Token: e.admin,
			Body: map[string]any{"amount": 40000, "note": "good customer"}}).Expect(t, 200)
		expect("sepa.ceiling_changed")

		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/" + buyer.SIREN, Token: e.admin, Body: map[string]any{"value": 6}}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{"buyer_id": buyer.ID}}).Expect(t, 201)
		expect("sepa.disabled")
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/" + buyer.SIREN, Token: e.admin, Body: map[string]any{"value": 15}}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{"buyer_id": buyer.ID}}).Expect(t, 201)
		expect("sepa.enabled")

		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + mandate.ID + "/cancel", Token: tok}).Expect(t, 200)
		expect("sepa.disabled")
		// A change that moves nothing of the standing emits nothing.
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/buyers/" + buyer.ID + "/sepa-ceiling", Token: e.admin,
			Body: map[string]any{"amount": 40000, "note": "same again"}}).Expect(t, 200)
		expect()
	})
}
