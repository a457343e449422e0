package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// money reads, over the API, a centre's balance, the ledger's accounts and the trial balance.
type money struct {
	s     *apptest.Server
	admin string
}

func (m money) balance(t *testing.T, centerTok string) httpapi.Balance {
	t.Helper()
	var b httpapi.Balance
	m.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance", Token: centerTok}).Expect(t, 200).JSON(t, &b)
	return b
}

func (m money) accounts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	cursor := ""
	for {
		var l httpapi.LedgerAccountList
		m.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/ledger/accounts?limit=2&cursor=" + url.QueryEscape(cursor),
			Token: m.admin}).Expect(t, 200).JSON(t, &l)
		for _, a := range l.Data {
			out[a.Account] = a.Balance
		}
		if !l.HasMore {
			return out
		}
		cursor = l.NextCursor
	}
}

func (m money) trialBalanceIsZero(t *testing.T) {
	t.Helper()
	var tb httpapi.TrialBalance
	m.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/ledger/trial-balance", Token: m.admin}).Expect(t, 200).JSON(t, &tb)
	if tb.Total != 0 || tb.Currency != "EUR" {
		t.Fatalf("trial balance = %+v", tb)
	}
}

func (m money) reconcile(t *testing.T) httpapi.Reconciliation {
	t.Helper()
	var r httpapi.Reconciliation
	m.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/reconciliations", Token: m.admin}).Expect(t, 202).JSON(t, &r)
	return r
}

func (m money) transactions(t *testing.T, centerTok, query string) []httpapi.BalanceTransaction {
	t.Helper()
	var l httpapi.BalanceTransactionList
	m.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions" + query, Token: centerTok}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

// TestCardPaymentEarnsTheCentre: a card payment of 120.00 EUR with a 5 % fee gives the centre
// 114.00 available and the platform 6.00, and the trial balance stays 0 (sandbox, over the API).
func TestCardPaymentEarnsTheCentre(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		buyer := createBuyer(t, s, "812345676")
		center := createCenter(t, s, "81234567600017")
		other := createCenter(t, s, "82345678500018")
		if center.FeeRateBPS != 0 || center.PayoutsEnabled {
			t.Fatalf("a new centre = %+v", center)
		}
		centerTok := s.Token(t, auth.RoleCenter, center.ID)
		m.trialBalanceIsZero(t)

		// The fee: admin only, 0–10000, an existing centre.
		fee := func(tok, id string, body any) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + id + "/fee", Token: tok, Body: body})
		}
		fee(centerTok, center.ID, map[string]any{"fee_rate_bps": 0}).ExpectProblem(t, 403, "forbidden")
		fee(s.Token(t, auth.RoleService, ""), center.ID, map[string]any{"fee_rate_bps": 0}).ExpectProblem(t, 403, "forbidden")
		fee(m.admin, center.ID, map[string]any{"fee_rate_bps": 10001}).ExpectProblem(t, 422, "validation_failed")
		fee(m.admin, center.ID, map[string]any{"fee_rate_bps": -1}).ExpectProblem(t, 422, "validation_failed")
		fee(m.admin, center.ID, map[string]any{}).ExpectProblem(t, 422, "validation_failed")
		fee(m.admin, "ctr_missing", map[string]any{"fee_rate_bps": 500}).ExpectProblem(t, 404, "not_found")
		var ct httpapi.Center
		fee(m.admin, center.ID, map[string]any{"fee_rate_bps": 500}).Expect(t, 200).JSON(t, &ct)
		if ct.ID != center.ID || ct.FeeRateBPS != 500 {
			t.Fatalf("centre after its fee = %+v", ct)
		}
		var audit int
		if err := s.App.DB.SQL().QueryRow(dollars(s.App.DB, `SELECT COUNT(*) FROM audit_events WHERE action = 'center.fee_change' AND target_id = ?`),
			center.ID).Scan(&audit); err != nil || audit != 1 {
			t.Fatalf("fee change audit entries = %d, %v", audit, err)
		}

		// 120.00 EUR by card, 3-D Secure passed on the sandbox bank's page.
		e := payEnv{s: s, buyer: buyer, center: center, token: s.Token(t, auth.RoleBuyer, buyer.ID)}
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

		if bal := m.balance(t, centerTok); bal.CenterID != center.ID || bal.Available != 11400 || bal.InTransit != 0 || bal.Currency != "EUR" {
			t.Errorf("centre balance = %+v, want 11400 available", bal)
		}
		var viaAdmin httpapi.Balance
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance?center_id=" + center.ID, Token: m.admin}).Expect(t, 200).JSON(t, &viaAdmin)
		if viaAdmin.Available != 11400 {
			t.Errorf("balance read by admin = %+v", viaAdmin)
		}
		accounts := m.accounts(t)
		if accounts["center:"+center.ID] != 11400 || accounts["platform:fees"] != 600 || accounts["external:card"] != -12000 ||
			accounts["buyer:"+buyer.ID] != 0 {
			t.Errorf("ledger accounts = %v", accounts)
		}
		m.trialBalanceIsZero(t)
		txs := m.transactions(t, centerTok, "")
		if len(txs) != 1 || txs[0].Type != "payment" || txs[0].Gross != 12000 || txs[0].Fee != 600 || txs[0].Net != 11400 ||
			txs[0].SourceID != pi.ID || txs[0].CenterID != center.ID {
			t.Errorf("balance transactions = %+v", txs)
		}
		if got := m.transactions(t, centerTok, "?type=payout"); len(got) != 0 {
			t.Errorf("payout transactions = %+v", got)
		}
		if got := m.transactions(t, centerTok, "?source_id="+pi.ID); len(got) != 1 {
			t.Errorf("transactions of the payment = %+v", got)
		}

		// Before the transfer is made, the provider's wallets differ from the ledger exactly by it:
		// matched.
		if rec := m.reconcile(t); rec.Status != "matched" || len(rec.Mismatches) != 0 {
			t.Errorf("reconciliation with the transfer in flight = %+v", rec)
		}
		// At the provider: the earning moves from the buyer's wallet to the centre's, the fee to
		// the platform's fee wallet, once however often the transfers run.
		for range 2 {
			if _, err := s.App.Transfers.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := walletBalances(t, s, buyer.ID, center.ID); got != [3]int64{0, 11400, 600} {
			t.Errorf("wallets buyer, centre, fees = %v, want [0 11400 600]", got)
		}
		rec := m.reconcile(t)
		if rec.Status != "matched" || rec.CheckedAccounts != 3 || len(rec.Mismatches) != 0 || rec.FinishedAt == nil {
			t.Errorf("reconciliation = %+v", rec)
		}
		// A sandbox adjustment the ledger does not know: mismatched by exactly that much, and told.
		adjust := func(body any) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sandbox/wallets/adjust", Token: m.admin, Body: body})
		}
		adjust(map[string]any{"account": "center:" + center.ID, "amount": -100}).Expect(t, 204)
		adjust(map[string]any{"account": "center:" + other.ID, "amount": -100}).ExpectProblem(t, 422, "validation_failed")
		adjust(map[string]any{"account": "bank", "amount": 1}).ExpectProblem(t, 422, "validation_failed")
		adjust(map[string]any{"account": "platform:fees"}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sandbox/wallets/adjust", Token: centerTok,
			Body: map[string]any{"account": "center:" + center.ID, "amount": 100}}).ExpectProblem(t, 403, "forbidden")
		rec = m.reconcile(t)
		want := []httpapi.ReconciliationMismatch{{Account: "center:" + center.ID, LedgerBalance: 11400, ProviderBalance: 11300, Difference: -100}}
		if rec.Status != "mismatched" || fmt.Sprint(rec.Mismatches) != fmt.Sprint(want) {
			t.Errorf("reconciliation after the adjustment = %+v", rec)
		}
		var got httpapi.Reconciliation
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/reconciliations/" + rec.ID, Token: m.admin}).Expect(t, 200).JSON(t, &got)
		if got.ID != rec.ID || got.Status != "mismatched" {
			t.Errorf("GET reconciliation = %+v", got)
		}
		var recs httpapi.ReconciliationList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/reconciliations?limit=2", Token: m.admin}).Expect(t, 200).JSON(t, &recs)
		if len(recs.Data) != 2 || recs.Data[0].ID != rec.ID || !recs.HasMore {
			t.Errorf("reconciliations = %+v", recs)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/reconciliations/rec_missing", Token: m.admin}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/admin/reconciliations", Token: centerTok}).ExpectProblem(t, 403, "forbidden")
		var evs httpapi.EventList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/events?type=reconciliation.mismatch", Token: m.admin}).Expect(t, 200).JSON(t, &evs)
		if len(evs.Data) != 1 || !strings.Contains(string(evs.Data[0].Data.Object), `"difference":-100`) {
			t.Errorf("reconciliation.mismatch events = %+v", evs.Data)
		}
		adjust(map[string]any{"account": "center:" + center.ID, "amount": 100}).Expect(t, 204)
		if rec := m.reconcile(t); rec.Status != "matched" {
			t.Errorf("reconciliation after the adjustment was undone = %+v", rec)
		}

		// The daily run: once a day past 04:00 Paris, whichever of several processes gets there.
		var ran atomic.Int32
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				ok, err := s.App.Reconciler.RunDaily(context.Background())
				if err != nil {
					t.Error(err)
				}
				if ok {
					ran.Add(1)
				}
			})
		}
		wg.Wait()
		if ran.Load() != 1 {
			t.Errorf("the daily reconciliation ran %d times", ran.Load())
		}

		// The month's sales report as CSV.
		month := clock.MonthOf(s.App.Clock.Now())
		csv := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions/export.csv?month=" + month, Token: centerTok}).Expect(t, 200)
		body := string(csv.Body)
		if !strings.HasPrefix(body, "\ufeffRapport des ventes") || !strings.Contains(body, ";Paiement;"+pi.ID+";120,00;6,00;114,00\r\n") ||
			!strings.HasSuffix(body, "Total;;;;120,00;6,00;114,00\r\n") {
			t.Errorf("sales report = %q", body)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions/export.csv?month=2026-13", Token: centerTok}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions/export.csv?month=" + month, Token: m.admin}).ExpectProblem(t, 422, "validation_failed")
		empty := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions/export.csv?month=2025-01&center_id=" + center.ID,
			Token: m.admin}).Expect(t, 200)
		if !strings.HasSuffix(string(empty.Body), "Total;;;;0,00;0,00;0,00\r\n") {
			t.Errorf("an empty month's report = %q", empty.Body)
		}

		// Who may read what.
		otherTok := s.Token(t, auth.RoleCenter, other.ID)
		if bal := m.balance(t, otherTok); bal.Available != 0 {
			t.Errorf("the other centre's balance = %+v", bal)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance?center_id=" + center.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions?center_id=" + center.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance", Token: e.token}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance", Token: m.admin}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance?center_id=ctr_missing", Token: s.Token(t, auth.RoleService, "")}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/balance-transactions?type=gift", Token: centerTok}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/ledger/accounts", Token: centerTok}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/ledger/trial-balance", Token: s.Token(t, auth.RoleService, "")}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/ledger/accounts?cursor=!!!", Token: m.admin}).ExpectProblem(t, 422, "validation_failed")
	})
}

// TestSEPAMonthEarnsTheCentre: a month with one succeeded and one failed SEPA collection credits
// the centre for both, the failed one from the platform's guarantee.
func TestSEPAMonthEarnsTheCentre(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		base := clock.NewManual(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))
		s := apptest.Start(t, b, apptest.WithBaseClock(base), fastJobs(nil))
		m := money{s: s, admin: s.Token(t, auth.RoleAdmin, "")}
		center := createCenter(t, s, "81234567600017")
		centerTok := s.Token(t, auth.RoleCenter, center.ID)
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/centers/" + center.ID + "/fee", Token: m.admin,
			Body: map[string]any{"fee_rate_bps": 500}}).Expect(t, 200)
		good, goodTok, goodMandate := sandboxSEPABuyer(t, s, "812345676", ibanFR)
		poor, poorTok, poorMandate := sandboxSEPABuyer(t, s, "823456785", ibanPenniless)
		goodIntent := payOverHTTP(t, s, center.ID, good, goodTok, goodMandate, 10000) // 120.00 EUR
		poorIntent := payOverHTTP(t, s, center.ID, poor, poorTok, poorMandate, 5000)  // 60.00 EUR
		if bal := m.balance(t, centerTok); bal.Available != 0 {
			t.Fatalf("a scheduled SEPA payment is not earned yet: %+v", bal)
		}

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
		m.trialBalanceIsZero(t)
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: m.admin,
			Body: map[string]any{"now": "2026-12-01T00:41:00+01:00", "settle": true}}).Expect(t, 200)
		waitFor(t, func() bool { return len(m.transactions(t, centerTok, "")) == 2 })

		if bal := m.balance(t, centerTok); bal.Available != 11400+5700 {
			t.Errorf("centre balance = %+v, want 114.00 + 57.00", bal)
		}
		paid := m.transactions(t, centerTok, "?type=payment")
		guaranteed := m.transactions(t, centerTok, "?type=sepa_guarantee")
		if len(paid) != 1 || paid[0].SourceID != goodIntent || paid[0].Gross != 12000 || paid[0].Fee != 600 || paid[0].Net != 11400 {
			t.Errorf("payments = %+v", paid)
		}
		if len(guaranteed) != 1 || guaranteed[0].SourceID != poorIntent || guaranteed[0].Gross != 6000 || guaranteed[0].Fee != 300 ||
			guaranteed[0].Net != 5700 {
			t.Errorf("guaranteed = %+v", guaranteed)
		}
		accounts := m.accounts(t)
		if accounts["platform:guarantee"] != -6000 || accounts["platform:fees"] != 900 || accounts["external:sepa"] != -12000 ||
			accounts["buyer:"+good.ID] != 0 {
			t.Errorf("ledger accounts = %v", accounts)
		}
		m.trialBalanceIsZero(t)
		// The provider's wallets match the ledger with the transfers in flight...
		if rec := m.reconcile(t); rec.Status != "matched" {
			t.Errorf("reconciliation before the transfers = %+v", rec)
		}
		// ... and once made: the succeeded debit's earning moves from the buyer's wallet, the
		// guaranteed one is funded by the platform (57.00 to the centre, 3.00 of fee).
		waitFor(t, func() bool {
			if _, err := s.App.Transfers.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			return walletBalances(t, s, good.ID, center.ID) == [3]int64{0, 17100, 900}
		})
		if rec := m.reconcile(t); rec.Status != "matched" || len(rec.Mismatches) != 0 {
			t.Errorf("reconciliation = %+v", rec)
		}
	})
}

// walletBalances reads, at the sandbox provider, the buyer's wallet, the centre's and the
// platform's fee wallet.
func walletBalances(t *testing.T, s *apptest.Server, buyerID, centerID string) [3]int64 {
	t.Helper()
	ctx := context.Background()
	wallets := s.App.Provider.(psp.Wallets)
	var out [3]int64
	if payer, err := storage.NewPayers(s.App.DB).Payer(ctx, buyerID); err == nil {
		w, err := wallets.GetWallet(ctx, payer.WalletID)
		if err != nil {
			t.Fatal(err)
		}
		out[0] = w.Balance
	}
	if payee, err := storage.NewCenterTransfers(s.App.DB).Payee(ctx, centerID); err == nil {
		w, err := wallets.GetOwnerWallet(ctx, payee.WalletID, psp.OwnerNotPresent)
		if err != nil {
			t.Fatal(err)
		}
		out[1] = w.Balance
	}
	fees, err := wallets.GetFeesWallet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out[2] = fees.Balance
	return out
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
