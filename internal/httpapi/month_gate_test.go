package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func getStranded(t *testing.T, s *apptest.Server, month string) httpapi.MonthCloseStranded {
	t.Helper()
	var st httpapi.MonthCloseStranded
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/" + month + "/stranded", Token: s.Token(t, auth.RoleAdmin, "")}).
		Expect(t, 200).JSON(t, &st)
	return st
}

// A SEPA or invoice payment made while its clock still reads November, but after November's close
// began (a process whose copy of the test clock lags, a transaction that started before midnight),
// counts in December: it is collected and invoiced with December, and November's close leaves
// nothing behind. The stranded listing and the metric show what a close left behind.
func TestPaymentsAfterTheCloseBeganCountInTheNextMonth(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		ctx := context.Background()
		s := apptest.Start(t, bk, apptest.WithBaseClock(clock.NewManual(debitStart)), fastJobs(nil))
		e := &debitEnv{s: s, center: createCenter(t, s, "81234567600017"), admin: s.Token(t, auth.RoleAdmin, "")}
		b, _ := e.eligibleBuyer(t, "812345676")
		inv := invEnv{s: s, buyer: b.Buyer, center: e.center, bt: b.tok, ct: s.Token(t, auth.RoleCenter, e.center.ID), at: e.admin}
		inv.approvedAccount(t)

		inv.setClock(t, "2026-11-30T23:59:00+01:00")
		before := decodeIntent(t, e.payBySEPA(t, b, e.order(t, b, 1000).ID).Expect(t, 201))
		if *before.CollectionMonth != "2026-11" {
			t.Fatalf("before the close: collection_month %s", *before.CollectionMonth)
		}
		invBefore := e.order(t, b, 2000)
		inv.payInvoice(t, b.tok, invBefore.ID).Expect(t, 201)

		// November's close begins while the clock still reads November for this process (its job
		// is not enqueued yet: the close only runs below).
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/2026-11/stranded", Token: e.admin}).ExpectProblem(t, 404, "not_found")
		if err := storage.NewMonthCloses(s.App.DB).InTx(ctx, func(tx monthclose.Tx) error {
			return tx.CreateClose(ctx, monthclose.MonthClose{Month: "2026-11", Status: monthclose.StatusRunning, StartedAt: s.App.Clock.Now()})
		}); err != nil {
			t.Fatal(err)
		}
		late := decodeIntent(t, e.payBySEPA(t, b, e.order(t, b, 3000).ID).Expect(t, 201))
		if *late.CollectionMonth != "2026-12" || clock.MonthOf(late.CreatedAt) != "2026-11" {
			t.Errorf("after the close began: collection_month %s, created_at %s; want 2026-12, November", *late.CollectionMonth, late.CreatedAt)
		}
		invLate := e.order(t, b, 4000)
		lateInvoice := decodeIntent(t, inv.payInvoice(t, b.tok, invLate.ID).Expect(t, 201))
		if lateInvoice.CollectionMonth != nil {
			t.Errorf("an invoice intent shows collection_month %s", *lateInvoice.CollectionMonth)
		}
		for month, want := range map[string]int64{"2026-11": 1000, "2026-12": 3000} {
			if got := outstanding(t, s, b.ID, month); got != want {
				t.Errorf("outstanding of %s = %d; want %d", month, got, want)
			}
		}

		// The clock reaches December; an operator's start enqueues the existing close's job.
		inv.setClock(t, "2026-12-01T00:00:30+01:00")
		startClose(t, s, "2026-11").Expect(t, 200)
		c := waitClose(t, s, "2026-11", "completed")
		if c.Collections != 1 || c.Statements != 1 {
			t.Errorf("November's close: %d collections, %d statements; want 1, 1", c.Collections, c.Statements)
		}
		if st := getStranded(t, s, "2026-11"); st.PaymentIntentCount != 0 || st.StatementCount != 0 ||
			len(st.PaymentIntents) != 0 || len(st.Statements) != 0 {
			t.Errorf("November's close left behind %+v", st)
		}
		sts := inv.statements(t, inv.ct, "")
		byMonth := map[string]httpapi.Statement{}
		for _, st := range sts {
			byMonth[st.Month] = st
		}
		if nov, dec := byMonth["2026-11"], byMonth["2026-12"]; nov.Status != "issued" || nov.Total != invBefore.Total ||
			dec.Status != "open" || dec.Total != invLate.Total {
			t.Errorf("statements = %+v", sts)
		}
		metric := func() string {
			t.Helper()
			body := string(s.Do(t, apptest.Request{Method: "GET", Path: "/metrics", SkipContract: true}).Expect(t, 200).Body)
			return grep(body, "vhupay_month_close_stranded{")
		}
		if got := metric(); !strings.Contains(got, `vhupay_month_close_stranded{kind="payment_intent"} 0`) ||
			!strings.Contains(got, `vhupay_month_close_stranded{kind="statement"} 0`) {
			t.Errorf("metric = %q", got)
		}

		// What the listing would show had a payment escaped: the late intent put back in November.
		if _, err := s.App.DB.SQL().ExecContext(ctx, dollars(s.App.DB, "UPDATE payment_intents SET collection_month = ? WHERE id = ?"),
			"2026-11", late.ID); err != nil {
			t.Fatal(err)
		}
		st := getStranded(t, s, "2026-11")
		if st.PaymentIntentCount != 1 || len(st.PaymentIntents) != 1 || st.PaymentIntents[0].ID != late.ID ||
			st.PaymentIntents[0].Amount != 3000 || late.OrderID == nil || st.PaymentIntents[0].OrderID != *late.OrderID {
			t.Errorf("stranded = %+v", st)
		}
		if got := metric(); !strings.Contains(got, `vhupay_month_close_stranded{kind="payment_intent"} 1`) {
			t.Errorf("metric = %q", got)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/2026-09/stranded", Token: e.admin}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/nope/stranded", Token: e.admin}).ExpectProblem(t, 404, "not_found")
	})
}
