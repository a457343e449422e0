package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// debitStart is the base clock of the sepa_debit tests: the sandbox test clock only moves
// forward from it, whatever the day the tests run.
var debitStart = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// debitEnv is a sandbox server (the built-in provider and score partner) on a manual base
// clock, with a centre and an admin token.
type debitEnv struct {
	s      *apptest.Server
	center httpapi.Center
	admin  string
}

// debitBuyer is a buyer of a debitEnv and its token.
type debitBuyer struct {
	httpapi.Buyer
	tok string
}

func startDebit(t *testing.T, b storagetest.Backend, options ...apptest.Option) *debitEnv {
	t.Helper()
	s := apptest.Start(t, b, append([]apptest.Option{apptest.WithBaseClock(clock.NewManual(debitStart))}, options...)...)
	return &debitEnv{s: s, center: createCenter(t, s, "81234567600017"), admin: s.Token(t, auth.RoleAdmin, "")}
}

// noScoreRefresh makes the month close's refresh_scores step do nothing, and the scheduler
// start no close by itself: for tests that age scores by moving the clock across months (a
// close, started by the move or the scheduler, would check every SEPA buyer's score again,
// racing the test).
func noScoreRefresh() apptest.Option {
	return apptest.WithOptions(func(o *app.Options) {
		o.SchedulerInterval = time.Hour
		o.MonthCloseSteps = append(o.MonthCloseSteps, monthclose.StepFunc(monthclose.StepRefreshScores,
			func(context.Context, string, monthclose.Progress) (int, error) { return 0, nil }))
	})
}

func (e *debitEnv) buyer(t *testing.T, siren string) debitBuyer {
	t.Helper()
	b := createBuyer(t, e.s, siren)
	return debitBuyer{Buyer: b, tok: e.s.Token(t, auth.RoleBuyer, b.ID)}
}

// setScore makes the sandbox score partner answer value for the buyer (or unavailable when
// value < 0).
func (e *debitEnv) setScore(t *testing.T, b debitBuyer, value int) {
	t.Helper()
	body := map[string]any{"value": value}
	if value < 0 {
		body = map[string]any{"unavailable": true}
	}
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/" + b.SIREN, Token: e.admin, Body: body}).Expect(t, 200)
}

// mandate adds a bank account and creates a mandate on it, not signed.
func (e *debitEnv) mandate(t *testing.T, b debitBuyer) httpapi.Mandate {
	t.Helper()
	var a httpapi.BankAccount
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: b.tok, Body: bankAccountBody(ibanFR)}).Expect(t, 201).JSON(t, &a)
	var m httpapi.Mandate
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: b.tok,
		Body: map[string]any{"return_url": "https://shop.example/sepa/return"}}).Expect(t, 201).JSON(t, &m)
	return m
}

// signedMandate adds a bank account and signs a mandate on it on the sandbox signature page, as
// the buyer's browser does; the first signature runs the buyer's score check.
func (e *debitEnv) signedMandate(t *testing.T, b debitBuyer) httpapi.Mandate {
	t.Helper()
	m := e.mandate(t, b)
	signOnSandboxPage(t, m.SignatureURL)
	e.s.App.Notifications.Wait()
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + m.ID, Token: b.tok}).Expect(t, 200).JSON(t, &m)
	e.s.App.Notifications.Wait()
	if m.Status != "submitted" {
		t.Fatalf("signed mandate is %s", m.Status)
	}
	return m
}

// signOnSandboxPage posts the sandbox signature form (action=sign); the page answers 303 to the
// mandate's return URL.
func signOnSandboxPage(t testing.TB, signatureURL string) {
	t.Helper()
	if err := postSign(signatureURL); err != nil {
		t.Fatal(err)
	}
}

// postSign posts the sandbox signature form; it may run in any goroutine.
func postSign(signatureURL string) error {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(signatureURL, url.Values{"action": {"sign"}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("signature page %s answered %d", signatureURL, resp.StatusCode)
	}
	return nil
}

// order creates a payment_pending order of the buyer whose total is exactly total cents (0 % VAT).
func (e *debitEnv) order(t *testing.T, b debitBuyer, total int64) httpapi.Order {
	t.Helper()
	o := createOrder(t, e.s, b.tok, orderBody(e.center.ID, line("P", 1, total, 0)))
	if o.Total != total {
		t.Fatalf("order total %d, want %d", o.Total, total)
	}
	return o
}

func (e *debitEnv) payBySEPA(t *testing.T, b debitBuyer, orderID string) *apptest.Response {
	t.Helper()
	return e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
		Body: map[string]any{"order_id": orderID, "method": "sepa_debit"}})
}

func (e *debitEnv) profile(t *testing.T, b debitBuyer) httpapi.SEPAProfile {
	t.Helper()
	var p httpapi.SEPAProfile
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: b.tok}).Expect(t, 200).JSON(t, &p)
	return p
}

// eligibleBuyer is a buyer with a signed mandate and a passing score (the sandbox's 14).
func (e *debitEnv) eligibleBuyer(t *testing.T, siren string) (debitBuyer, httpapi.Mandate) {
	t.Helper()
	b := e.buyer(t, siren)
	m := e.signedMandate(t, b)
	if p := e.profile(t, b); !p.Enabled {
		t.Fatalf("buyer not enabled after signing: %+v", p)
	}
	return b, m
}

func TestSEPADebitAccepted(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, m := e.eligibleBuyer(t, "812345676")
		before := e.profile(t, b)
		if before.Outstanding != 0 || before.Available != 25000 || before.Month != "2026-11" {
			t.Fatalf("profile before = %+v", before)
		}

		o := e.order(t, b, 12345)
		r := e.payBySEPA(t, b, o.ID).Expect(t, 201)
		pi := decodeIntent(t, r)
		if pi.Status != "scheduled" || pi.Method != "sepa_debit" || pi.Amount != 12345 || pi.OrderID == nil || *pi.OrderID != o.ID || pi.BuyerID != b.ID ||
			pi.MandateID == nil || *pi.MandateID != m.ID || pi.CollectionMonth == nil || *pi.CollectionMonth != "2026-11" ||
			pi.NextAction != nil || pi.LastError != nil || pi.CardID != nil {
			t.Fatalf("intent = %+v", pi)
		}
		if loc := r.Header.Get("Location"); loc != "/v1/payment-intents/"+pi.ID {
			t.Errorf("Location = %q", loc)
		}
		var got httpapi.PaymentIntent
		e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + pi.ID, Token: b.tok}).Expect(t, 200).JSON(t, &got)
		if diff := cmp.Diff(pi, got); diff != "" {
			t.Errorf("read back (-created +read):\n%s", diff)
		}
		if got := getOrder(t, e.s, b.tok, o.ID); got.Status != "confirmed" {
			t.Errorf("order = %s, want confirmed", got.Status)
		}
		after := e.profile(t, b)
		if after.Outstanding != 12345 || after.Available != 25000-12345 || after.Ceiling != 25000 {
			t.Errorf("profile after = %+v", after)
		}

		// A confirmed order cannot be paid again, and nothing more is reserved.
		e.payBySEPA(t, b, o.ID).ExpectProblem(t, 409, "order_not_payable")
		if p := e.profile(t, b); p.Outstanding != 12345 {
			t.Errorf("outstanding after a refused second payment = %d", p.Outstanding)
		}
	})
}

func TestSEPADebitNotEligible(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		cases := []struct {
			name    string
			siren   string
			prepare func(t *testing.T, b debitBuyer)
			want    []string
		}{
			{"no bank account", "812345676", func(*testing.T, debitBuyer) {},
				[]string{"no_bank_account", "no_active_mandate", "no_score"}},
			{"mandate not signed", "823456785", func(t *testing.T, b debitBuyer) {
				e.mandate(t, b)
				e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin,
					Body: map[string]any{"buyer_id": b.ID}}).Expect(t, 201)
			}, []string{"no_active_mandate"}},
			{"no score", "834567893", func(t *testing.T, b debitBuyer) {
				e.setScore(t, b, -1) // the partner cannot answer the check run at the signature
				e.signedMandate(t, b)
			}, []string{"no_score"}},
			{"score below minimum", "845678903", func(t *testing.T, b debitBuyer) {
				e.setScore(t, b, 8)
				e.signedMandate(t, b)
			}, []string{"score_below_minimum"}},
			{"unpaid debit", "856789011", func(t *testing.T, b debitBuyer) {
				e.signedMandate(t, b)
				suspend(t, e.s, b.ID, "collection col_x failed: insufficient_funds")
			}, []string{"unpaid_debit"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := e.buyer(t, c.siren)
				c.prepare(t, b)
				o := e.order(t, b, 1000)
				p := e.payBySEPA(t, b, o.ID).ExpectProblem(t, 409, "sepa_not_eligible")
				if diff := cmp.Diff(c.want, p.Reasons); diff != "" {
					t.Errorf("reasons (-want +got):\n%s", diff)
				}
				if p.Available != nil {
					t.Errorf("available = %d on sepa_not_eligible", *p.Available)
				}
				// The profile says the same; nothing was reserved or written.
				prof := e.profile(t, b)
				if diff := cmp.Diff(c.want, prof.Reasons); diff != "" || prof.Enabled || prof.Outstanding != 0 {
					t.Errorf("profile = %+v (reasons -want +got:\n%s)", prof, diff)
				}
				if got := getOrder(t, e.s, b.tok, o.ID); got.Status != "payment_pending" || got.Payment != nil {
					t.Errorf("order = %+v", got)
				}
				var l httpapi.PaymentIntentList
				e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents?order_id=" + o.ID, Token: b.tok}).Expect(t, 200).JSON(t, &l)
				if len(l.Data) != 0 {
					t.Errorf("intents written for a refused payment: %+v", l.Data)
				}
			})
		}
	})
}

func TestSEPADebitCeilingExceeded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, _ := e.eligibleBuyer(t, "812345676")

		p := e.payBySEPA(t, b, e.order(t, b, 25001).ID).ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		if p.Available == nil || *p.Available != 25000 || p.Reasons != nil {
			t.Errorf("problem = %+v", p)
		}
		e.payBySEPA(t, b, e.order(t, b, 20000).ID).Expect(t, 201)
		o := e.order(t, b, 5001)
		p = e.payBySEPA(t, b, o.ID).ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		if p.Available == nil || *p.Available != 5000 {
			t.Errorf("problem = %+v", p)
		}
		if got := getOrder(t, e.s, b.tok, o.ID); got.Status != "payment_pending" {
			t.Errorf("refused order is %s", got.Status)
		}
		e.payBySEPA(t, b, e.order(t, b, 5000).ID).Expect(t, 201) // exactly what is left
		if prof := e.profile(t, b); prof.Outstanding != 25000 || prof.Available != 0 {
			t.Errorf("profile = %+v", prof)
		}
		p = e.payBySEPA(t, b, e.order(t, b, 1).ID).ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		if p.Available == nil || *p.Available != 0 {
			t.Errorf("problem = %+v", p)
		}

		// An operator's lower ceiling is honoured at once: nothing is available.
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/buyers/" + b.ID + "/sepa-ceiling", Token: e.admin,
			Body: map[string]any{"amount": 10000, "note": "risk review"}}).Expect(t, 200)
		p = e.payBySEPA(t, b, e.order(t, b, 1).ID).ExpectProblem(t, 409, "sepa_ceiling_exceeded")
		if p.Available == nil || *p.Available != 0 {
			t.Errorf("problem after lowering = %+v", p)
		}
	})
}

// TestSEPADebitParisMonth: 23:30 UTC on 30 November is 00:30 on 1 December in Paris; the
// payment counts in December's outstanding.
func TestSEPADebitParisMonth(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, _ := e.eligibleBuyer(t, "812345676")
		e.payBySEPA(t, b, e.order(t, b, 1000).ID).Expect(t, 201) // November
		o := e.order(t, b, 3000)
		at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.admin,
			Body: map[string]any{"now": at.Format(time.RFC3339)}}).Expect(t, 200)

		pi := decodeIntent(t, e.payBySEPA(t, b, o.ID).Expect(t, 201))
		if pi.CollectionMonth == nil || *pi.CollectionMonth != "2026-12" || pi.CreatedAt.Before(at) {
			t.Errorf("intent = %+v, want collection_month 2026-12", pi)
		}
		if p := e.profile(t, b); p.Month != "2026-12" || p.Outstanding != 3000 || p.Available != 22000 {
			t.Errorf("profile = %+v", p)
		}
		for month, want := range map[string]int64{"2026-11": 1000, "2026-12": 3000} {
			if got := outstanding(t, e.s, b.ID, month); got != want {
				t.Errorf("outstanding of %s = %d; want %d", month, got, want)
			}
		}
	})
}

// TestSEPADebitRace is the contract's race: 40 concurrent payments of 10 EUR on 40 orders of one
// buyer with a 250 EUR ceiling → exactly 25 accepted, 15 refused, 250 EUR outstanding.
func TestSEPADebitRace(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, _ := e.eligibleBuyer(t, "812345676")
		const n = 40
		ids := make([]string, n)
		for i := range ids {
			ids[i] = e.order(t, b, 1000).ID
		}

		var mu sync.Mutex
		statuses := map[string]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ids {
			wg.Go(func() {
				<-start
				r := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: b.tok,
					Header: map[string]string{"Idempotency-Key": "race-" + ids[i]},
					Body:   map[string]any{"order_id": ids[i], "method": "sepa_debit"}})
				outcome := http.StatusText(r.Status)
				switch r.Status {
				case 201:
					var pi httpapi.PaymentIntent
					r.JSON(t, &pi)
					outcome = pi.Status
				case 409:
					var p httpapi.Problem
					r.JSON(t, &p)
					outcome = p.Code
					if p.Code == "sepa_ceiling_exceeded" && (p.Available == nil || *p.Available != 0) {
						t.Errorf("refused with available %v, want 0", p.Available)
					}
				}
				mu.Lock()
				statuses[outcome]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if diff := cmp.Diff(map[string]int{"scheduled": 25, "sepa_ceiling_exceeded": 15}, statuses); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
		if p := e.profile(t, b); p.Outstanding != 25000 || p.Available != 0 {
			t.Errorf("profile = %+v", p)
		}
		confirmed := 0
		for _, id := range ids {
			if getOrder(t, e.s, b.tok, id).Status == "confirmed" {
				confirmed++
			}
		}
		if confirmed != 25 {
			t.Errorf("%d orders confirmed, want 25", confirmed)
		}
	})
}

// TestSEPADebitAsAdmin: an operator pays a buyer's order for it (buyer_id given).
func TestSEPADebitAsAdmin(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		e := startDebit(t, bk)
		b, m := e.eligibleBuyer(t, "812345676")
		o := e.order(t, b, 700)
		pi := decodeIntent(t, e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/payment-intents", Token: e.admin,
			Body: map[string]any{"order_id": o.ID, "buyer_id": b.ID, "method": "sepa_debit"}}).Expect(t, 201))
		if pi.Status != "scheduled" || pi.BuyerID != b.ID || *pi.MandateID != m.ID {
			t.Errorf("intent = %+v", pi)
		}
		if !strings.HasPrefix(*pi.MandateID, "mdt_") {
			t.Errorf("mandate_id %q is not a vhupay id", *pi.MandateID)
		}
	})
}

// TestSEPADebitStaleScore: the score's freshness is judged at the injected clock's instant.
func TestSEPADebitStaleScore(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, bk storagetest.Backend) {
		// A score goes stale 31 days after its check, which is always in a later month: the
		// move starts the previous month's close, whose refresh_scores would check every SEPA
		// buyer's score again, racing this payment.
		e := startDebit(t, bk, noScoreRefresh())
		b, _ := e.eligibleBuyer(t, "812345676") // scored at debitStart
		e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: e.admin,
			Body: map[string]any{"now": debitStart.Add(31 * 24 * time.Hour).Format(time.RFC3339)}}).Expect(t, 200)
		p := e.payBySEPA(t, b, e.order(t, b, 1000).ID).ExpectProblem(t, 409, "sepa_not_eligible")
		if diff := cmp.Diff([]string{"score_unavailable"}, p.Reasons); diff != "" {
			t.Errorf("reasons (-want +got):\n%s", diff)
		}
	})
}
