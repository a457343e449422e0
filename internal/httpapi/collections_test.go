package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// ibanPenniless is SANDBOX.md's IBAN whose debits fail with insufficient_funds (presented
// twice: see TestSandboxSEPARecovery); ibanClosed the one whose debits fail with account_closed
// (an unpaid debit at once).
const (
	ibanPenniless      = "FR9230006000011234567890289"
	ibanClosed         = "FR1130006000011234567890389"
	ibanRepresentation = "FR5930006000011234567890689"
)

// sandboxSEPABuyer creates a buyer with a bank account and a mandate signed on the sandbox's
// signature page, and returns it with its token and mandate.
func sandboxSEPABuyer(t *testing.T, s *apptest.Server, siren, iban string) (httpapi.Buyer, string, httpapi.Mandate) {
	t.Helper()
	b := createBuyer(t, s, siren)
	tok := s.Token(t, auth.RoleBuyer, b.ID)
	var a httpapi.BankAccount
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: tok, Body: bankAccountBody(iban)}).Expect(t, 201).JSON(t, &a)
	var m httpapi.Mandate
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: tok,
		Body: map[string]any{"return_url": "https://shop.example/sepa/return"}}).Expect(t, 201).JSON(t, &m)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(m.SignatureURL, url.Values{"action": {"sign"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signature page answered %d", resp.StatusCode)
	}
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + m.ID, Token: tok}).Expect(t, 200).JSON(t, &m)
	if m.Status != "submitted" {
		t.Fatalf("mandate after its signature = %s", m.Status)
	}
	return b, tok, m
}

// sepaPayer pays an order of the buyer by SEPA and returns the payment intent's id.
type sepaPayer func(t *testing.T, s *apptest.Server, centerID string, buyer httpapi.Buyer, tok string, m httpapi.Mandate, unitPrice int64) string

// payOverHTTP creates an order and pays it with method sepa_debit over the API.
func payOverHTTP(t *testing.T, s *apptest.Server, centerID string, _ httpapi.Buyer, tok string, m httpapi.Mandate, unitPrice int64) string {
	t.Helper()
	o := createOrder(t, s, tok, orderBody(centerID, line("REF-1", 1, unitPrice, nil)))
	var pi httpapi.PaymentIntent
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: tok,
		Body: map[string]any{"order_id": o.ID, "method": "sepa_debit"}}).Expect(t, 201).JSON(t, &pi)
	if pi.Status != "scheduled" || pi.MandateID == nil || *pi.MandateID != m.ID || pi.CollectionMonth == nil || *pi.CollectionMonth != "2026-11" {
		t.Fatalf("SEPA payment = %+v", pi)
	}
	return pi.ID
}

// insertPayment writes an accepted SEPA payment as the sepa_debit method does (a confirmed order
// and a scheduled intent with the mandate and the Paris month), without its ceiling reservation.
func insertPayment(t *testing.T, s *apptest.Server, centerID string, buyer httpapi.Buyer, _ string, m httpapi.Mandate, unitPrice int64) string {
	t.Helper()
	db := s.App.DB
	now := s.App.Clock.Now()
	total := unitPrice * 12 / 10
	orderID, intentID := id.New(id.Order), id.New(id.PaymentIntent)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, dollars(db, `INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode,
		total_excl_vat, total_vat, total, currency, created_at, updated_at) VALUES (?, ?, ?, 'confirmed', 'delivery', ?, ?, ?, 'EUR', ?, ?)`),
		orderID, buyer.ID, centerID, unitPrice, total-unitPrice, total, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, dollars(db, `INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency,
		method, status, mandate_id, collection_month, created_at, updated_at) VALUES (?, ?, ?, ?, 'EUR', 'sepa_debit', 'scheduled', ?, ?, ?, ?)`),
		intentID, orderID, buyer.ID, total, m.ID, clock.MonthOf(now), now, now); err != nil {
		t.Fatal(err)
	}
	return intentID
}

// dollars numbers the ? placeholders for PostgreSQL.
func dollars(db *storage.DB, q string) string {
	if db.Dialect() != storage.Postgres {
		return q
	}
	var out strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&out, "$%d", n)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// TestSandboxMonthEndDebits is the SEPA month end in sandbox mode, over the API: two buyers pay
// by SEPA in November 2026; moving the test clock past midnight on 1 December runs November's
// close by itself; its collections are submitted; settling them makes one succeed (intents
// succeeded, mandate active) and the closed account's fail (account_closed, the buyer
// suspended for an unpaid debit), and the reinstatement restores the initial ceiling.
func TestSandboxMonthEndDebits(t *testing.T) {
	for _, tc := range []struct {
		name string
		pay  sepaPayer
	}{
		{"payments over the API", payOverHTTP},
		{"payments written as the method writes them", insertPayment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
				runMonthEndDebits(t, b, tc.pay)
			})
		})
	}
}

func runMonthEndDebits(t *testing.T, b storagetest.Backend, pay sepaPayer) {
	base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))
	s := apptest.Start(t, b, apptest.WithBaseClock(base), fastJobs(nil))
	admin := s.Token(t, auth.RoleAdmin, "")
	center := createCenter(t, s, "81234567600017")
	good, goodTok, goodMandate := sandboxSEPABuyer(t, s, "812345676", ibanFR)
	poor, poorTok, poorMandate := sandboxSEPABuyer(t, s, "823456785", ibanClosed)

	goodIntents := []string{
		pay(t, s, center.ID, good, goodTok, goodMandate, 10000), // 120.00 EUR with VAT
		pay(t, s, center.ID, good, goodTok, goodMandate, 5000),  // 60.00 EUR
	}
	poorIntents := []string{pay(t, s, center.ID, poor, poorTok, poorMandate, 10000)}

	// Past midnight in Paris on 1 December: November's close starts by itself.
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: admin,
		Body: map[string]any{"now": "2026-12-01T00:40:00+01:00"}}).Expect(t, 200)
	var mc httpapi.MonthClose
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/2026-11", Token: admin})
		if resp.Status == http.StatusOK {
			resp.JSON(t, &mc)
			if mc.Status != "running" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("November's close did not end: %+v", mc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if mc.Status != "completed" || mc.Collections != 2 || mc.ScoreChecks != 2 || mc.CeilingReviews != 2 {
		t.Fatalf("November's close = %+v", mc)
	}

	collectionOf := func(tok string) httpapi.Collection {
		t.Helper()
		var list httpapi.CollectionList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: tok}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("collections = %+v", list.Data)
		}
		return list.Data[0]
	}
	goodCol, poorCol := collectionOf(goodTok), collectionOf(poorTok)
	if goodCol.Status != "submitted" || goodCol.Amount != 18000 || goodCol.Month != "2026-11" || len(goodCol.PaymentIntentIDs) != 2 ||
		goodCol.MandateID == nil || *goodCol.MandateID != goodMandate.ID || goodCol.SubmittedAt == nil {
		t.Errorf("the good buyer's collection = %+v", goodCol)
	}
	if poorCol.Status != "submitted" || poorCol.Amount != 12000 {
		t.Errorf("the poor buyer's collection = %+v", poorCol)
	}

	// The bank answers.
	s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: admin,
		Body: map[string]any{"now": "2026-12-01T00:41:00+01:00", "settle": true}}).Expect(t, 200)
	deadline = time.Now().Add(30 * time.Second)
	for goodCol.Status == "submitted" || poorCol.Status == "submitted" {
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %+v, %+v", goodCol, poorCol)
		}
		time.Sleep(50 * time.Millisecond)
		goodCol, poorCol = collectionOf(goodTok), collectionOf(poorTok)
	}
	if goodCol.Status != "succeeded" || goodCol.SettledAt == nil || goodCol.FailureCode != nil {
		t.Errorf("the good buyer's collection = %+v", goodCol)
	}
	intentStatus := func(id string) httpapi.PaymentIntent {
		t.Helper()
		var pi httpapi.PaymentIntent
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + id, Token: admin}).Expect(t, 200).JSON(t, &pi)
		return pi
	}
	for _, id := range goodIntents {
		if pi := intentStatus(id); pi.Status != "succeeded" {
			t.Errorf("good intent %s = %s", id, pi.Status)
		}
	}
	var m httpapi.Mandate
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + goodMandate.ID, Token: goodTok}).Expect(t, 200).JSON(t, &m)
	if m.Status != "active" {
		t.Errorf("the good buyer's mandate after its first debit = %s", m.Status)
	}
	// The outstanding is December's: November's collection does not change it.
	var goodProfile httpapi.SEPAProfile
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: goodTok}).Expect(t, 200).JSON(t, &goodProfile)
	if goodProfile.Month != "2026-12" || goodProfile.Outstanding != 0 || !goodProfile.Enabled {
		t.Errorf("the good buyer's profile in December = %+v", goodProfile)
	}

	if poorCol.Status != "failed" || poorCol.FailureCode == nil || *poorCol.FailureCode != "account_closed" {
		t.Errorf("the poor buyer's collection = %+v", poorCol)
	}
	for _, id := range poorIntents {
		if pi := intentStatus(id); pi.Status != "failed" || pi.LastError == nil || pi.LastError.Code != "account_closed" {
			t.Errorf("poor intent %s = %+v", id, pi)
		}
	}
	var profile httpapi.SEPAProfile
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: poorTok}).Expect(t, 200).JSON(t, &profile)
	if !profile.Suspended || profile.Enabled || !slicesContain(profile.Reasons, "unpaid_debit") {
		t.Errorf("the poor buyer's profile = %+v", profile)
	}

	// The close's events, each written with its change: a collection submitted, then settled,
	// with the intents it settles; data.object as the resources' GETs answer now (nothing
	// changed them since).
	expectSettledEvents(t, s, goodTok, goodCol.ID, "sepa_collection.succeeded", "payment_intent.succeeded", goodIntents)
	expectSettledEvents(t, s, poorTok, poorCol.ID, "sepa_collection.failed", "payment_intent.failed", poorIntents)

	// The debt settled, an operator reinstates the buyer: the ceiling restarts at 250.00 EUR.
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/buyers/" + poor.ID + "/sepa-reinstatement", Token: admin}).Expect(t, 200)
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: poorTok}).Expect(t, 200).JSON(t, &profile)
	if profile.Suspended || profile.Ceiling != 25000 || slicesContain(profile.Reasons, "unpaid_debit") {
		t.Errorf("the poor buyer's profile after the reinstatement = %+v", profile)
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// expectSettledEvents checks the events a SEPA buyer sees of its collection's month close:
// sepa_collection.submitted then settled, and one intentType per intent, each data.object equal to
// the resource's GET now.
func expectSettledEvents(t *testing.T, s *apptest.Server, tok, collectionID, settled, intentType string, intents []string) {
	t.Helper()
	var l httpapi.EventList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=sepa_collection.submitted&type=" + settled + "&limit=100", Token: tok}).Expect(t, 200).JSON(t, &l)
	if got := eventTypes(l.Data); !slices.Equal(got, []string{settled, "sepa_collection.submitted"}) {
		t.Fatalf("collection events = %v", got)
	}
	if !jsonEqual(l.Data[0].Data.Object, getJSON(t, s, tok, "/v1/sepa/collections/"+collectionID)) {
		t.Errorf("%s data.object = %s, want the collection's GET", settled, l.Data[0].Data.Object)
	}
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=" + intentType + "&limit=100", Token: tok}).Expect(t, 200).JSON(t, &l)
	seen := map[string]int{}
	for _, e := range l.Data {
		var pi struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(e.Data.Object, &pi)
		seen[pi.ID]++
		if !jsonEqual(e.Data.Object, getJSON(t, s, tok, "/v1/payment-intents/"+pi.ID)) {
			t.Errorf("%s data.object = %s, want the intent's GET", intentType, e.Data.Object)
		}
	}
	for _, id := range intents {
		if seen[id] != 1 {
			t.Errorf("%s events of %s = %d, want 1 (all: %v)", intentType, id, seen[id], seen)
		}
	}
}
