package collections_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

const routeDirectDebit = "POST /payins/directdebit/direct"

// TestCollectMonth: one collection per buyer with SEPA payments in the month, for the sum of its
// scheduled sepa_debit intents of that month only; submitted once on the default mandate even
// when the step runs again; a buyer whose mandate was cancelled fails cleanly and the step goes
// on. Then settlement by notifications: success, failure, duplicates, a repudiation and a late
// failure.
func TestCollectMonth(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC))
		a := e.sepaBuyer(t, "812345676", ibanFR)
		bb := e.sepaBuyer(t, "823456785", ibanDE)
		c := e.sepaBuyer(t, "834567893", ibanFR2)
		d := e.sepaBuyer(t, "845678903", ibanFR)
		idle := e.sepaBuyer(t, "856789011", ibanFR)

		aOct := e.sepa(t, a, 500, time.Date(2026, 10, 15, 10, 0, 0, 0, time.UTC))
		a1 := e.sepa(t, a, 1000, time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC))
		a2 := e.sepa(t, a, 2500, time.Date(2026, 11, 30, 22, 59, 0, 0, time.UTC)) // 23:59 in Paris: November
		aDec := e.sepa(t, a, 700, time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) // 00:00 in Paris: December
		e.intent(t, a, 9900, time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC), "card", "succeeded")
		e.intent(t, a, 300, time.Date(2026, 11, 13, 10, 0, 0, 0, time.UTC), "sepa_debit", "failed")
		b1 := e.sepa(t, bb, 4000, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
		c1 := e.sepa(t, c, 1500, time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC))
		d1 := e.sepa(t, d, 1200, time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC))
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + c.Mandate.ID + "/cancel", Token: c.Token}).Expect(t, 200)

		svc := e.s.App.Collections
		e.clock.Set(time.Date(2026, 11, 1, 0, 5, 0, 0, time.UTC))
		if n, err := svc.CollectMonth(ctx, "2026-10", &progress{}); err != nil || n != 1 {
			t.Fatalf("October: %d, %v", n, err)
		}
		e.clock.Set(time.Date(2026, 11, 30, 23, 10, 0, 0, time.UTC)) // 1 December, 00:10 in Paris
		p := &progress{}
		n, err := svc.CollectMonth(ctx, "2026-11", p)
		if err != nil || n != 4 {
			t.Fatalf("November: %d collections, %v; want 4", n, err)
		}
		if p.done != 4 || p.total != 4 {
			t.Errorf("progress reported = %d of %d, want 4 of 4", p.done, p.total)
		}
		if got := e.fake.Created("payins"); got != 4 { // October's and three of November's
			t.Errorf("pay-ins created = %d, want 4", got)
		}

		colsA := e.collectionsOf(t, a.ID)
		if len(colsA) != 2 || colsA[0].Month != "2026-11" || colsA[1].Month != "2026-10" {
			t.Fatalf("A's collections = %+v", colsA)
		}
		colA := colsA[0]
		want := httpapi.Collection{ID: colA.ID, Month: "2026-11", Amount: 3500, Currency: "EUR", Status: "submitted",
			MandateID: &a.Mandate.ID, PaymentIntentIDs: []string{a1, a2}, CreatedAt: colA.CreatedAt, SubmittedAt: colA.SubmittedAt,
			DueDate: ptr("2026-12-03"), PrenotifiedAt: colA.PrenotifiedAt, MandateReference: e.mandate(t, a).Reference,
			CreditorID: ptr("FR72ZZZ123456"), Attempts: 1}
		if diff := cmp.Diff(want, colA); diff != "" {
			t.Errorf("A's November collection (-want +got):\n%s", diff)
		}
		if colA.SubmittedAt == nil || colsA[1].Amount != 500 || !cmp.Equal(colsA[1].PaymentIntentIDs, []string{aOct}) {
			t.Errorf("A's collections: %+v", colsA)
		}
		if e.intentStatus(t, aDec).Status != "scheduled" {
			t.Error("December's payment left scheduled? it should be")
		}
		colB := e.only(t, bb.ID)
		if colB.Amount != 4000 || colB.Status != "submitted" || !cmp.Equal(colB.PaymentIntentIDs, []string{b1}) {
			t.Errorf("B's collection = %+v", colB)
		}
		// C's mandate was cancelled: a clean failure, an unpaid debit, a suspension.
		colC := e.only(t, c.ID)
		if colC.Status != "failed" || colC.FailureCode == nil || *colC.FailureCode != "mandate_cancelled" || colC.MandateID != nil || colC.SettledAt == nil {
			t.Errorf("C's collection = %+v", colC)
		}
		if pi := e.intentStatus(t, c1); pi.Status != "failed" || pi.LastError == nil || pi.LastError.Code != "mandate_cancelled" {
			t.Errorf("C's intent = %+v", pi)
		}
		if p := e.profile(t, c.ID); !p.Suspended || !contains(p.Reasons, "unpaid_debit") {
			t.Errorf("C's profile = %+v", p)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, c.ID); got != 1 {
			t.Errorf("C's unpaid debits = %d", got)
		}
		if len(e.collectionsOf(t, idle.ID)) != 0 {
			t.Error("a buyer without SEPA payments got a collection")
		}

		// The step again, from its beginning: nothing new, no provider call.
		calls := e.fake.Calls(routeDirectDebit)
		if n, err := svc.CollectMonth(ctx, "2026-11", &progress{}); err != nil || n != 4 {
			t.Fatalf("again: %d, %v", n, err)
		}
		if e.fake.Created("payins") != 4 || e.fake.Calls(routeDirectDebit) != calls {
			t.Errorf("the step again called the provider: %d created, %d calls (was %d)", e.fake.Created("payins"), e.fake.Calls(routeDirectDebit), calls)
		}
		// Pre-notified once each (October's and November's), never again by a re-run.
		if got := e.count(t, `SELECT COUNT(*) FROM events WHERE type = 'sepa_collection.prenotified'`); got != 5 {
			t.Errorf("sepa_collection.prenotified events = %d, want 5", got)
		}

		// A's debit succeeds: collection, intents, mandate.
		payA := e.payInOf(t, colA.ID)
		if err := e.fake.SettleDirectDebit(payA, ""); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, payA)
		colA = e.collectionsOf(t, a.ID)[0]
		if colA.Status != "succeeded" || colA.SettledAt == nil || colA.FailureCode != nil {
			t.Errorf("A after success = %+v", colA)
		}
		for _, id := range []string{a1, a2} {
			if pi := e.intentStatus(t, id); pi.Status != "succeeded" {
				t.Errorf("A's intent %s = %s", id, pi.Status)
			}
		}
		if m := e.mandate(t, a); m.Status != "active" {
			t.Errorf("A's mandate after its first debit = %s", m.Status)
		}

		// B's debit bounces: account closed (insufficient funds is presented again: see
		// TestRepresentation).
		payB := e.payInOf(t, colB.ID)
		if err := e.fake.SettleDirectDebit(payB, "001801"); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, payB)
		colB = e.only(t, bb.ID)
		if colB.Status != "failed" || *colB.FailureCode != "account_closed" {
			t.Errorf("B after failure = %+v", colB)
		}
		if pi := e.intentStatus(t, b1); pi.Status != "failed" || pi.LastError == nil || pi.LastError.Code != "account_closed" {
			t.Errorf("B's intent = %+v", pi)
		}
		if p := e.profile(t, bb.ID); !p.Suspended || !contains(p.Reasons, "unpaid_debit") {
			t.Errorf("B's profile = %+v", p)
		}
		if m := e.mandate(t, bb); m.Status != "submitted" {
			t.Errorf("B's mandate after a failed debit = %s", m.Status)
		}

		// Duplicates change nothing; after a reinstatement, an old failure does not suspend again.
		e.notify(t, psp.ResourcePayIn, payA)
		e.notify(t, psp.ResourcePayIn, payB)
		if got := e.collectionsOf(t, a.ID)[0]; !cmp.Equal(got, colA) {
			t.Errorf("A changed on a duplicate: %+v", got)
		}
		if got := e.only(t, bb.ID); !cmp.Equal(got, colB) {
			t.Errorf("B changed on a duplicate: %+v", got)
		}
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/buyers/" + bb.ID + "/sepa-reinstatement", Token: e.admin}).Expect(t, 200)
		e.notify(t, psp.ResourcePayIn, payB)
		if p := e.profile(t, bb.ID); p.Suspended || p.Ceiling != 25000 {
			t.Errorf("B after reinstatement and a duplicate notification = %+v", p)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ?`, bb.ID); got != 1 {
			t.Errorf("B's unpaid debits = %d", got)
		}

		// A's bank takes the money back: a repudiation, an unpaid debit after success.
		repudiation, err := e.fake.Repudiate(payA)
		if err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourceRepudiation, repudiation)
		e.notify(t, psp.ResourceRepudiation, repudiation)
		colA = e.collectionsOf(t, a.ID)[0]
		if colA.Status != "failed" || *colA.FailureCode != "payment_disputed" {
			t.Errorf("A after the repudiation = %+v", colA)
		}
		for _, id := range []string{a1, a2} {
			if pi := e.intentStatus(t, id); pi.Status != "succeeded" {
				t.Errorf("A's intent %s after the repudiation = %s, want it to stay succeeded", id, pi.Status)
			}
		}
		if p := e.profile(t, a.ID); !p.Suspended || !contains(p.Reasons, "unpaid_debit") {
			t.Errorf("A's profile after the repudiation = %+v", p)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_unpaid_debits WHERE buyer_id = ? AND after_success = ? AND reference = ?`,
			a.ID, true, repudiation); got != 1 {
			t.Errorf("A's unpaid debits after success = %d", got)
		}
		// A success notification arriving late changes nothing.
		e.notify(t, psp.ResourcePayIn, payA)
		if got := e.collectionsOf(t, a.ID)[0]; got.Status != "failed" {
			t.Errorf("A after a late success notification = %s", got.Status)
		}

		// D succeeds, then its pay-in is reported failed (a late failure).
		colD := e.only(t, d.ID)
		payD := e.payInOf(t, colD.ID)
		if err := e.fake.SettleDirectDebit(payD, ""); err != nil {
			t.Fatal(err)
		}
		e.notify(t, psp.ResourcePayIn, payD)
		late := psp.PayIn{ID: payD, Method: psp.PayInDirectDebit, Status: psp.PayInFailed, Failure: psp.FailureAccountClosed}
		if err := svc.ApplyDirectDebit(ctx, late); err != nil {
			t.Fatal(err)
		}
		if err := svc.ApplyDirectDebit(ctx, late); err != nil {
			t.Fatal(err)
		}
		colD = e.only(t, d.ID)
		if colD.Status != "failed" || *colD.FailureCode != "account_closed" {
			t.Errorf("D after a late failure = %+v", colD)
		}
		if pi := e.intentStatus(t, d1); pi.Status != "succeeded" {
			t.Errorf("D's intent after a late failure = %s", pi.Status)
		}
		if p := e.profile(t, d.ID); !p.Suspended {
			t.Errorf("D not suspended after a late failure")
		}
		// A pay-in of no collection is ignored.
		if err := svc.ApplyDirectDebit(ctx, psp.PayIn{ID: "payin_unknown", Status: psp.PayInFailed}); err != nil {
			t.Errorf("unknown pay-in: %v", err)
		}
	})
}

// TestCollectionEndpoints: a buyer sees its own collections only, pages newest first; an admin
// reads any; unknown ids and buyers answer 404.
func TestCollectionEndpoints(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 8, 5, 9, 0, 0, 0, time.UTC))
		a := e.sepaBuyer(t, "812345676", ibanFR)
		other := e.sepaBuyer(t, "823456785", ibanDE)
		for _, m := range []time.Time{
			time.Date(2026, 8, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC),
		} {
			e.sepa(t, a, 1000, m)
			e.sepa(t, other, 2000, m)
		}
		for _, month := range []string{"2026-08", "2026-09", "2026-10"} {
			if _, err := e.s.App.Collections.CollectMonth(ctx, month, &progress{}); err != nil {
				t.Fatal(err)
			}
		}
		var page1, page2 httpapi.CollectionList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections?limit=2", Token: a.Token}).Expect(t, 200).JSON(t, &page1)
		if len(page1.Data) != 2 || !page1.HasMore || page1.NextCursor == "" || page1.Data[0].Month != "2026-10" || page1.Data[1].Month != "2026-09" {
			t.Fatalf("first page = %+v", page1)
		}
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections?limit=2&cursor=" + page1.NextCursor, Token: a.Token}).Expect(t, 200).JSON(t, &page2)
		if len(page2.Data) != 1 || page2.HasMore || page2.Data[0].Month != "2026-08" {
			t.Fatalf("second page = %+v", page2)
		}
		var one httpapi.Collection
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + page2.Data[0].ID, Token: a.Token}).Expect(t, 200).JSON(t, &one)
		if !cmp.Equal(one, page2.Data[0]) {
			t.Errorf("one = %+v, listed %+v", one, page2.Data[0])
		}
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + one.ID, Token: e.admin}).Expect(t, 200)
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/" + one.ID, Token: other.Token}).ExpectProblem(t, 404, "not_found")
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections/col_unknown", Token: a.Token}).ExpectProblem(t, 404, "not_found")
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/byr_unknown/sepa/collections", Token: e.admin}).ExpectProblem(t, 404, "not_found")
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections?limit=0", Token: a.Token}).ExpectProblem(t, 422, "validation_failed")
		var others httpapi.CollectionList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: other.Token}).Expect(t, 200).JSON(t, &others)
		if len(others.Data) != 3 || others.Data[0].Amount != 2000 {
			t.Errorf("the other buyer's collections = %+v", others.Data)
		}
	})
}

// faultyProvider lets the test break the provider at chosen direct-debit calls.
type faultyProvider struct {
	collections.Provider
	fake  *mangopaytest.Server
	calls atomic.Int32
	// loseAnswer: on this call the debit is made but its answer is lost.
	loseAnswer int32
	// outageFrom: from this call on, the provider is rate-limiting every call.
	outageFrom int32
}

func (p *faultyProvider) CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	n := p.calls.Add(1)
	if n == p.outageFrom {
		p.fake.InjectFault(mangopaytest.Fault{Route: routeDirectDebit, Status: 429})
	}
	payIn, err := p.Provider.CreateDirectDebitPayIn(ctx, req)
	if n == p.loseAnswer && err == nil {
		return psp.PayIn{}, errors.Join(psp.ErrUnavailable, errors.New("connection reset after the request was sent"))
	}
	return payIn, err
}

// TestCollectMonthProviderOutage: an answer lost after the provider made the debit, then an
// outage in the middle of the step: the step fails, and its next run completes with exactly one
// pay-in per collection.
func TestCollectMonthProviderOutage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		buyers := []buyer{e.sepaBuyer(t, "812345676", ibanFR), e.sepaBuyer(t, "823456785", ibanDE), e.sepaBuyer(t, "834567893", ibanFR2)}
		for i, by := range buyers {
			e.sepa(t, by, int64(1000*(i+1)), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		}
		e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		provider := &faultyProvider{Provider: e.s.App.Provider, fake: e.fake, loseAnswer: 1, outageFrom: 4}
		svc := e.newService(provider, 1)
		p := &progress{}

		// 1st run: the first debit is made, its answer lost.
		if _, err := svc.CollectMonth(ctx, "2026-11", p); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("first run: %v, want psp.ErrUnavailable", err)
		}
		if e.fake.Created("payins") != 1 || e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'pending'`) != 3 {
			t.Fatalf("after the lost answer: %d pay-ins", e.fake.Created("payins"))
		}
		// 2nd run: the first comes back from the provider, the second is made, then an outage.
		if _, err := svc.CollectMonth(ctx, "2026-11", p); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("second run: %v, want psp.ErrUnavailable", err)
		}
		if got := e.fake.Created("payins"); got != 2 {
			t.Errorf("pay-ins after the outage = %d, want 2", got)
		}
		if got := e.count(t, `SELECT COUNT(*) FROM sepa_collections WHERE status = 'submitted'`); got != 2 {
			t.Errorf("submitted during the outage = %d, want 2", got)
		}
		// The provider is back: the step completes, without a duplicate.
		e.fake.ClearFaults()
		n, err := svc.CollectMonth(ctx, "2026-11", p)
		if err != nil || n != 3 {
			t.Fatalf("last run: %d, %v", n, err)
		}
		if got := e.fake.Created("payins"); got != 3 {
			t.Errorf("pay-ins = %d, want 3", got)
		}
		seen := map[string]bool{}
		for _, by := range buyers {
			col := e.only(t, by.ID)
			pay := e.payInOf(t, col.ID)
			if col.Status != "submitted" || seen[pay] {
				t.Errorf("collection %+v with pay-in %s", col, pay)
			}
			seen[pay] = true
		}
	})
}

// TestParisMonthEdges: payments accepted just before and just after midnight in Paris, in winter
// (UTC+1) and in summer (UTC+2), land in the collections of the right months.
func TestParisMonthEdges(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
		a := e.sepaBuyer(t, "812345676", ibanFR)
		jan := e.sepa(t, a, 101, time.Date(2026, 1, 31, 22, 59, 0, 0, time.UTC))
		feb := e.sepa(t, a, 102, time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
		jul := e.sepa(t, a, 107, time.Date(2026, 7, 31, 21, 59, 0, 0, time.UTC))
		aug := e.sepa(t, a, 108, time.Date(2026, 7, 31, 22, 0, 0, 0, time.UTC))
		for _, month := range []string{"2026-01", "2026-02", "2026-07", "2026-08"} {
			if n, err := e.s.App.Collections.CollectMonth(ctx, month, &progress{}); err != nil || n != 1 {
				t.Fatalf("%s: %d, %v", month, n, err)
			}
		}
		got := map[string][]string{}
		amounts := map[string]int64{}
		for _, c := range e.collectionsOf(t, a.ID) {
			got[c.Month], amounts[c.Month] = c.PaymentIntentIDs, c.Amount
		}
		want := map[string][]string{"2026-01": {jan}, "2026-02": {feb}, "2026-07": {jul}, "2026-08": {aug}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("intents by month (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int64{"2026-01": 101, "2026-02": 102, "2026-07": 107, "2026-08": 108}, amounts); diff != "" {
			t.Errorf("amounts by month (-want +got):\n%s", diff)
		}
	})
}

// TestReconcile: the safety net reads the pay-ins of collections submitted long enough ago,
// at most once per period each, and applies them as a notification would.
func TestReconcile(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := start(t, b, time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC))
		late, waiting := e.sepaBuyer(t, "812345676", ibanFR), e.sepaBuyer(t, "823456785", ibanDE)
		lateIntent := e.sepa(t, late, 1000, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		e.sepa(t, waiting, 2000, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		svc := e.s.App.Collections
		if _, err := svc.CollectMonth(ctx, "2026-11", &progress{}); err != nil {
			t.Fatal(err)
		}
		colLate := e.only(t, late.ID)
		// The bank answered, but the notification was lost.
		if err := e.fake.SettleDirectDebit(e.payInOf(t, colLate.ID), "001801"); err != nil {
			t.Fatal(err)
		}
		reads := func() int { return e.fake.Calls("GET /payins/{id}") }
		before := reads()
		if n, err := svc.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("too early: %d, %v", n, err)
		}
		e.clock.Advance(7 * time.Hour)
		if n, err := svc.Reconcile(ctx); err != nil || n != 2 {
			t.Fatalf("after 7 hours: %d, %v; want 2", n, err)
		}
		if got := e.only(t, late.ID); got.Status != "failed" || *got.FailureCode != "account_closed" {
			t.Errorf("the late collection = %+v", got)
		}
		if pi := e.intentStatus(t, lateIntent); pi.Status != "failed" {
			t.Errorf("its intent = %s", pi.Status)
		}
		if got := e.only(t, waiting.ID); got.Status != "submitted" {
			t.Errorf("the waiting collection = %+v", got)
		}
		// The waiting one is read again only after PollEvery.
		e.clock.Advance(30 * time.Minute)
		if n, err := svc.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("within the hour: %d, %v", n, err)
		}
		e.fake.InjectFault(mangopaytest.Fault{Route: "GET /payins/{id}", Status: 503})
		e.clock.Advance(time.Hour)
		if _, err := svc.Reconcile(ctx); !errors.Is(err, psp.ErrUnavailable) {
			t.Fatalf("during an outage: %v", err)
		}
		e.fake.ClearFaults()
		if err := e.fake.SettleDirectDebit(e.payInOf(t, e.only(t, waiting.ID).ID), ""); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Reconcile(ctx); err != nil || n != 1 {
			t.Fatalf("after the outage: %d, %v", n, err)
		}
		if got := e.only(t, waiting.ID); got.Status != "succeeded" {
			t.Errorf("the waiting collection = %+v", got)
		}
		if reads()-before < 3 {
			t.Errorf("pay-in reads = %d", reads()-before)
		}
	})
}
