package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/jobs"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func refund(t *testing.T, s *apptest.Server, tok string, body map[string]any, headers ...string) *apptest.Response {
	t.Helper()
	req := apptest.Request{Method: "POST", Path: "/v1/refunds", Token: tok, Body: body}
	if len(headers) == 2 {
		req.Header = map[string]string{headers[0]: headers[1]}
	}
	return s.Do(t, req)
}

func decodeRefund(t *testing.T, r *apptest.Response) httpapi.Refund {
	t.Helper()
	var out httpapi.Refund
	r.JSON(t, &out)
	return out
}

func eventsOf(t *testing.T, s *apptest.Server, tok, typ string) []httpapi.Event {
	t.Helper()
	var l httpapi.EventList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=" + typ, Token: tok}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

// paidByCard pays a 120.00 EUR order (100.00 + 20 % VAT) by card through 3-D Secure on the
// sandbox bank's page.
func paidByCard(t *testing.T, e payEnv) (httpapi.Order, httpapi.PaymentIntent) {
	t.Helper()
	card := e.registerCard(t, e.token, "4970105181818183")
	o := e.order(t, 10000)
	pi := decodeIntent(t, e.pay(t, e.token, o.ID, card).Expect(t, 201))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(pi.NextAction.RedirectToURL.URL, url.Values{"code": {"123456"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := e.intent(t, pi.ID); got.Status != "succeeded" || got.Amount != 12000 {
		t.Fatalf("intent = %+v", got)
	}
	return o, pi
}

// TestCardRefunds is the done-when of card refunds: two partial refunds of 30.00 and 90.00 EUR
// of a 120.00 EUR card payment (5 % fee) leave the order refunded, the centre's balance reduced
// by the refunded amounts less the fee given back, the provider's wallets back to the buyer's
// card, and the trial balance 0 — over the API.
func TestCardRefunds(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		other := createCenter(t, s, "82345678500018")
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + center.ID + "/fee", Token: m.admin,
			Body: map[string]any{"fee_rate_bps": 500}}).Expect(t, 200)
		centerTok, otherTok := s.Token(t, auth.RoleCenter, center.ID), s.Token(t, auth.RoleCenter, other.ID)
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
		o, pi := paidByCard(t, e)
		if _, err := s.App.Transfers.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := walletBalances(t, s, buyer.ID, center.ID); got != [3]int64{0, 11400, 600} {
			t.Fatalf("wallets before the refunds = %v", got)
		}

		// Who may refund, and what is refused.
		body := func(amount int64) map[string]any {
			return map[string]any{"payment_intent_id": pi.ID, "amount": amount, "reason": "part_damaged", "note": "Phare fendu"}
		}
		refund(t, s, e.token, body(3000)).ExpectProblem(t, 403, "forbidden")
		refund(t, s, otherTok, body(3000)).ExpectProblem(t, 404, "not_found")
		refund(t, s, centerTok, map[string]any{"payment_intent_id": "pi_missing", "reason": "other"}).ExpectProblem(t, 404, "not_found")
		refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "reason": "gift"}).ExpectProblem(t, 422, "validation_failed")
		refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 0, "reason": "other"}).ExpectProblem(t, 422, "validation_failed")
		refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID}).ExpectProblem(t, 422, "validation_failed")
		refund(t, s, centerTok, body(12001)).ExpectProblem(t, 409, "refund_exceeds_payment")
		// A payment waiting for 3-D Secure cannot be refunded.
		open := decodeIntent(t, e.pay(t, e.token, e.order(t, 5000).ID, e.registerCard(t, e.token, "4970105181818183")).Expect(t, 201))
		refund(t, s, centerTok, map[string]any{"payment_intent_id": open.ID, "reason": "other"}).ExpectProblem(t, 409, "payment_not_refundable")

		// 30.00: the centre gives back 28.50, the platform its 1.50 share of the fee.
		r1 := decodeRefund(t, refund(t, s, centerTok, body(3000), "Idempotency-Key", "refund-1").Expect(t, 201))
		if r1.Status != "succeeded" || r1.Amount != 3000 || r1.PaymentIntentID != pi.ID || r1.OrderID != o.ID ||
			r1.Reason != "part_damaged" || r1.Note == nil || *r1.Note != "Phare fendu" || r1.FailureCode != nil || r1.Currency != "EUR" {
			t.Fatalf("first refund = %+v", r1)
		}
		replay := decodeRefund(t, refund(t, s, centerTok, body(3000), "Idempotency-Key", "refund-1").Expect(t, 201))
		if replay.ID != r1.ID {
			t.Errorf("the replayed request made refund %s, want %s", replay.ID, r1.ID)
		}
		if got := e.intent(t, pi.ID); got.AmountRefunded != 3000 || got.Status != "succeeded" {
			t.Errorf("intent after 30.00 = %+v", got)
		}
		if got := getOrder(t, s, e.token, o.ID); got.AmountRefunded != 3000 || got.Status != "confirmed" {
			t.Errorf("order after 30.00 = %+v", got)
		}
		if bal := m.balance(t, centerTok); bal.Available != 11400-2850 {
			t.Errorf("balance after 30.00 = %+v, want 85.50", bal)
		}
		txs := m.transactions(t, centerTok, "?type=refund")
		if len(txs) != 1 || txs[0].SourceID != r1.ID || txs[0].Gross != -3000 || txs[0].Fee != -150 || txs[0].Net != -2850 {
			t.Errorf("refund balance transactions = %+v", txs)
		}
		refund(t, s, centerTok, body(9001)).ExpectProblem(t, 409, "refund_exceeds_payment")

		// 90.00 (admin): the last refund gives back what remains of the fee, 4.50.
		r2 := decodeRefund(t, refund(t, s, m.admin, map[string]any{"payment_intent_id": pi.ID, "reason": "part_missing"}).Expect(t, 201))
		if r2.Status != "succeeded" || r2.Amount != 9000 || r2.Note != nil {
			t.Fatalf("second refund = %+v", r2)
		}
		if got := getOrder(t, s, e.token, o.ID); got.AmountRefunded != 12000 || got.Status != "refunded" {
			t.Errorf("order after both refunds = %+v", got)
		}
		var refundedOrders httpapi.OrderList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders?status=refunded", Token: e.token}).Expect(t, 200).JSON(t, &refundedOrders)
		if len(refundedOrders.Data) != 1 || refundedOrders.Data[0].ID != o.ID {
			t.Errorf("refunded orders = %+v", refundedOrders.Data)
		}
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Errorf("balance after both refunds = %+v, want 0 (114.00 − 28.50 − 85.50)", bal)
		}
		accounts := m.accounts(t)
		if accounts["platform:fees"] != 0 || accounts["external:card"] != 0 || accounts["center:"+center.ID] != 0 {
			t.Errorf("ledger accounts = %v", accounts)
		}
		m.trialBalanceIsZero(t)
		if got := walletBalances(t, s, buyer.ID, center.ID); got != [3]int64{0, 0, 0} {
			t.Errorf("wallets after the refunds = %v, want all back to the card", got)
		}
		if rec := m.reconcile(t); rec.Status != "matched" {
			t.Errorf("reconciliation after the refunds = %+v", rec)
		}
		refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "reason": "other"}).ExpectProblem(t, 409, "refund_exceeds_payment")

		// Reading: the buyer and the centre see them, another centre or buyer does not.
		var l httpapi.RefundList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds?payment_intent_id=" + pi.ID, Token: e.token}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 2 || l.Data[0].ID != r2.ID || l.Data[1].ID != r1.ID {
			t.Errorf("buyer's refunds = %+v", l.Data)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds", Token: otherTok}).Expect(t, 200).JSON(t, &l)
		if len(l.Data) != 0 {
			t.Errorf("another centre's refunds = %+v", l.Data)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r1.ID, Token: centerTok}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r1.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		otherBuyer := createBuyer(t, s, "823456785")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r1.ID, Token: s.Token(t, auth.RoleBuyer, otherBuyer.ID)}).ExpectProblem(t, 404, "not_found")

		// Events: the refunds and the order, with their objects as their GETs answer them.
		if evs := eventsOf(t, s, centerTok, "refund.succeeded"); len(evs) != 2 || !strings.Contains(string(evs[0].Data.Object), `"status":"succeeded"`) {
			t.Errorf("refund.succeeded events = %+v", evs)
		}
		if evs := eventsOf(t, s, e.token, "order.refunded"); len(evs) != 1 || !strings.Contains(string(evs[0].Data.Object), `"status":"refunded"`) {
			t.Errorf("order.refunded events = %+v", evs)
		}
		var audits int
		if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, `SELECT COUNT(*) FROM audit_events WHERE action = 'refund.create'`)).Scan(&audits); err != nil || audits != 2 {
			t.Errorf("refund.create audit entries = %d, %v", audits, err)
		}
	})
}

// TestSEPAScheduledRefund: a refund of a scheduled SEPA payment succeeds at once and raises the
// buyer's available SEPA amount at once; a full refund removes a payment from the collection; the
// month's collection debits the reduced total and the centre earns that.
func TestSEPAScheduledRefund(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))
		s := apptest.Start(t, b, apptest.WithBaseClock(base), fastJobs(nil))
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		center := createCenter(t, s, "81234567600017")
		centerTok := s.Token(t, auth.RoleCenter, center.ID)
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + center.ID + "/fee", Token: m.admin,
			Body: map[string]any{"fee_rate_bps": 500}}).Expect(t, 200)
		buyer, tok, mandate := sandboxSEPABuyer(t, s, "812345676", ibanFR)
		kept := payOverHTTP(t, s, center.ID, buyer, tok, mandate, 10000)   // 120.00 EUR
		dropped := payOverHTTP(t, s, center.ID, buyer, tok, mandate, 5000) // 60.00 EUR
		profile := func() httpapi.SEPAProfile {
			var p httpapi.SEPAProfile
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: tok}).Expect(t, 200).JSON(t, &p)
			return p
		}
		if p := profile(); p.Outstanding != 18000 || p.Available != 25000-18000 {
			t.Fatalf("profile before = %+v", p)
		}

		r := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": kept, "amount": 3000, "reason": "part_missing"}).Expect(t, 201))
		if r.Status != "succeeded" {
			t.Fatalf("refund of a scheduled SEPA payment = %+v", r)
		}
		if p := profile(); p.Outstanding != 15000 || p.Available != 25000-15000 {
			t.Errorf("profile after 30.00 refunded = %+v, want available up by 30.00 at once", p)
		}
		full := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": dropped, "reason": "duplicate"}).Expect(t, 201))
		if full.Status != "succeeded" || full.Amount != 6000 {
			t.Fatalf("full refund = %+v", full)
		}
		if p := profile(); p.Outstanding != 9000 {
			t.Errorf("profile after the full refund = %+v", p)
		}
		var pi httpapi.PaymentIntent
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + dropped, Token: tok}).Expect(t, 200).JSON(t, &pi)
		if pi.AmountRefunded != 6000 || getOrder(t, s, tok, pi.OrderID).Status != "refunded" {
			t.Errorf("fully refunded SEPA payment = %+v", pi)
		}
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Errorf("nothing is earned or moved before the collection: %+v", bal)
		}

		// The month's close collects the reduced total: 90.00, the dropped payment not at all.
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: m.admin,
			Body: map[string]any{"now": "2026-12-01T00:40:00+01:00"}}).Expect(t, 200)
		waitFor(t, func() bool {
			var mc httpapi.MonthClose
			r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/month-closes/2026-11", Token: m.admin})
			if r.Status != http.StatusOK {
				return false
			}
			r.JSON(t, &mc)
			return mc.Status == "completed"
		})
		var cols httpapi.CollectionList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/collections", Token: tok}).Expect(t, 200).JSON(t, &cols)
		if len(cols.Data) != 1 || cols.Data[0].Amount != 9000 || len(cols.Data[0].PaymentIntentIDs) != 1 || cols.Data[0].PaymentIntentIDs[0] != kept {
			t.Fatalf("collections = %+v, want one of 90.00 for the kept payment", cols.Data)
		}
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: m.admin,
			Body: map[string]any{"now": "2026-12-01T00:41:00+01:00", "settle": true}}).Expect(t, 200)
		waitFor(t, func() bool { return len(m.transactions(t, centerTok, "")) == 1 })
		if bal := m.balance(t, centerTok); bal.Available != 9000-450 {
			t.Errorf("centre balance = %+v, want 90.00 − 4.50 of fee", bal)
		}
		m.trialBalanceIsZero(t)

		// Refunded again once collected: pending until the 8th day after the debit.
		late := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": kept, "amount": 1000, "reason": "other"}).Expect(t, 201))
		if late.Status != "pending" {
			t.Fatalf("refund of a collected SEPA payment = %+v, want pending", late)
		}
		if bal := m.balance(t, centerTok); bal.Available != 9000-450-950 {
			t.Errorf("centre balance after the late refund = %+v", bal)
		}
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: m.admin,
			Body: map[string]any{"now": "2026-12-10T09:00:00+01:00"}}).Expect(t, 200)
		waitFor(t, func() bool {
			var got httpapi.Refund
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + late.ID, Token: centerTok}).Expect(t, 200).JSON(t, &got)
			return got.Status == "succeeded"
		})
		m.trialBalanceIsZero(t)
	})
}

// TestInvoiceRefund: a refund of an invoice payment is a credit line on the statement of the
// refund's month, in its JSON, CSV and PDF, with the totals and VAT breakdown lowered.
func TestInvoiceRefund(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startInvoicing(t, b)
		e.approvedAccount(t)
		rate := 550
		o := createOrder(t, e.s, e.bt, orderBody(e.center.ID, line("A", 1, 10000, nil), line("B", 2, 1000, &rate))) // 120.00 + 21.10
		var pi httpapi.PaymentIntent
		e.payInvoice(t, e.bt, o.ID).Expect(t, 201).JSON(t, &pi)
		r := decodeRefund(t, refund(t, e.s, e.ct, map[string]any{"payment_intent_id": pi.ID, "amount": 3000, "reason": "part_damaged"}).Expect(t, 201))
		if r.Status != "succeeded" {
			t.Fatalf("invoice refund = %+v", r)
		}
		sts := e.statements(t, e.ct, "")
		if len(sts) != 1 {
			t.Fatalf("statements = %+v", sts)
		}
		st := sts[0]
		if len(st.Credits) != 1 || st.Credits[0].RefundID != r.ID || st.Credits[0].Total != -3000 || st.Total != o.Total-3000 {
			t.Fatalf("statement = %+v", st)
		}
		var base, vat int64
		for _, v := range st.VATBreakdown {
			base, vat = base+v.Base, vat+v.VAT
		}
		if base != st.TotalExclVAT || vat != st.TotalVAT || base+vat != st.Total {
			t.Errorf("VAT breakdown %+v does not add up to the totals %d/%d/%d", st.VATBreakdown, st.TotalExclVAT, st.TotalVAT, st.Total)
		}
		// The rest: the credits add up to the whole order, rate by rate.
		refund(t, e.s, e.ct, map[string]any{"payment_intent_id": pi.ID, "reason": "part_missing"}).Expect(t, 201)
		st = e.statement(t, e.ct, st.ID)
		if st.Total != 0 || st.TotalExclVAT != 0 || st.TotalVAT != 0 {
			t.Errorf("statement after a full refund = %+v", st)
		}
		for _, v := range st.VATBreakdown {
			if v.Base != 0 || v.VAT != 0 {
				t.Errorf("VAT line after a full refund = %+v", v)
			}
		}
		if got := getOrder(t, e.s, e.bt, o.ID); got.Status != "refunded" {
			t.Errorf("order = %+v", got)
		}
		csv := string(e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + "/export.csv", Token: e.ct}).Expect(t, 200).Body)
		if !strings.Contains(csv, r.ID+";Avoir (remboursement);;;20;-21,27;-4,25;-25,52\r\n") ||
			!strings.Contains(csv, r.ID+";Avoir (remboursement);;;5,5;-4,25;-0,23;-4,48\r\n") || !strings.Contains(csv, "Total;;;;;;;;;0,00;0,00;0,00\r\n") {
			t.Errorf("CSV = %q", csv)
		}
		pdf := e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/statements/" + st.ID + "/export.pdf", Token: e.ct}).Expect(t, 200).Body
		text := pdfToText(t, pdf)
		if !strings.Contains(text, "Avoirs (remboursements)") || !strings.Contains(text, "-25,52 € -4,48 € -30,00 €") ||
			!strings.Contains(text, "Total TTC 0,00 €") {
			t.Errorf("PDF text = %s", text)
		}
	})
}

// lossyRefunds is the sandbox provider whose refund answers can be lost: the refund is made at
// the provider, but vhupay hears psp.ErrUnavailable (a timeout, a crash before the answer was
// written), as many times as lose says for each kind of call.
type lossyRefunds struct {
	fullProvider
	mu               sync.Mutex
	loseTransfer     int
	losePayIn        int
	refusePayIn      bool // answer pay-in refunds failed with 001403 (too late), without asking
	transfers, payIn int  // calls that reached the provider
}

type fullProvider interface {
	psp.Provider
	psp.Owners
	psp.Transfers
	psp.Wallets
}

func (l *lossyRefunds) RefundTransfer(ctx context.Context, req psp.TransferRefundRequest) (psp.Refund, error) {
	r, err := l.fullProvider.RefundTransfer(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.transfers++
	if err == nil && l.loseTransfer > 0 {
		l.loseTransfer--
		return psp.Refund{}, psp.ErrUnavailable
	}
	return r, err
}

func (l *lossyRefunds) RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error) {
	l.mu.Lock()
	refuse := l.refusePayIn
	l.mu.Unlock()
	if refuse {
		return psp.Refund{ID: "refused-" + req.IdempotencyKey, Status: psp.RefundFailed, ResultCode: "001403", Failure: psp.FailureProviderError}, nil
	}
	r, err := l.fullProvider.RefundPayIn(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.payIn++
	if err == nil && l.losePayIn > 0 {
		l.losePayIn--
		return psp.Refund{}, psp.ErrUnavailable
	}
	return r, err
}

// TestCardRefundResumes: the provider's answers to both refund calls are lost once (a crash
// between the calls, a timeout): the refund answers pending, the centre is debited once, and the
// periodic job finishes it with the same idempotency keys: the buyer is refunded exactly once.
func TestCardRefundResumes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		lossy := &lossyRefunds{loseTransfer: 1, losePayIn: 1}
		s := apptest.Start(t, b, apptest.WithOptions(func(o *app.Options) {
			o.WrapProvider = func(p psp.Provider) psp.Provider {
				lossy.fullProvider = p.(fullProvider)
				return lossy
			}
		}))
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + center.ID + "/fee", Token: m.admin,
			Body: map[string]any{"fee_rate_bps": 500}}).Expect(t, 200)
		centerTok := s.Token(t, auth.RoleCenter, center.ID)
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
		_, pi := paidByCard(t, e)
		// The centre's transfer is not made yet: the refund waits for it.
		r := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 3000, "reason": "other"}).Expect(t, 201))
		if r.Status != "pending" {
			t.Fatalf("refund before the centre's transfer = %+v", r)
		}
		if bal := m.balance(t, centerTok); bal.Available != 11400-2850 {
			t.Errorf("the centre is debited when the refund is recorded: %+v", bal)
		}
		if _, err := s.App.Transfers.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for range 4 { // the transfer's answer lost, then the pay-in's, then done
			if _, err := s.App.Refunds.ProcessDue(ctx); err != nil && !errors.Is(err, psp.ErrUnavailable) {
				t.Fatal(err)
			}
		}
		var got httpapi.Refund
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r.ID, Token: centerTok}).Expect(t, 200).JSON(t, &got)
		if got.Status != "succeeded" {
			t.Fatalf("refund after the job = %+v", got)
		}
		if lossy.transfers != 2 || lossy.payIn != 2 {
			t.Errorf("provider calls: %d transfer refunds, %d pay-in refunds; want each asked twice with one key", lossy.transfers, lossy.payIn)
		}
		if w := walletBalances(t, s, buyer.ID, center.ID); w != [3]int64{0, 11400 - 2850, 450} {
			t.Errorf("wallets = %v, want the 30.00 refunded once", w)
		}
		if bal := m.balance(t, centerTok); bal.Available != 11400-2850 {
			t.Errorf("centre balance = %+v", bal)
		}
		m.trialBalanceIsZero(t)
		if rec := m.reconcile(t); rec.Status != "matched" {
			t.Errorf("reconciliation = %+v", rec)
		}

		// The provider refuses the pay-in's refund (too late): the refund fails, the centre gets
		// its share back (adjustment), and the amount is refundable again.
		lossy.mu.Lock()
		lossy.refusePayIn = true
		lossy.mu.Unlock()
		failed := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 2000, "reason": "other"}).Expect(t, 201))
		if failed.Status != "failed" || failed.FailureCode == nil || *failed.FailureCode != "provider_refused" {
			t.Fatalf("refused refund = %+v", failed)
		}
		if bal := m.balance(t, centerTok); bal.Available != 11400-2850 {
			t.Errorf("centre balance after a refused refund = %+v", bal)
		}
		if adj := m.transactions(t, centerTok, "?type=adjustment&source_id="+failed.ID); len(adj) != 1 || adj[0].Net != 2000-100 {
			t.Errorf("adjustments = %+v", adj)
		}
		if got := e.intent(t, pi.ID); got.AmountRefunded != 3000 {
			t.Errorf("intent after a refused refund = %+v", got)
		}
		if evs := eventsOf(t, s, centerTok, "refund.failed"); len(evs) != 1 || !strings.Contains(string(evs[0].Data.Object), failed.ID) {
			t.Errorf("refund.failed events = %+v", evs)
		}
		m.trialBalanceIsZero(t)
	})
}

// TestRefundJobFinishesIt: the provider's answers are lost in the request; the refund's own job
// on the queue (not the periodic sweep, which runs every 10 seconds) finishes it within seconds.
func TestRefundJobFinishesIt(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		lossy := &lossyRefunds{loseTransfer: 1, losePayIn: 1}
		s := apptest.Start(t, b, fastJobs(nil, func(c *jobs.Config) { c.RefundRetryDelay = 100 * time.Millisecond }),
			apptest.WithOptions(func(o *app.Options) {
				o.WrapProvider = func(p psp.Provider) psp.Provider {
					lossy.fullProvider = p.(fullProvider)
					return lossy
				}
			}))
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		centerTok := s.Token(t, auth.RoleCenter, center.ID)
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
		_, pi := paidByCard(t, e)
		if _, err := s.App.Transfers.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "amount": 4000, "reason": "other"}).Expect(t, 201))
		if r.Status != "pending" {
			t.Fatalf("refund whose answer was lost = %+v", r)
		}
		waitFor(t, func() bool {
			var got httpapi.Refund
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r.ID, Token: centerTok}).Expect(t, 200).JSON(t, &got)
			return got.Status == "succeeded"
		})
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("the refund's job took %s", took)
		}
		if w := walletBalances(t, s, buyer.ID, center.ID); w != [3]int64{0, 12000 - 4000, 0} {
			t.Errorf("wallets = %v, want 40.00 refunded once", w)
		}
	})
}

// TestRefundAfterPayout: a refund after the centre was paid out makes its balance negative at
// once; at the provider the centre's empty wallet cannot give its part back (MangoPay wallets
// never go negative), so the refund waits, and is made once the centre's next earning is in
// its wallet (the test clock moved past the retry).
func TestRefundAfterPayout(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)) // a Tuesday
		s := apptest.Start(t, b, apptest.WithBaseClock(base), fastJobs(nil))
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		center, centerTok := centerWithMoney(t, s, m, "81234567600017", "812345676", 10000) // 120.00, fee 0
		var intents httpapi.PaymentIntentList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents", Token: m.admin}).Expect(t, 200).JSON(t, &intents)
		if len(intents.Data) != 1 {
			t.Fatalf("intents = %+v", intents.Data)
		}
		pi := intents.Data[0]
		m.payout(t, centerTok, map[string]any{}).Expect(t, 201)
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Fatalf("balance after the payout = %+v", bal)
		}

		r := decodeRefund(t, refund(t, s, centerTok, map[string]any{"payment_intent_id": pi.ID, "reason": "part_missing"}).Expect(t, 201))
		if r.Status != "pending" || r.Amount != 12000 {
			t.Fatalf("refund after the payout = %+v", r)
		}
		if bal := m.balance(t, centerTok); bal.Available != -12000 {
			t.Errorf("balance after the refund = %+v, want −120.00", bal)
		}
		m.trialBalanceIsZero(t)

		// The centre's next earning reaches its wallet; an hour later the refund is made.
		buyer := createBuyer(t, s, "823456785")
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
		card := e.registerCard(t, e.token, sandbox.FrictionlessCard)
		decodeIntent(t, e.pay(t, e.token, e.order(t, 10000).ID, card).Expect(t, 201))
		runTransfers(t, s, buyer.ID, center.ID, 12000)
		m.moveClock(t, "2026-11-10T11:00:00Z", false)
		waitFor(t, func() bool {
			var got httpapi.Refund
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/refunds/" + r.ID, Token: centerTok}).Expect(t, 200).JSON(t, &got)
			return got.Status == "succeeded"
		})
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Errorf("balance after the next earning = %+v, want 0", bal)
		}
		m.trialBalanceIsZero(t)
	})
}
