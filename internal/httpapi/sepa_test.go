package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	scoringsandbox "github.com/vhupay/vhupay/internal/scoring/sandbox"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// Test IBANs (SANDBOX.md) and their masked forms.
const (
	ibanFR  = "FR7630006000011234567890189"
	ibanFR2 = "FR7630004000031234567890143"
	ibanDE  = "DE89370400440532013000"
)

// sepaEnv is a server in MangoPay mode against the fake, on a manual clock, with one buyer.
type sepaEnv struct {
	s     *apptest.Server
	fake  *mangopaytest.Server
	clock *clock.Manual
	buyer httpapi.Buyer
	tok   string // the buyer's token
	admin string
}

var sepaStart = time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)

func startSEPA(t *testing.T, b storagetest.Backend) *sepaEnv {
	t.Helper()
	fake := mangopaytest.New(mangopaytest.Config{})
	t.Cleanup(fake.Close)
	clk := clock.NewManual(sepaStart)
	// These tests move the clock by weeks to age scores: no month close checks the scores again
	// behind their backs.
	s := apptest.Start(t, b, apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey), apptest.WithBaseClock(clk), noScoreRefresh())
	buyer := createBuyer(t, s, "812345676")
	return &sepaEnv{s: s, fake: fake, clock: clk, buyer: buyer, tok: s.Token(t, auth.RoleBuyer, buyer.ID), admin: s.Token(t, auth.RoleAdmin, "")}
}

func bankAccountBody(iban string) map[string]any {
	return map[string]any{
		"owner_name": "Garage Martin SARL", "iban": iban,
		"owner_address": map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
	}
}

func (e *sepaEnv) addAccount(t *testing.T, iban string) httpapi.BankAccount {
	t.Helper()
	var a httpapi.BankAccount
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody(iban)}).Expect(t, 201).JSON(t, &a)
	return a
}

func (e *sepaEnv) account(t *testing.T, id string) httpapi.BankAccount {
	t.Helper()
	var a httpapi.BankAccount
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts/" + id, Token: e.tok}).Expect(t, 200).JSON(t, &a)
	return a
}

func (e *sepaEnv) createMandate(t *testing.T, accountID, returnURL string) httpapi.Mandate {
	t.Helper()
	var m httpapi.Mandate
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + accountID + "/mandates", Token: e.tok,
		Body: map[string]any{"return_url": returnURL}}).Expect(t, 201).JSON(t, &m)
	return m
}

func (e *sepaEnv) mandate(t *testing.T, id string) httpapi.Mandate {
	t.Helper()
	var m httpapi.Mandate
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + id, Token: e.tok}).Expect(t, 200).JSON(t, &m)
	return m
}

func (e *sepaEnv) profile(t *testing.T) httpapi.SEPAProfile {
	t.Helper()
	var p httpapi.SEPAProfile
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa", Token: e.tok}).Expect(t, 200).JSON(t, &p)
	return p
}

// sign goes through the provider's signature page as the buyer's browser would (action "sign" or
// "refuse") and returns where the page sends the browser back.
func sign(t *testing.T, m httpapi.Mandate, action string) *url.URL {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(m.SignatureURL + "?action=" + action)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("signature page answered %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// signedMandate adds an account, creates a mandate on it and signs it; the buyer's first
// signature also runs its score check.
func (e *sepaEnv) signedMandate(t *testing.T, iban string) (httpapi.BankAccount, httpapi.Mandate) {
	t.Helper()
	a := e.addAccount(t, iban)
	m := e.createMandate(t, a.ID, "https://shop.example/sepa/return")
	sign(t, m, "sign")
	m = e.mandate(t, m.ID)
	if m.Status != "submitted" {
		t.Fatalf("signed mandate is %s", m.Status)
	}
	return a, m
}

func (e *sepaEnv) setScore(t *testing.T, a scoringsandbox.Answer) {
	t.Helper()
	if _, err := e.s.App.SandboxScores.Set(context.Background(), e.buyer.SIREN, a); err != nil {
		t.Fatal(err)
	}
}

// assertNoIBAN fails when a full IBAN appears in any text the database holds.
func assertNoIBAN(t *testing.T, s *apptest.Server, ibans ...string) {
	t.Helper()
	ctx := context.Background()
	db := s.App.DB.SQL()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	if s.App.DB.Dialect() == storage.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table'`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				text := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					text = string(b)
				}
				for _, iban := range ibans {
					if strings.Contains(strings.ReplaceAll(text, " ", ""), iban) {
						t.Errorf("table %s column %s holds the IBAN %s", table, cols[i], iban)
					}
				}
			}
		}
		rows.Close()
	}
}

func assertNoIBANIn(t *testing.T, body []byte, ibans ...string) {
	t.Helper()
	for _, iban := range ibans {
		if strings.Contains(strings.ReplaceAll(string(body), " ", ""), iban) {
			t.Errorf("a response holds the IBAN %s: %s", iban, body)
		}
	}
}

func TestBankAccounts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s

		// The first account is the default; the IBAN is answered masked only.
		resp := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok,
			Body: bankAccountBody("fr76 3000 6000 0112 3456 7890 189")}).Expect(t, 201)
		assertNoIBANIn(t, resp.Body, ibanFR)
		var first httpapi.BankAccount
		resp.JSON(t, &first)
		if resp.Header.Get("Location") != "/v1/bank-accounts/"+first.ID {
			t.Errorf("Location = %q", resp.Header.Get("Location"))
		}
		want := httpapi.BankAccount{ID: first.ID, OwnerName: "Garage Martin SARL", Country: "FR", IBANLast4: "0189",
			MaskedIBAN: "FR76 **** **** **** **** ***0 189", Status: "active", IsDefault: true, CreatedAt: sepaStart}
		if diff := cmp.Diff(want, first); diff != "" {
			t.Errorf("first account (-want +got):\n%s", diff)
		}
		if !strings.Contains(string(resp.Body), `"bic":null`) {
			t.Errorf("bic is not null: %s", resp.Body)
		}

		// Another IBAN, with a BIC written loosely: not the default.
		body := bankAccountBody(ibanDE)
		body["bic"] = "cobade ff xxx"
		var second httpapi.BankAccount
		resp = s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: body}).Expect(t, 201)
		assertNoIBANIn(t, resp.Body, ibanDE)
		resp.JSON(t, &second)
		if second.IsDefault || second.BIC == nil || *second.BIC != "COBADEFFXXX" || second.MaskedIBAN != "DE89 **** **** **** **30 00" {
			t.Errorf("second account = %+v", second)
		}

		// The same IBAN again, however written, is refused before the provider sees it.
		before := e.fake.Created("bankaccounts")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody("FR76 3000 6000 0112 3456 7890 189")}).
			ExpectProblem(t, 409, "bank_account_exists")
		if got := e.fake.Created("bankaccounts"); got != before {
			t.Errorf("the provider got %d more accounts for a duplicate", got-before)
		}
		// Another buyer may register the same IBAN.
		other := createBuyer(t, s, "823456785")
		otherTok := s.Token(t, auth.RoleBuyer, other.ID)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: otherTok, Body: bankAccountBody(ibanFR)}).Expect(t, 201)

		// Lists: newest first; a buyer sees its own; an operator filters by buyer.
		var list httpapi.BankAccountList
		resp = s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts", Token: e.tok}).Expect(t, 200)
		assertNoIBANIn(t, resp.Body, ibanFR, ibanDE)
		resp.JSON(t, &list)
		if len(list.Data) != 2 || list.Data[0].ID != second.ID || list.Data[1].ID != first.ID || list.HasMore {
			t.Errorf("buyer's list = %+v", list)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts?buyer_id=" + other.ID, Token: e.admin}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Errorf("admin's list for the other buyer = %+v", list)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts", Token: e.admin}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 3 {
			t.Errorf("admin's full list has %d accounts, want 3", len(list.Data))
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts?limit=1", Token: e.tok}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 || !list.HasMore || list.NextCursor == "" {
			t.Errorf("first page = %+v", list)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts/" + first.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts/" + first.ID, Token: e.admin}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts/ba_nope", Token: e.tok}).ExpectProblem(t, 404, "not_found")

		// Change the default: exactly one default.
		var def httpapi.BankAccount
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + second.ID + "/default", Token: e.tok}).Expect(t, 200).JSON(t, &def)
		if !def.IsDefault || def.ID != second.ID {
			t.Errorf("default = %+v", def)
		}
		if e.account(t, first.ID).IsDefault {
			t.Error("the first account is still a default")
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + first.ID + "/default", Token: otherTok}).ExpectProblem(t, 404, "not_found")

		// Delete the default: inactive, deactivated at the provider, the other becomes the default.
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + second.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + second.ID, Token: e.tok}).Expect(t, 204)
		if a := e.account(t, second.ID); a.Status != "inactive" || a.IsDefault {
			t.Errorf("deleted account = %+v", a)
		}
		if !e.account(t, first.ID).IsDefault {
			t.Error("the remaining account did not become the default")
		}
		if n := e.fake.Calls("PUT /users/{id}/bankaccounts/{id}"); n != 1 {
			t.Errorf("provider deactivations = %d, want 1 (calls %v)", n, e.fake.CallCounts())
		}
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + second.ID, Token: e.tok}).Expect(t, 204)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + second.ID + "/default", Token: e.tok}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + second.ID + "/mandates", Token: e.tok,
			Body: map[string]any{"return_url": "https://shop.example/back"}}).ExpectProblem(t, 409, "invalid_transition")

		// A deleted account's IBAN may come back, as a new account.
		again := e.addAccount(t, ibanDE)
		if again.ID == second.ID || again.IsDefault || again.Status != "active" {
			t.Errorf("re-added account = %+v", again)
		}

		assertNoIBAN(t, s, ibanFR, ibanDE)
	})
}

func TestBankAccountValidation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		tests := []struct {
			name        string
			iban, bic   string
			field, code string
		}{
			{"bad characters", "FR76-3000-6000", "", "iban", "iban_format"},
			{"too short", "FR7", "", "iban", "iban_format"},
			{"not SEPA", "US64SVBKUS6S3300958879", "", "iban", "iban_country"},
			{"wrong length", "FR763000600001123456789018", "", "iban", "iban_length"},
			{"wrong check digits", "FR7730006000011234567890189", "", "iban", "iban_checksum"},
			{"bad BIC", ibanFR, "AGRI", "bic", "bic"},
			{"BIC with a digit country", ibanFR, "AGRI1RPP", "bic", "bic"},
			{"empty IBAN", "", "", "iban", "required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := bankAccountBody(tt.iban)
				if tt.bic != "" {
					body["bic"] = tt.bic
				}
				p := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: body}).ExpectProblem(t, 422, "validation_failed")
				if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Code != tt.code || p.Errors[0].Message == "" {
					t.Errorf("errors = %+v, want one %s on %s", p.Errors, tt.code, tt.field)
				}
				if tt.iban != "" && strings.Contains(p.Errors[0].Message, tt.iban) {
					t.Errorf("the message repeats the IBAN: %q", p.Errors[0].Message)
				}
			})
		}
		body := bankAccountBody(ibanFR)
		delete(body, "owner_name")
		body["extra"] = 1
		p := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: body}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != "extra" {
			t.Errorf("errors = %+v, want the unknown field", p.Errors)
		}
		if n := e.fake.Created("bankaccounts"); n != 0 {
			t.Errorf("the provider got %d accounts for invalid requests", n)
		}
	})
}

func TestMandates(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s
		a := e.addAccount(t, ibanFR)

		// Before any mandate: no mandate, no score.
		if p := e.profile(t); !cmp.Equal(p.Reasons, []string{"no_active_mandate", "no_score"}) || p.Enabled || p.ProbationUntil != nil {
			t.Errorf("profile before a mandate = %+v", p)
		}

		m := e.createMandate(t, a.ID, "https://shop.example/sepa/return?cart=42")
		if m.Status != "pending_signature" || m.BankAccountID != a.ID || !strings.HasPrefix(m.SignatureURL, e.fake.URL) ||
			m.ReturnURL != "https://shop.example/sepa/return?cart=42" || m.Reference == nil || !m.CreatedAt.Equal(sepaStart) {
			t.Errorf("new mandate = %+v", m)
		}
		if got := e.mandate(t, m.ID); got.Status != "pending_signature" {
			t.Errorf("unsigned mandate refreshed to %s", got.Status)
		}

		// The buyer signs; the provider sends the browser back with mandate_id, keeping the query.
		e.clock.Advance(time.Hour)
		back := sign(t, m, "sign")
		if back.Host != "shop.example" || back.Query().Get("mandate_id") != m.ID || back.Query().Get("cart") != "42" {
			t.Errorf("the browser comes back to %s", back)
		}
		got := e.mandate(t, m.ID)
		if got.Status != "submitted" || !got.UpdatedAt.Equal(sepaStart.Add(time.Hour)) {
			t.Errorf("signed mandate = %+v", got)
		}

		// The first signature started the probation and ran the score check (the sandbox answers 14).
		p := e.profile(t)
		signedAt := sepaStart.Add(time.Hour)
		want := httpapi.SEPAProfile{Enabled: true, Reasons: []string{}, Ceiling: 25000, Outstanding: 0, Available: 25000,
			Currency: "EUR", Month: "2026-11", Score: &httpapi.SEPAScore{Value: 14, Scale: 20, Minimum: 10, CheckedAt: signedAt},
			DefaultMandateID: &m.ID, ProbationUntil: ptr(time.Date(2027, 2, 10, 10, 0, 0, 0, time.UTC))}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("profile after the signature (-want +got):\n%s", diff)
		}

		// The provider's notification path: the bank activates the mandate.
		if err := e.fake.ActivateMandate(providerID(t, e, m.ID)); err != nil {
			t.Fatal(err)
		}
		for range 2 { // idempotent
			if err := s.App.SEPA.ApplyMandate(context.Background(), providerID(t, e, m.ID)); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.mandate(t, m.ID); got.Status != "active" {
			t.Errorf("activated mandate = %s", got.Status)
		}
		expectMandateEvents(t, s, e.tok, m.ID, "mandate.submitted", "mandate.active")
		if err := s.App.SEPA.ApplyMandate(context.Background(), "mdt_unknown"); err == nil {
			t.Error("ApplyMandate of an unknown provider id succeeded")
		}

		// A refused signature fails the mandate.
		refused := e.createMandate(t, a.ID, "https://shop.example/sepa/return")
		sign(t, refused, "refuse")
		if got := e.mandate(t, refused.ID); got.Status != "failed" {
			t.Errorf("refused mandate = %s", got.Status)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + refused.ID + "/cancel", Token: e.tok}).ExpectProblem(t, 409, "invalid_transition")
		expectMandateEvents(t, s, e.tok, refused.ID, "mandate.failed")

		// Lists: the buyer's own, newest first; others see nothing of them.
		var list httpapi.MandateList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates", Token: e.tok}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 2 || list.Data[0].ID != refused.ID || list.Data[1].ID != m.ID {
			t.Errorf("mandates = %+v", list.Data)
		}
		other := createBuyer(t, s, "823456785")
		otherTok := s.Token(t, auth.RoleBuyer, other.ID)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates", Token: otherTok}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 0 {
			t.Errorf("another buyer lists %+v", list.Data)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + m.ID, Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + m.ID + "/cancel", Token: otherTok}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: otherTok,
			Body: map[string]any{"return_url": "https://shop.example/back"}}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates?buyer_id=" + e.buyer.ID, Token: e.admin}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 2 {
			t.Errorf("admin lists %d mandates, want 2", len(list.Data))
		}

		// Cancel the active mandate: cancelled at the provider too; SEPA is off again.
		var cancelled httpapi.Mandate
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + m.ID + "/cancel", Token: e.tok}).Expect(t, 200).JSON(t, &cancelled)
		if cancelled.Status != "cancelled" {
			t.Errorf("cancelled mandate = %+v", cancelled)
		}
		if st, _ := e.fake.MandateStatus(providerID(t, e, m.ID)); st != "FAILED" {
			t.Errorf("provider mandate is %s, want FAILED (MangoPay's cancellation)", st)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + m.ID + "/cancel", Token: e.admin}).Expect(t, 200)
		expectMandateEvents(t, s, e.tok, m.ID, "mandate.submitted", "mandate.active", "mandate.cancelled")
		if p := e.profile(t); !cmp.Equal(p.Reasons, []string{"no_active_mandate"}) || p.DefaultMandateID != nil {
			t.Errorf("profile after the cancellation = %+v", p)
		}

		// An unsigned mandate is cancelled here only; signing it afterwards is undone at the provider.
		pending := e.createMandate(t, a.ID, "https://shop.example/sepa/return")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/mandates/" + pending.ID + "/cancel", Token: e.tok}).Expect(t, 200)
		sign(t, pending, "sign")
		if err := s.App.SEPA.ApplyMandate(context.Background(), providerID(t, e, pending.ID)); err != nil {
			t.Fatal(err)
		}
		if got := e.mandate(t, pending.ID); got.Status != "cancelled" {
			t.Errorf("mandate signed after its cancellation = %s", got.Status)
		}
		if st, _ := e.fake.MandateStatus(providerID(t, e, pending.ID)); st != "FAILED" {
			t.Errorf("provider mandate signed after its cancellation is %s, want it cancelled", st)
		}

		// Deleting the account cancels its signed mandates at the provider.
		signed := e.createMandate(t, a.ID, "https://shop.example/sepa/return")
		sign(t, signed, "sign")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + a.ID, Token: e.tok}).Expect(t, 204)
		if got := e.mandate(t, signed.ID); got.Status != "cancelled" {
			t.Errorf("mandate of a deleted account = %s", got.Status)
		}
		if st, _ := e.fake.MandateStatus(providerID(t, e, signed.ID)); st != "FAILED" {
			t.Errorf("provider mandate of a deleted account is %s", st)
		}
		if p := e.profile(t); !cmp.Equal(p.Reasons, []string{"no_bank_account", "no_active_mandate"}) {
			t.Errorf("profile without accounts = %+v", p.Reasons)
		}
		assertNoIBAN(t, s, ibanFR)
	})
}

func TestMandateReturnURL(t *testing.T) {
	e := startSEPA(t, storagetest.SQLite)
	a := e.addAccount(t, ibanFR)
	for _, u := range []string{"", "ftp://shop.example/x", "http://shop.example/x", "https://shop.example/x#frag",
		"https://shop.example/" + strings.Repeat("x", 170)} {
		p := e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: e.tok,
			Body: map[string]any{"return_url": u}}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != "return_url" {
			t.Errorf("%q: errors = %+v", u, p.Errors)
		}
	}
	e.createMandate(t, a.ID, "http://localhost:5173/sepa")
	if n := e.fake.Created("mandates"); n != 1 {
		t.Errorf("provider mandates = %d, want 1", n)
	}
}

// providerID reads a mandate's provider id from the database (the API never shows it).
func providerID(t *testing.T, e *sepaEnv, mandateID string) string {
	t.Helper()
	var id string
	q := "SELECT provider_id FROM mandates WHERE id = $1"
	if e.s.App.DB.Dialect() == storage.SQLite {
		q = "SELECT provider_id FROM mandates WHERE id = ?"
	}
	if err := e.s.App.DB.SQL().QueryRowContext(context.Background(), q, mandateID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func ptr[T any](v T) *T { return &v }

func TestScoreRules(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s
		check := func(t *testing.T) *apptest.Response {
			t.Helper()
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{"buyer_id": e.buyer.ID}})
		}
		reasons := func(t *testing.T, want ...string) {
			t.Helper()
			if want == nil {
				want = []string{}
			}
			p := e.profile(t)
			if !cmp.Equal(p.Reasons, want) || p.Enabled != (len(want) == 0) {
				t.Errorf("at %s reasons = %v (enabled %v), want %v", e.clock.Now(), p.Reasons, p.Enabled, want)
			}
		}
		e.setScore(t, scoringsandbox.Answer{Value: 8})
		e.signedMandate(t, ibanFR)
		reasons(t, "score_below_minimum")

		e.setScore(t, scoringsandbox.Answer{Value: 15})
		var sc httpapi.ScoreCheck
		check(t).Expect(t, 201).JSON(t, &sc)
		if sc != (httpapi.ScoreCheck{Value: 15, Scale: 20, CheckedAt: sepaStart}) {
			t.Errorf("score check = %+v", sc)
		}
		reasons(t)

		// An outage with a fresh score: still enabled, and the grace runs to 45 days.
		e.setScore(t, scoringsandbox.Answer{Unavailable: true})
		e.clock.Advance(20 * 24 * time.Hour)
		check(t).ExpectProblem(t, 502, "score_unavailable")
		reasons(t)
		e.clock.Advance(20 * 24 * time.Hour) // 40 days: past 31, within the grace
		reasons(t)
		e.clock.Advance(5 * 24 * time.Hour) // 45 days
		reasons(t, "score_unavailable")
		p := e.profile(t)
		if p.Score == nil || p.Score.Value != 15 || !p.Score.CheckedAt.Equal(sepaStart) {
			t.Errorf("the last score = %+v, want 15 of the first check", p.Score)
		}

		// A later check that passes enables SEPA again.
		e.setScore(t, scoringsandbox.Answer{Value: 12})
		check(t).Expect(t, 201)
		reasons(t)

		// Without an outage, a score older than 31 days no longer counts.
		e.clock.Advance(31 * 24 * time.Hour)
		reasons(t, "score_unavailable")

		// An unknown buyer.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{"buyer_id": "byr_nope"}}).
			ExpectProblem(t, 404, "not_found")
		p2 := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{}}).ExpectProblem(t, 422, "validation_failed")
		if len(p2.Errors) != 1 || p2.Errors[0].Field != "buyer_id" {
			t.Errorf("errors = %+v", p2.Errors)
		}
		// The month close's entry point.
		got, err := s.App.SEPA.CheckScore(context.Background(), e.buyer.ID)
		if err != nil || got.Value != 12 {
			t.Errorf("CheckScore = %+v, %v", got, err)
		}
	})
}

func TestScoreCheckRateLimit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s
		buyerCheck := func(t *testing.T, body any) *apptest.Response {
			t.Helper()
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.tok, Body: body})
		}
		// A check the partner could not answer does not count.
		e.setScore(t, scoringsandbox.Answer{Unavailable: true})
		buyerCheck(t, nil).ExpectProblem(t, 502, "score_unavailable")
		buyerCheck(t, nil).ExpectProblem(t, 502, "score_unavailable")

		e.setScore(t, scoringsandbox.Answer{Value: 16})
		var sc httpapi.ScoreCheck
		buyerCheck(t, map[string]any{}).Expect(t, 201).JSON(t, &sc)
		if sc.Value != 16 {
			t.Errorf("score = %+v", sc)
		}
		e.clock.Advance(10 * time.Hour)
		r := buyerCheck(t, nil)
		r.ExpectProblem(t, 429, "rate_limited")
		if got := r.Header.Get("Retry-After"); got != "50400" {
			t.Errorf("Retry-After = %q, want 50400 (14 h)", got)
		}
		// Another buyer's id is not the buyer's to give.
		buyerCheck(t, map[string]any{"buyer_id": "byr_other"}).ExpectProblem(t, 404, "not_found")
		// Operators and services are not limited.
		for _, tok := range []string{e.admin, e.admin, s.Token(t, auth.RoleService, "")} {
			s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: tok, Body: map[string]any{"buyer_id": e.buyer.ID}}).Expect(t, 201)
		}
		e.clock.Advance(14*time.Hour - time.Second)
		buyerCheck(t, nil).ExpectProblem(t, 429, "rate_limited")
		e.clock.Advance(time.Second) // a rolling 24 h since the buyer's last score
		buyerCheck(t, nil).Expect(t, 201)
	})
}

func TestSandboxScores(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		buyer := createBuyer(t, s, "834567893")
		check := func() *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: admin, Body: map[string]any{"buyer_id": buyer.ID}})
		}
		var sc httpapi.ScoreCheck
		check().Expect(t, 201).JSON(t, &sc)
		if sc.Value != 14 {
			t.Errorf("default sandbox score = %d, want 14", sc.Value)
		}
		var got httpapi.SandboxScore
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/834567893", Token: admin, Body: map[string]any{"value": 8}}).Expect(t, 200).JSON(t, &got)
		if got.SIREN != "834567893" || got.Value == nil || *got.Value != 8 || got.Unavailable {
			t.Errorf("set score = %+v", got)
		}
		check().Expect(t, 201).JSON(t, &sc)
		if sc.Value != 8 {
			t.Errorf("score = %d, want 8", sc.Value)
		}
		var p httpapi.SEPAProfile
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + buyer.ID + "/sepa", Token: s.Token(t, auth.RoleService, "")}).Expect(t, 200).JSON(t, &p)
		if !cmp.Equal(p.Reasons, []string{"no_bank_account", "no_active_mandate", "score_below_minimum"}) {
			t.Errorf("reasons = %v", p.Reasons)
		}
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/834567893", Token: admin, Body: map[string]any{"unavailable": true}}).Expect(t, 200).JSON(t, &got)
		if got.Value != nil || !got.Unavailable {
			t.Errorf("set unavailable = %+v", got)
		}
		check().ExpectProblem(t, 502, "score_unavailable")

		for _, tc := range []struct {
			path string
			body any
		}{
			{"/v1/sandbox/scores/834567893", map[string]any{"value": 21}},
			{"/v1/sandbox/scores/834567893", map[string]any{"value": -1}},
			{"/v1/sandbox/scores/834567893", map[string]any{}},
			{"/v1/sandbox/scores/834567893", map[string]any{"value": 8, "unavailable": true}},
			{"/v1/sandbox/scores/834567894", map[string]any{"value": 8}},
		} {
			s.Do(t, apptest.Request{Method: "PUT", Path: tc.path, Token: admin, Body: tc.body}).ExpectProblem(t, 422, "validation_failed")
		}
		// In sandbox mode the simulated provider takes the bank account.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: s.Token(t, auth.RoleBuyer, buyer.ID), Body: bankAccountBody(ibanFR)}).
			Expect(t, 201)
	})
}

func TestSandboxScoresOnlyInSandbox(t *testing.T) {
	e := startSEPA(t, storagetest.SQLite)
	e.s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/scores/812345676", Token: e.admin, Body: map[string]any{"value": 8}}).
		ExpectProblem(t, 404, "not_found")
}

func TestCeilingOverrideAndReinstatement(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s
		path := "/v1/admin/buyers/" + e.buyer.ID
		changes := func(t *testing.T) []httpapi.CeilingChange {
			t.Helper()
			var own, admin httpapi.CeilingChangeList
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sepa/ceiling-changes", Token: e.tok}).Expect(t, 200).JSON(t, &own)
			s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + e.buyer.ID + "/sepa/ceiling-changes", Token: e.admin}).Expect(t, 200).JSON(t, &admin)
			if diff := cmp.Diff(own.Data, admin.Data); diff != "" {
				t.Errorf("the buyer and the admin see different changes:\n%s", diff)
			}
			return own.Data
		}
		initial := httpapi.CeilingChange{From: 0, To: 25000, Reason: "initial", Note: "", CreatedAt: sepaStart}
		if diff := cmp.Diff([]httpapi.CeilingChange{initial}, changes(t)); diff != "" {
			t.Errorf("changes of a new profile (-want +got):\n%s", diff)
		}

		e.clock.Advance(time.Hour)
		var p httpapi.SEPAProfile
		s.Do(t, apptest.Request{Method: "PUT", Path: path + "/sepa-ceiling", Token: e.admin,
			Body: map[string]any{"amount": 50000, "note": "bank guarantee"}}).Expect(t, 200).JSON(t, &p)
		if p.Ceiling != 50000 || p.Available != 50000 {
			t.Errorf("profile after the override = %+v", p)
		}
		manual := httpapi.CeilingChange{From: 25000, To: 50000, Reason: "manual", Note: "bank guarantee", CreatedAt: sepaStart.Add(time.Hour)}
		if ae := expectAudit(t, s, "sepa.ceiling_override", e.buyer.ID, "admin", 1); !strings.Contains(string(ae.Before), `"ceiling":25000`) ||
			!strings.Contains(string(ae.After), `"ceiling":50000`) {
			t.Errorf("override entry: before %s after %s", ae.Before, ae.After)
		}
		if diff := cmp.Diff([]httpapi.CeilingChange{manual, initial}, changes(t)); diff != "" {
			t.Errorf("changes after the override (-want +got):\n%s", diff)
		}
		for _, body := range []map[string]any{
			{"amount": -1, "note": "x"}, {"amount": 100_000_001, "note": "x"}, {"amount": 1000}, {"amount": 1000, "note": ""}, {"note": "x"},
		} {
			s.Do(t, apptest.Request{Method: "PUT", Path: path + "/sepa-ceiling", Token: e.admin, Body: body}).ExpectProblem(t, 422, "validation_failed")
		}
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/admin/buyers/byr_nope/sepa-ceiling", Token: e.admin,
			Body: map[string]any{"amount": 1000, "note": "x"}}).ExpectProblem(t, 404, "not_found")

		// Not suspended: nothing to lift.
		s.Do(t, apptest.Request{Method: "POST", Path: path + "/sepa-reinstatement", Token: e.admin}).ExpectProblem(t, 409, "invalid_transition")

		// An unpaid debit suspends; the operator reinstates at the initial ceiling, with a new probation.
		suspend(t, s, e.buyer.ID, "collection failed: insufficient_funds")
		suspend(t, s, e.buyer.ID, "again")
		if p := e.profile(t); !p.Suspended || p.Reasons[len(p.Reasons)-1] != "unpaid_debit" {
			t.Errorf("suspended profile = %+v", p)
		}
		e.clock.Advance(time.Hour)
		s.Do(t, apptest.Request{Method: "POST", Path: path + "/sepa-reinstatement", Token: e.admin}).Expect(t, 200).JSON(t, &p)
		reinstatedAt := sepaStart.Add(2 * time.Hour)
		if p.Suspended || p.Ceiling != 25000 || p.ProbationUntil == nil || !p.ProbationUntil.Equal(reinstatedAt.AddDate(0, 3, 0)) {
			t.Errorf("reinstated profile = %+v", p)
		}
		reset := httpapi.CeilingChange{From: 50000, To: 25000, Reason: "unpaid_reset", CreatedAt: reinstatedAt}
		if ae := expectAudit(t, s, "sepa.reinstatement", e.buyer.ID, "admin", 1); !strings.Contains(string(ae.Before), `"suspended":true`) ||
			!strings.Contains(string(ae.After), `"suspended":false`) {
			t.Errorf("reinstatement entry: before %s after %s", ae.Before, ae.After)
		}
		if diff := cmp.Diff([]httpapi.CeilingChange{reset, manual, initial}, changes(t)); diff != "" {
			t.Errorf("changes after the reinstatement (-want +got):\n%s", diff)
		}
		// Reinstated at the value it already has: the change is recorded all the same.
		suspend(t, s, e.buyer.ID, "again")
		s.Do(t, apptest.Request{Method: "POST", Path: path + "/sepa-reinstatement", Token: e.admin}).Expect(t, 200)
		if got := changes(t)[0]; got.Reason != "unpaid_reset" || got.From != 25000 || got.To != 25000 {
			t.Errorf("latest change = %+v", got)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: path + "/sepa-reinstatement", Token: e.admin}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/byr_nope/sepa", Token: e.admin}).ExpectProblem(t, 404, "not_found")
		// Refused acts are not audited: one override, two reinstatements.
		expectAudit(t, s, "sepa.ceiling_override", e.buyer.ID, "admin", 1)
		expectAudit(t, s, "sepa.reinstatement", e.buyer.ID, "admin", 2)
	})
}

func TestSEPAProviderOutage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		s := e.s
		a := e.addAccount(t, ibanFR)
		m := e.createMandate(t, a.ID, "https://shop.example/sepa/return")
		sign(t, m, "sign")

		e.fake.InjectFault(mangopaytest.Fault{Status: 500})
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody(ibanFR2)}).ExpectProblem(t, 502, "psp_unavailable")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + a.ID + "/mandates", Token: e.tok,
			Body: map[string]any{"return_url": "https://shop.example/back"}}).ExpectProblem(t, 502, "psp_unavailable")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + a.ID, Token: e.tok}).ExpectProblem(t, 502, "psp_unavailable")
		// A read of a pending mandate answers what is stored.
		if got := e.mandate(t, m.ID); got.Status != "pending_signature" {
			t.Errorf("mandate read during the outage = %s", got.Status)
		}
		var accounts httpapi.BankAccountList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/bank-accounts", Token: e.tok}).Expect(t, 200).JSON(t, &accounts)
		if len(accounts.Data) != 1 || accounts.Data[0].Status != "active" {
			t.Errorf("accounts after the outage = %+v", accounts.Data)
		}
		var mandates httpapi.MandateList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates", Token: e.tok}).Expect(t, 200).JSON(t, &mandates)
		if len(mandates.Data) != 1 {
			t.Errorf("mandates after the outage = %+v", mandates.Data)
		}

		// Once the provider is back, the same requests go through.
		e.fake.ClearFaults()
		if got := e.mandate(t, m.ID); got.Status != "submitted" {
			t.Errorf("mandate after the outage = %s", got.Status)
		}
		e.addAccount(t, ibanFR2)
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + a.ID, Token: e.tok}).Expect(t, 204)
	})
}

// TestIBANNeverLogged runs the bank account flows with the server's log on and checks that no
// log line holds a full IBAN.
func TestIBANNeverLogged(t *testing.T) {
	t.Setenv("VHUPAY_TEST_LOG", "1") // apptest then logs to os.Stderr, which we capture
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	var captured bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&captured, r); close(done) }()
	restored := false
	restore := func() {
		if !restored {
			restored = true
			os.Stderr = stderr
			w.Close()
			<-done
		}
	}
	t.Cleanup(restore)

	e := startSEPA(t, storagetest.SQLite)
	a := e.addAccount(t, ibanFR)
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody(ibanFR)}).ExpectProblem(t, 409, "bank_account_exists")
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody("FR7730006000011234567890189")}).ExpectProblem(t, 422, "validation_failed")
	e.fake.InjectFault(mangopaytest.Fault{Status: 500})
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: e.tok, Body: bankAccountBody(ibanDE)}).ExpectProblem(t, 502, "psp_unavailable")
	e.fake.ClearFaults()
	e.addAccount(t, ibanDE)
	e.s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/bank-accounts/" + a.ID, Token: e.tok}).Expect(t, 204)
	restore()

	logs := captured.String()
	if !strings.Contains(logs, "/v1/bank-accounts") {
		t.Fatalf("no request was logged: %q", logs)
	}
	for _, iban := range []string{ibanFR, ibanDE, "FR7730006000011234567890189"} {
		if strings.Contains(strings.ReplaceAll(logs, " ", ""), iban) {
			t.Errorf("the log holds the IBAN %s", iban)
		}
	}
}

// TestCeilingReview exercises what the month close's ceiling review reads for a buyer
// (CeilingReviewInput: the current ceiling, the probation, the latest score) with the ceiling
// policy; collections' tests cover the review step that records the change.
func TestCeilingReview(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := startSEPA(t, b)
		ctx := context.Background()
		svc := e.s.App.SEPA
		policy := svc.CeilingPolicy()
		review := func(totals []int64, unpaid bool) (int64, bool) {
			t.Helper()
			in, err := svc.CeilingReviewInput(ctx, e.buyer.ID, totals, unpaid)
			if err != nil {
				t.Fatal(err)
			}
			return policy.Review(in)
		}
		e.signedMandate(t, ibanFR)
		if c, changed := review([]int64{20000}, false); changed || c != 25000 {
			t.Errorf("review in probation = %d, %v", c, changed)
		}
		e.clock.Advance(100 * 24 * time.Hour)
		e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/sepa/score-checks", Token: e.admin, Body: map[string]any{"buyer_id": e.buyer.ID}}).Expect(t, 201)
		if c, changed := review([]int64{20000, 10000}, true); changed || c != 25000 {
			t.Errorf("review after an unpaid debit = %d, %v", c, changed)
		}
		if c, changed := review([]int64{20000, 10000}, false); !changed || c != 30000 {
			t.Errorf("review = %d, %v; want 30000", c, changed)
		}
	})
}

// suspend suspends a buyer's SEPA payments as an unpaid debit does (the month close's settlement).
func suspend(t *testing.T, s *apptest.Server, buyerID, reason string) {
	t.Helper()
	if _, err := storage.NewSEPA(s.App.DB).Suspend(context.Background(), buyerID, reason, s.App.Clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// outstanding is the sum of a buyer's SEPA payments accepted in month, in cents.
func outstanding(t *testing.T, s *apptest.Server, buyerID, month string) int64 {
	t.Helper()
	got, err := storage.NewSEPA(s.App.DB).Outstanding(context.Background(), buyerID, month)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// expectMandateEvents checks the mandate.* events a buyer sees of one mandate, oldest first: want,
// each once, the newest's data.object equal to the mandate's GET now.
func expectMandateEvents(t *testing.T, s *apptest.Server, tok, mandateID string, want ...string) {
	t.Helper()
	var mine []httpapi.Event
	for _, ev := range typedEvents(t, s, tok, "mandate.submitted", "mandate.active", "mandate.failed", "mandate.cancelled") {
		var obj struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(ev.Data.Object, &obj)
		if obj.ID == mandateID {
			mine = append(mine, ev)
		}
	}
	if got := eventTypes(mine); !slices.Equal(got, want) {
		t.Fatalf("events of mandate %s = %v, want %v", mandateID, got, want)
	}
	if last := mine[len(mine)-1]; !jsonEqual(last.Data.Object, getJSON(t, s, tok, "/v1/mandates/"+mandateID)) {
		t.Errorf("%s data.object = %s, want the mandate's GET", last.Type, last.Data.Object)
	}
}
