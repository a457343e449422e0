package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// invEnv is a server with two buyers, two centres and their tokens, the test clock set to the
// middle of November 2099.
type invEnv struct {
	s                        *apptest.Server
	buyer, other             httpapi.Buyer
	center, center2          httpapi.Center
	bt, ot, ct, c2t, at, svc string
}

func startInvoicing(t *testing.T, b storagetest.Backend) invEnv {
	t.Helper()
	s := apptest.Start(t, b)
	e := invEnv{s: s, buyer: createBuyer(t, s, "812345676"), other: createBuyer(t, s, "823456785"),
		center: createCenter(t, s, "81234567600017"), center2: createCenter(t, s, "82345678500018")}
	e.bt, e.ot = s.Token(t, auth.RoleBuyer, e.buyer.ID), s.Token(t, auth.RoleBuyer, e.other.ID)
	e.ct, e.c2t = s.Token(t, auth.RoleCenter, e.center.ID), s.Token(t, auth.RoleCenter, e.center2.ID)
	e.at, e.svc = s.Token(t, auth.RoleAdmin, ""), s.Token(t, auth.RoleService, "")
	e.setClock(t, "2099-11-10T09:00:00+01:00")
	return e
}

func (e invEnv) setClock(t *testing.T, now string) {
	t.Helper()
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.at, Body: map[string]any{"now": now}}).Expect(t, 200)
}

func (e invEnv) ask(t *testing.T, token, centerID string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts", Token: token, Body: map[string]any{"center_id": centerID}})
}

func (e invEnv) askOK(t *testing.T, token, centerID string) httpapi.InvoicingAccount {
	t.Helper()
	var a httpapi.InvoicingAccount
	e.ask(t, token, centerID).Expect(t, 201).JSON(t, &a)
	return a
}

func (e invEnv) decide(t *testing.T, token, accountID, decision string, body any) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts/" + accountID + "/" + decision, Token: token, Body: body})
}

func (e invEnv) decideOK(t *testing.T, token, accountID, decision string) httpapi.InvoicingAccount {
	t.Helper()
	var a httpapi.InvoicingAccount
	e.decide(t, token, accountID, decision, nil).Expect(t, 200).JSON(t, &a)
	return a
}

func (e invEnv) payInvoice(t *testing.T, token, orderID string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: token,
		Body: map[string]any{"order_id": orderID, "method": "vhu_invoice"}})
}

func (e invEnv) note(t *testing.T, token, orderID, kind, number string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders/" + orderID + "/delivery-notes", Token: token,
		Body: map[string]any{"kind": kind, "number": number}})
}

func (e invEnv) statements(t *testing.T, token, query string) []httpapi.Statement {
	t.Helper()
	var l httpapi.StatementList
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements" + query, Token: token}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

func (e invEnv) statement(t *testing.T, token, id string) httpapi.Statement {
	t.Helper()
	var st httpapi.Statement
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + id, Token: token}).Expect(t, 200).JSON(t, &st)
	return st
}

func (e invEnv) intent(t *testing.T, token, id string) httpapi.PaymentIntent {
	t.Helper()
	var pi httpapi.PaymentIntent
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + id, Token: token}).Expect(t, 200).JSON(t, &pi)
	return pi
}

// approvedAccount asks the centre for the buyer and approves.
func (e invEnv) approvedAccount(t *testing.T) httpapi.InvoicingAccount {
	t.Helper()
	a := e.askOK(t, e.bt, e.center.ID)
	return e.decideOK(t, e.ct, a.ID, "approve")
}

func TestInvoicingEndToEnd(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		s := e.s
		ctx := context.Background()

		// The buyer asks; a second live request for the pair is refused; an unknown centre is a field error.
		acct := e.askOK(t, e.bt, e.center.ID)
		if acct.Status != "pending" || acct.BuyerID != e.buyer.ID || acct.CenterID != e.center.ID || acct.Note != nil || acct.DecidedAt != nil ||
			!strings.HasPrefix(acct.ID, "ina_") {
			t.Fatalf("new account = %+v", acct)
		}
		e.ask(t, e.bt, e.center.ID).ExpectProblem(t, 409, "invoicing_account_exists")
		expectFields(t, e.ask(t, e.bt, "ctr_nope").ExpectProblem(t, 422, "validation_failed"), "center_id")
		expectFields(t, e.ask(t, s.Token(t, auth.RoleBuyer, "byr_nope"), e.center.ID).ExpectProblem(t, 422, "validation_failed"), "buyer_id")
		expectFields(t, s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts", Token: e.bt, Body: map[string]any{}}).
			ExpectProblem(t, 422, "validation_failed"), "center_id")

		orderA := createOrder(t, s, e.bt, orderBody(e.center.ID, line("A1", 2, 10000, 2000), line("A2", 1, 3333, 550)))
		orderB := createOrder(t, s, e.bt, orderBody(e.center.ID, line("B1", 1, 12345, 1000), line("B2", 3, 500, 0)))
		pending := createOrder(t, s, e.bt, orderBody(e.center.ID, line("C1", 1, 100, nil)))

		// Not approved yet: vhu_invoice is refused and the order stays payable.
		e.payInvoice(t, e.bt, orderA.ID).ExpectProblem(t, 409, "invoicing_not_approved")
		if o := getOrder(t, s, e.bt, orderA.ID); o.Status != "payment_pending" {
			t.Fatalf("order after a refused payment: %s", o.Status)
		}

		// Accounts are seen by their buyer, their centre and admins only.
		var got httpapi.InvoicingAccount
		for _, tok := range []string{e.bt, e.ct, e.at} {
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts/" + acct.ID, Token: tok}).Expect(t, 200).JSON(t, &got)
			if diff := cmp.Diff(acct, got); diff != "" {
				t.Errorf("GET account (-created +got):\n%s", diff)
			}
		}
		for _, tok := range []string{e.ot, e.c2t} {
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts/" + acct.ID, Token: tok}).ExpectProblem(t, 404, "not_found")
		}
		e.decide(t, e.ot, acct.ID, "approve", nil).ExpectProblem(t, 403, "forbidden")
		e.decide(t, e.c2t, acct.ID, "approve", nil).ExpectProblem(t, 404, "not_found")
		var list httpapi.InvoicingAccountList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts?status=pending", Token: e.ct}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != acct.ID {
			t.Errorf("centre's pending accounts = %+v", list.Data)
		}
		for _, tok := range []string{e.ot, e.c2t} {
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts", Token: tok}).Expect(t, 200).JSON(t, &list)
			if len(list.Data) != 0 {
				t.Errorf("another organisation lists %+v", list.Data)
			}
		}

		// The centre approves with a note.
		var approved httpapi.InvoicingAccount
		e.decide(t, e.ct, acct.ID, "approve", map[string]any{"note": "Client fidèle"}).Expect(t, 200).JSON(t, &approved)
		if approved.Status != "approved" || approved.Note == nil || *approved.Note != "Client fidèle" || approved.DecidedAt == nil {
			t.Fatalf("approved account = %+v", approved)
		}

		// Pay both orders at the end of the month: scheduled with the account, orders confirmed.
		var intents []httpapi.PaymentIntent
		for _, o := range []httpapi.Order{orderA, orderB} {
			var pi httpapi.PaymentIntent
			e.payInvoice(t, e.bt, o.ID).Expect(t, 201).JSON(t, &pi)
			if pi.Status != "scheduled" || pi.Method != "vhu_invoice" || pi.InvoicingAccountID == nil || *pi.InvoicingAccountID != acct.ID ||
				pi.Amount != o.Total || pi.MandateID != nil || pi.CollectionMonth != nil {
				t.Fatalf("vhu_invoice intent = %+v", pi)
			}
			got := getOrder(t, s, e.bt, o.ID)
			if got.Status != "confirmed" || got.Payment == nil || got.Payment.IntentID != pi.ID || got.Payment.Status != "scheduled" {
				t.Fatalf("paid order = %+v", got)
			}
			intents = append(intents, pi)
		}

		// Delivery notes: the seller only, on confirmed orders, numbers unique per centre.
		var bl, br httpapi.DeliveryNote
		e.note(t, e.ct, orderA.ID, "BL", "BL-2099-001").Expect(t, 201).JSON(t, &bl)
		if bl.Kind != "BL" || bl.Number != "BL-2099-001" || bl.CreatedAt.IsZero() {
			t.Errorf("BL = %+v", bl)
		}
		e.note(t, e.ct, orderB.ID, "BR", "  BR-7  ").Expect(t, 201).JSON(t, &br)
		if br.Number != "BR-7" {
			t.Errorf("BR number = %q, want it trimmed", br.Number)
		}
		e.note(t, e.ct, orderB.ID, "BR", "BL-2099-001").ExpectProblem(t, 409, "delivery_note_exists")
		e.note(t, e.ct, pending.ID, "BL", "BL-2099-002").ExpectProblem(t, 409, "order_not_confirmed")
		e.note(t, e.c2t, orderA.ID, "BL", "BL-2099-003").ExpectProblem(t, 404, "not_found")
		e.note(t, e.ct, "ord_nope", "BL", "BL-2099-004").ExpectProblem(t, 404, "not_found")
		for _, tok := range []string{e.bt, e.at, e.svc} {
			e.note(t, tok, orderA.ID, "BL", "BL-2099-005").ExpectProblem(t, 403, "forbidden")
		}
		expectFields(t, e.note(t, e.ct, orderA.ID, "XX", "").ExpectProblem(t, 422, "validation_failed"), "kind", "number")
		expectFields(t, e.note(t, e.ct, orderA.ID, "bl", "a\tb").ExpectProblem(t, 422, "validation_failed"), "kind", "number")
		// Another centre may use the same number.
		orderOther := createOrder(t, s, e.ot, orderBody(e.center2.ID, line("Z", 1, 100, nil)))
		e.decideOK(t, e.c2t, e.askOK(t, e.ot, e.center2.ID).ID, "approve")
		e.payInvoice(t, e.ot, orderOther.ID).Expect(t, 201)
		e.note(t, e.c2t, orderOther.ID, "BL", "BL-2099-001").Expect(t, 201)
		if o := getOrder(t, s, e.bt, orderA.ID); len(o.DeliveryNotes) != 1 || o.DeliveryNotes[0].Number != "BL-2099-001" {
			t.Errorf("order A notes = %+v", o.DeliveryNotes)
		}

		// During the month the statement is open and lists both orders with their notes.
		wantOrders := []httpapi.StatementOrder{
			{OrderID: orderA.ID, DeliveryNotes: []httpapi.DeliveryNote{bl}, TotalExclVAT: 23333, TotalVAT: 4183, Total: 27516},
			{OrderID: orderB.ID, DeliveryNotes: []httpapi.DeliveryNote{br}, TotalExclVAT: 13845, TotalVAT: 1235, Total: 15080},
		}
		wantVAT := []httpapi.VATLine{{Rate: 0, Base: 1500, VAT: 0}, {Rate: 550, Base: 3333, VAT: 183}, {Rate: 1000, Base: 12345, VAT: 1235}, {Rate: 2000, Base: 20000, VAT: 4000}}
		open := e.statements(t, e.bt, "?month=2099-11")
		if len(open) != 1 {
			t.Fatalf("buyer's November statements = %+v", open)
		}
		st := open[0]
		want := httpapi.Statement{ID: st.ID, InvoicingAccountID: acct.ID, BuyerID: e.buyer.ID, CenterID: e.center.ID, Month: "2099-11",
			Status: "open", Orders: wantOrders, Credits: []httpapi.StatementCredit{}, TotalExclVAT: 37178, TotalVAT: 5418, Total: 42596, VATBreakdown: wantVAT, Currency: "EUR"}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Fatalf("open statement (-want +got):\n%s", diff)
		}
		if orderA.Total+orderB.Total != st.Total {
			t.Errorf("statement total %d, orders %d + %d", st.Total, orderA.Total, orderB.Total)
		}
		for _, tok := range []string{e.ct, e.at} {
			if diff := cmp.Diff(st, e.statement(t, tok, st.ID)); diff != "" {
				t.Errorf("GET statement (-list +get):\n%s", diff)
			}
		}
		for _, tok := range []string{e.ot, e.c2t} {
			if l := e.statements(t, tok, ""); slices.ContainsFunc(l, func(x httpapi.Statement) bool { return x.ID == st.ID }) {
				t.Errorf("another organisation lists %+v", l)
			}
			for _, p := range []string{st.ID, st.ID + "/export.csv", st.ID + "/export.pdf"} {
				s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + p, Token: tok}).ExpectProblem(t, 404, "not_found")
			}
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ot}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.c2t}).ExpectProblem(t, 404, "not_found")
		if l := e.statements(t, e.bt, "?month=2099-10"); len(l) != 0 {
			t.Errorf("October statements = %+v", l)
		}
		if l := e.statements(t, e.at, "?status=open&center_id="+e.center.ID); len(l) != 1 || l[0].ID != st.ID {
			t.Errorf("admin's open statements of the centre = %+v", l)
		}
		expectFields(t, s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements?month=2099-13", Token: e.bt}).ExpectProblem(t, 422, "validation_failed"), "month")
		expectFields(t, s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements?status=late", Token: e.bt}).ExpectProblem(t, 422, "validation_failed"), "status")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ct}).ExpectProblem(t, 409, "invalid_transition")

		// The month has not ended: nothing is issued.
		if _, err := s.App.Invoicing.IssueMonth(ctx, "2099-11"); !errors.Is(err, invoicing.ErrMonthNotEnded) {
			t.Fatalf("IssueMonth during the month: %v, want ErrMonthNotEnded", err)
		}
		if _, err := s.App.Invoicing.IssueMonth(ctx, "2099-1"); !errors.Is(err, invoicing.ErrInvalidMonth) {
			t.Fatalf("IssueMonth(2099-1): %v, want ErrInvalidMonth", err)
		}

		// Month close: issued once (this pair's statement and the other pair's), totals frozen.
		e.setClock(t, "2099-12-01T00:30:00+01:00")
		for i, wantN := range []int{2, 2} { // the month's count, the same on a re-run
			n, err := s.App.Invoicing.IssueMonth(ctx, "2099-11")
			if err != nil || n != wantN {
				t.Fatalf("IssueMonth call %d = %d, %v; want %d", i+1, n, err, wantN)
			}
		}
		issued := e.statement(t, e.bt, st.ID)
		if issued.Status != "issued" || issued.IssuedAt == nil || issued.IssuedAt.Sub(mustTime(t, "2099-11-30T23:30:00Z")).Abs() > time.Minute || issued.PaidAt != nil {
			t.Fatalf("issued statement = %+v", issued)
		}
		want.Status, want.IssuedAt = "issued", issued.IssuedAt
		if diff := cmp.Diff(want, issued); diff != "" {
			t.Errorf("issued statement (-want +got):\n%s", diff)
		}

		// The aliases /v1/statements/{id}.csv and .pdf answer the same documents.
		aliasCSV := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + ".csv", Token: e.ct, SkipContract: true}).Expect(t, 200)
		aliasPDF := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + ".pdf", Token: e.bt, SkipContract: true}).Expect(t, 200)
		if !strings.HasPrefix(aliasPDF.Header.Get("Content-Type"), "application/pdf") {
			t.Errorf("PDF alias Content-Type = %q", aliasPDF.Header.Get("Content-Type"))
		}

		// CSV, parsed back.
		r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + "/export.csv", Token: e.ct}).Expect(t, 200)
		if !bytes.Equal(r.Body, aliasCSV.Body) {
			t.Error("the .csv alias answers another document")
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("CSV Content-Type = %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, st.ID+".csv") {
			t.Errorf("CSV Content-Disposition = %q", cd)
		}
		if !bytes.HasPrefix(r.Body, []byte("\ufeff")) {
			t.Fatalf("CSV has no byte order mark: %q", r.Body[:min(20, len(r.Body))])
		}
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff"))))
		cr.Comma, cr.FieldsPerRecord = ';', -1
		records, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v", err)
		}
		find := func(first string, cells ...string) bool {
			return slices.ContainsFunc(records, func(rec []string) bool {
				if len(rec) == 0 || rec[0] != first {
					return false
				}
				for _, c := range cells {
					if !slices.Contains(rec, c) {
						return false
					}
				}
				return true
			})
		}
		checks := []struct {
			first string
			cells []string
		}{
			{"Relevé mensuel", []string{st.ID}},
			{"Mois", []string{"2099-11"}},
			{"Vendeur", []string{"SIRET", e.center.SIRET}},
			{"Acheteur", []string{"SIREN", e.buyer.SIREN}},
			{orderA.ID, []string{"BL BL-2099-001", "A1", "2", "100,00", "20", "200,00", "40,00", "240,00"}},
			{orderA.ID, []string{"A2", "33,33", "5,5", "1,83", "35,16"}},
			{orderB.ID, []string{"BR BR-7", "B1", "123,45", "10", "12,35", "135,80"}},
			{"Total", []string{"371,78", "54,18", "425,96"}},
			{"TVA", []string{"0", "15,00", "0,00"}},
			{"TVA", []string{"5,5", "33,33", "1,83", "35,16"}},
			{"TVA", []string{"10", "123,45", "12,35", "135,80"}},
			{"TVA", []string{"20", "200,00", "40,00", "240,00"}},
		}
		for _, c := range checks {
			if !find(c.first, c.cells...) {
				t.Errorf("CSV has no row %q with %q:\n%s", c.first, c.cells, r.Body)
			}
		}

		// PDF, its text extracted.
		r = s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + "/export.pdf", Token: e.bt}).Expect(t, 200)
		if ct := r.Header.Get("Content-Type"); ct != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF-")) {
			t.Fatalf("PDF answer: Content-Type %q, starts %q", ct, r.Body[:min(8, len(r.Body))])
		}
		t.Run("pdf text", func(t *testing.T) {
			text := pdfToText(t, r.Body)
			for _, w := range []string{st.ID, "novembre 2099", "SIRET 812 345 676 00017", "SIREN 812 345 676", "Centre VHU du Rhône",
				"Garage Martin SARL", "Villeurbanne", "BL BL-2099-001", "BR BR-7", "Total HT 371,78 €", "Total TVA 54,18 €", "425,96 €",
				"5,5 % 33,33 € 1,83 € 35,16 €", "Statut : émis"} {
				if !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q:\n%s", w, text)
				}
			}
		})

		// The centre marks it paid: its intents succeed; a second time is refused.
		var paid httpapi.Statement
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.bt}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ct}).Expect(t, 200).JSON(t, &paid)
		if mp := expectAudit(t, s, "statement.mark_paid", st.ID, "center", 1); !strings.Contains(string(mp.Before), `"status":"issued"`) ||
			!strings.Contains(string(mp.After), `"status":"paid"`) {
			t.Errorf("mark-paid entry: before %s after %s", mp.Before, mp.After)
		}
		if paid.Status != "paid" || paid.PaidAt == nil || paid.IssuedAt == nil || paid.Total != 42596 || len(paid.Orders) != 2 {
			t.Fatalf("paid statement = %+v", paid)
		}
		if diff := cmp.Diff(paid, e.statement(t, e.bt, st.ID)); diff != "" {
			t.Errorf("GET after mark-paid (-answer +get):\n%s", diff)
		}
		for _, pi := range intents {
			if got := e.intent(t, e.bt, pi.ID); got.Status != "succeeded" {
				t.Errorf("intent %s after mark-paid: %s", pi.ID, got.Status)
			}
			if o := getOrder(t, s, e.bt, pi.OrderID); o.Payment == nil || o.Payment.Status != "succeeded" {
				t.Errorf("order %s payment after mark-paid: %+v", pi.OrderID, o.Payment)
			}
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.ct}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/" + st.ID + "/mark-paid", Token: e.at}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/statements/stm_nope/mark-paid", Token: e.at}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/stm_nope/export.csv", Token: e.at}).ExpectProblem(t, 404, "not_found")
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var pdfBlanks = regexp.MustCompile(`[ \t\x{00a0}]+`)

// pdfToText extracts a PDF's text with pdftotext, blanks collapsed. Without pdftotext the test is
// skipped, unless VHUPAY_TEST_REQUIRE_PDFTOTEXT is set.
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("VHUPAY_TEST_REQUIRE_PDFTOTEXT") != "" {
			t.Fatal("pdftotext is required here (VHUPAY_TEST_REQUIRE_PDFTOTEXT is set): apt-get install poppler-utils")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils): the PDF text is not checked")
	}
	path := filepath.Join(t.TempDir(), "statement.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return pdfBlanks.ReplaceAllString(string(out), " ")
}

func TestInvoicingTransitions(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		s := e.s

		// Every transition from every status: allowed ones 200, the rest 409 invalid_transition.
		a := e.askOK(t, e.bt, e.center.ID)
		e.decide(t, e.ct, a.ID, "revoke", nil).ExpectProblem(t, 409, "invalid_transition")
		e.decideOK(t, e.ct, a.ID, "approve")
		for _, d := range []string{"approve", "reject"} {
			e.decide(t, e.ct, a.ID, d, nil).ExpectProblem(t, 409, "invalid_transition")
		}
		e.ask(t, e.bt, e.center.ID).ExpectProblem(t, 409, "invoicing_account_exists")

		// An accepted payment, then the revocation: the payment stays on the statement, new ones are refused.
		kept := createOrder(t, s, e.bt, orderBody(e.center.ID, line("K", 1, 1000, nil)))
		e.payInvoice(t, e.bt, kept.ID).Expect(t, 201)
		var revoked httpapi.InvoicingAccount
		e.decide(t, e.at, a.ID, "revoke", map[string]any{"note": "Impayés"}).Expect(t, 200).JSON(t, &revoked)
		if revoked.Status != "revoked" || revoked.Note == nil || *revoked.Note != "Impayés" {
			t.Fatalf("revoked = %+v", revoked)
		}
		for _, d := range []string{"approve", "reject", "revoke"} {
			e.decide(t, e.ct, a.ID, d, nil).ExpectProblem(t, 409, "invalid_transition")
		}
		refused := createOrder(t, s, e.bt, orderBody(e.center.ID, line("R", 1, 2000, nil)))
		e.payInvoice(t, e.bt, refused.ID).ExpectProblem(t, 409, "invoicing_not_approved")
		sts := e.statements(t, e.bt, "?month=2099-11")
		if len(sts) != 1 || len(sts[0].Orders) != 1 || sts[0].Orders[0].OrderID != kept.ID || sts[0].Total != kept.Total || sts[0].InvoicingAccountID != a.ID {
			t.Fatalf("statement after the revocation = %+v", sts)
		}

		// Final statuses: the buyer may ask again; a new account, rejected this time.
		again := e.askOK(t, e.bt, e.center.ID)
		if again.ID == a.ID || again.Status != "pending" {
			t.Fatalf("second request = %+v", again)
		}
		e.decideOK(t, e.ct, again.ID, "reject")
		for _, d := range []string{"approve", "reject", "revoke"} {
			e.decide(t, e.ct, again.ID, d, nil).ExpectProblem(t, 409, "invalid_transition")
		}
		third := e.askOK(t, e.bt, e.center.ID)
		e.decideOK(t, e.ct, third.ID, "approve")
		// Each decision audited, refused ones not.
		if rv := expectAudit(t, s, "invoicing_account.revoke", a.ID, "admin", 1); !strings.Contains(string(rv.Before), `"status":"approved"`) ||
			!strings.Contains(string(rv.After), `"status":"revoked"`) {
			t.Errorf("revocation entry: before %s after %s", rv.Before, rv.After)
		}
		expectAudit(t, s, "invoicing_account.approve", a.ID, "center", 1)
		expectAudit(t, s, "invoicing_account.reject", again.ID, "center", 1)
		expectAudit(t, s, "invoicing_account.approve", third.ID, "center", 1)

		// A payment through the third account in the same month goes on that account's statement;
		// the revoked account's statement keeps its payment. The close issues both.
		paid := decodeIntent(t, e.payInvoice(t, e.bt, refused.ID).Expect(t, 201))
		if paid.InvoicingAccountID == nil || *paid.InvoicingAccountID != third.ID {
			t.Fatalf("intent after a new approval = %+v", paid)
		}
		sts = e.statements(t, e.bt, "?month=2099-11")
		byAccount := map[string]httpapi.Statement{}
		for _, st := range sts {
			byAccount[st.InvoicingAccountID] = st
		}
		if old, cur := byAccount[a.ID], byAccount[third.ID]; len(sts) != 2 ||
			len(old.Orders) != 1 || old.Orders[0].OrderID != kept.ID || old.Total != kept.Total ||
			len(cur.Orders) != 1 || cur.Orders[0].OrderID != refused.ID || cur.Total != refused.Total {
			t.Fatalf("statements after a new approval = %+v", sts)
		}
		var all httpapi.InvoicingAccountList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts", Token: e.bt}).Expect(t, 200).JSON(t, &all)
		gotIDs := []string{}
		for _, x := range all.Data {
			gotIDs = append(gotIDs, x.ID+" "+x.Status)
		}
		if diff := cmp.Diff([]string{third.ID + " approved", again.ID + " rejected", a.ID + " revoked"}, gotIDs); diff != "" {
			t.Errorf("buyer's accounts, newest first (-want +got):\n%s", diff)
		}

		// Wrong callers and bad input.
		e.decide(t, e.c2t, third.ID, "revoke", nil).ExpectProblem(t, 404, "not_found")
		e.decide(t, e.ct, "ina_nope", "approve", nil).ExpectProblem(t, 404, "not_found")
		e.decide(t, e.bt, third.ID, "revoke", nil).ExpectProblem(t, 403, "forbidden")
		e.decide(t, e.svc, third.ID, "revoke", nil).ExpectProblem(t, 403, "forbidden")
		expectFields(t, e.decide(t, e.ct, third.ID, "revoke", map[string]any{"note": strings.Repeat("x", 1001)}).ExpectProblem(t, 422, "validation_failed"), "note")
		expectFields(t, e.decide(t, e.ct, third.ID, "revoke", map[string]any{"reason": "x"}).ExpectProblem(t, 422, "validation_failed"), "reason")
		e.ask(t, e.ct, e.center.ID).ExpectProblem(t, 403, "forbidden")
		e.ask(t, e.at, e.center.ID).ExpectProblem(t, 403, "forbidden")
		expectFields(t, s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts?status=live", Token: e.ct}).
			ExpectProblem(t, 422, "validation_failed"), "status")

		// Another centre's account does not cover this centre's orders.
		e.askOK(t, e.bt, e.center2.ID)
		other := createOrder(t, s, e.bt, orderBody(e.center2.ID, line("O", 1, 1000, nil)))
		e.payInvoice(t, e.bt, other.ID).ExpectProblem(t, 409, "invoicing_not_approved")
	})
}

// A payment accepted at 23:30 UTC on 30 November is in December in Paris: it opens December's
// statement, which November's close does not issue.
func TestStatementMonthIsParisMonthOfAcceptance(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		e.approvedAccount(t)
		nov := createOrder(t, e.s, e.bt, orderBody(e.center.ID, line("N", 1, 1000, nil)))
		e.payInvoice(t, e.bt, nov.ID).Expect(t, 201)
		e.setClock(t, "2099-11-30T23:30:00Z")
		dec := createOrder(t, e.s, e.bt, orderBody(e.center.ID, line("D", 1, 2000, nil)))
		e.payInvoice(t, e.bt, dec.ID).Expect(t, 201)

		months := map[string][]string{}
		for _, st := range e.statements(t, e.ct, "") {
			for _, o := range st.Orders {
				months[st.Month] = append(months[st.Month], o.OrderID)
			}
		}
		if diff := cmp.Diff(map[string][]string{"2099-11": {nov.ID}, "2099-12": {dec.ID}}, months); diff != "" {
			t.Fatalf("orders by statement month (-want +got):\n%s", diff)
		}
		if n, err := e.s.App.Invoicing.IssueMonth(context.Background(), "2099-11"); n != 1 || err != nil {
			t.Fatalf("IssueMonth = %d, %v", n, err)
		}
		if _, err := e.s.App.Invoicing.IssueMonth(context.Background(), "2099-12"); !errors.Is(err, invoicing.ErrMonthNotEnded) {
			t.Fatalf("IssueMonth(2099-12) on 1 December: %v", err)
		}
		if l := e.statements(t, e.bt, "?month=2099-12&status=open"); len(l) != 1 {
			t.Errorf("December statement = %+v, want it open", l)
		}
	})
}

func TestInvoicingConcurrency(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		parallel := func(n int, fn func(i int) int) []int {
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { statuses[i] = fn(i) })
			}
			wg.Wait()
			slices.Sort(statuses)
			return statuses
		}

		// Concurrent requests for one pair: one account.
		got := parallel(6, func(int) int {
			return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/invoicing-accounts", Token: e.bt, Body: map[string]any{"center_id": e.center.ID}}).Status
		})
		if diff := cmp.Diff([]int{201, 409, 409, 409, 409, 409}, got); diff != "" {
			t.Fatalf("concurrent requests (-want +got):\n%s", diff)
		}
		var list httpapi.InvoicingAccountList
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts", Token: e.bt}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("accounts = %+v", list.Data)
		}
		acct := list.Data[0]

		// Approve and reject at once: one decision wins.
		decisions := []string{"approve", "reject", "approve", "reject"}
		got = parallel(len(decisions), func(i int) int { return e.decide(t, e.ct, acct.ID, decisions[i], nil).Status })
		if diff := cmp.Diff([]int{200, 409, 409, 409}, got); diff != "" {
			t.Fatalf("concurrent decisions (-want +got):\n%s", diff)
		}
		var decided httpapi.InvoicingAccount
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/invoicing-accounts/" + acct.ID, Token: e.bt}).Expect(t, 200).JSON(t, &decided)
		if decided.Status == "rejected" {
			acct = e.askOK(t, e.bt, e.center.ID)
			e.decideOK(t, e.ct, acct.ID, "approve")
		}

		// Revoke while payments are being made: every accepted payment is on the statement, every
		// refused one left its order payable, and no payment is accepted after the revocation.
		var ordersToPay []httpapi.Order
		for i := range 4 {
			ordersToPay = append(ordersToPay, createOrder(t, e.s, e.bt, orderBody(e.center.ID, line("P", 1, int64(1000+i), nil))))
		}
		got = parallel(len(ordersToPay)+1, func(i int) int {
			if i == len(ordersToPay) {
				return e.decide(t, e.ct, acct.ID, "revoke", nil).Status
			}
			return e.payInvoice(t, e.bt, ordersToPay[i].ID).Status
		})
		if !slices.Contains(got, 200) {
			t.Fatalf("the revocation did not succeed: %v", got)
		}
		onStatement := map[string]bool{}
		var total int64
		for _, st := range e.statements(t, e.bt, "") {
			total += st.Total
			for _, o := range st.Orders {
				onStatement[o.OrderID] = true
			}
		}
		var sum int64
		for _, o := range ordersToPay {
			got := getOrder(t, e.s, e.bt, o.ID)
			switch {
			case got.Status == "confirmed" && onStatement[o.ID]:
				sum += o.Total
			case got.Status == "payment_pending" && !onStatement[o.ID]:
			default:
				t.Errorf("order %s is %s, on the statement: %v", o.ID, got.Status, onStatement[o.ID])
			}
		}
		if sum != total {
			t.Errorf("statement totals %d, accepted orders %d", total, sum)
		}
		after := createOrder(t, e.s, e.bt, orderBody(e.center.ID, line("L", 1, 1000, nil)))
		e.payInvoice(t, e.bt, after.ID).ExpectProblem(t, 409, "invoicing_not_approved")
	})
}

// The month close's statements step is invoicing's IssueMonth: a close issues the month's open
// statements and reports their count.
func TestStatementsIssuedByTheMonthClose(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b, fastJobs(nil))
		e := invEnv{s: s, buyer: createBuyer(t, s, "812345676"), center: createCenter(t, s, "81234567600017")}
		e.bt, e.ct, e.at = s.Token(t, auth.RoleBuyer, e.buyer.ID), s.Token(t, auth.RoleCenter, e.center.ID), s.Token(t, auth.RoleAdmin, "")
		e.setClock(t, "2099-11-10T09:00:00+01:00")
		e.approvedAccount(t)
		o := createOrder(t, s, e.bt, orderBody(e.center.ID, line("M", 1, 5000, nil)))
		e.payInvoice(t, e.bt, o.ID).Expect(t, 201)

		e.setClock(t, "2099-12-01T00:30:00+01:00")
		if r := startClose(t, s, "2099-11"); r.Status != 202 && r.Status != 200 {
			t.Fatalf("start the close: %d %s", r.Status, r.Body)
		}
		c := waitClose(t, s, "2099-11", "completed")
		if c.Statements != 1 {
			t.Errorf("close's statements = %d, want 1", c.Statements)
		}
		sts := e.statements(t, e.ct, "?month=2099-11")
		if len(sts) != 1 || sts[0].Status != "issued" || sts[0].Total != o.Total || sts[0].IssuedAt == nil {
			t.Fatalf("statements after the close = %+v", sts)
		}
	})
}
