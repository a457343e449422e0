package collections_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/collections"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// Test IBANs (SANDBOX.md).
const (
	ibanFR  = "FR7630006000011234567890189"
	ibanDE  = "DE89370400440532013000"
	ibanFR2 = "FR7630004000031234567890143"
)

// env is a server in MangoPay mode against the fake, on a manual clock, whose scheduler never
// starts a close by itself: the tests run the steps.
type env struct {
	s      *apptest.Server
	fake   *mangopaytest.Server
	clock  *clock.Manual
	admin  string
	center string
}

func start(t *testing.T, b storagetest.Backend, at time.Time) *env {
	t.Helper()
	fake := mangopaytest.New(mangopaytest.Config{})
	t.Cleanup(fake.Close)
	clk := clock.NewManual(at)
	s := apptest.Start(t, b, apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey), apptest.WithBaseClock(clk),
		apptest.WithOptions(func(o *app.Options) { o.SchedulerInterval = time.Hour }))
	e := &env{s: s, fake: fake, clock: clk, admin: s.Token(t, auth.RoleAdmin, "")}
	var c httpapi.Center
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: e.admin, Body: map[string]any{
		"name": "Centre VHU du Rhône", "siret": "81234567600017", "email": "contact@cvhu.fr",
		"address": map[string]any{"line1": "2 route des Casses", "postal_code": "69100", "city": "Villeurbanne", "country": "FR"},
	}}).Expect(t, 201).JSON(t, &c)
	e.center = c.ID
	return e
}

// buyer is a buyer with a signed mandate on its default bank account.
type buyer struct {
	ID, Token string
	Account   httpapi.BankAccount
	Mandate   httpapi.Mandate
}

func (e *env) sepaBuyer(t *testing.T, siren, iban string) buyer {
	t.Helper()
	var b httpapi.Buyer
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: e.admin, Body: map[string]any{
		"name": "Garage " + siren, "siren": siren, "email": "compta@garage.fr",
		"address":              map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
		"legal_representative": map[string]any{"first_name": "Alice", "last_name": "Martin"},
	}}).Expect(t, 201).JSON(t, &b)
	out := buyer{ID: b.ID, Token: e.s.Token(t, auth.RoleBuyer, b.ID)}
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts", Token: out.Token, Body: map[string]any{
		"owner_name": "Garage " + siren, "iban": iban,
		"owner_address": map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
	}}).Expect(t, 201).JSON(t, &out.Account)
	var m httpapi.Mandate
	e.s.Do(t, apptest.Request{Method: "POST", Path: "/v1/bank-accounts/" + out.Account.ID + "/mandates", Token: out.Token,
		Body: map[string]any{"return_url": "https://shop.example/sepa/return"}}).Expect(t, 201).JSON(t, &m)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(m.SignatureURL + "?action=sign")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + m.ID, Token: out.Token}).Expect(t, 200).JSON(t, &out.Mandate)
	if out.Mandate.Status != "submitted" {
		t.Fatalf("mandate after signature: %s", out.Mandate.Status)
	}
	return out
}

// intent inserts a confirmed order and its payment intent as the payment methods write them: a
// sepa_debit intent accepted at at is scheduled with the buyer's mandate and at's Paris month.
func (e *env) intent(t *testing.T, b buyer, amount int64, at time.Time, method, status string) string {
	t.Helper()
	db := e.s.App.DB
	orderID, intentID := id.New(id.Order), id.New(id.PaymentIntent)
	month, mandate := "", ""
	if method == "sepa_debit" {
		month, mandate = clock.MonthOf(at), b.Mandate.ID
	}
	ctx := context.Background()
	_, err := db.SQL().ExecContext(ctx, placeholders(db, `INSERT INTO orders (id, buyer_id, center_id, status, delivery_mode,
		total_excl_vat, total_vat, total, currency, created_at, updated_at)
		VALUES (?, ?, ?, 'confirmed', 'delivery', ?, 0, ?, 'EUR', ?, ?)`), orderID, b.ID, e.center, amount, amount, at.UTC(), at.UTC())
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, placeholders(db, `INSERT INTO payment_intents (id, order_id, buyer_id, amount, currency,
		method, status, mandate_id, collection_month, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'EUR', ?, ?, ?, ?, ?, ?)`), intentID, orderID, b.ID, amount, method, status, mandate, month, at.UTC(), at.UTC())
	if err != nil {
		t.Fatal(err)
	}
	return intentID
}

// sepa inserts an accepted SEPA payment.
func (e *env) sepa(t *testing.T, b buyer, amount int64, at time.Time) string {
	t.Helper()
	return e.intent(t, b, amount, at, "sepa_debit", "scheduled")
}

// placeholders turns ? into $n for PostgreSQL.
func placeholders(db *storage.DB, q string) string {
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

// count runs a COUNT query.
func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.s.App.DB.SQL().QueryRowContext(context.Background(), placeholders(e.s.App.DB, q), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// progress is an in-memory month close checkpoint.
type progress struct {
	checkpoint  string
	done, total int
}

func (p *progress) Checkpoint() string { return p.checkpoint }
func (p *progress) Save(_ context.Context, checkpoint string) error {
	p.checkpoint = checkpoint
	return nil
}
func (p *progress) Report(_ context.Context, done, total int) error {
	p.done, p.total = done, total
	return nil
}

var operator = auth.Principal{Subject: "ops", Role: auth.RoleAdmin}

// collectionsOf lists a buyer's collections over the API, newest first.
func (e *env) collectionsOf(t *testing.T, buyerID string) []httpapi.Collection {
	t.Helper()
	var list httpapi.CollectionList
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + buyerID + "/sepa/collections", Token: e.admin}).Expect(t, 200).JSON(t, &list)
	return list.Data
}

// only returns a buyer's one collection.
func (e *env) only(t *testing.T, buyerID string) httpapi.Collection {
	t.Helper()
	cols := e.collectionsOf(t, buyerID)
	if len(cols) != 1 {
		t.Fatalf("buyer %s has %d collections, want 1", buyerID, len(cols))
	}
	return cols[0]
}

// payInOf returns the provider pay-in of a collection.
func (e *env) payInOf(t *testing.T, collectionID string) string {
	t.Helper()
	c, err := e.s.App.Collections.Collection(context.Background(), operator, collectionID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProviderPayInID == "" {
		t.Fatalf("collection %s has no pay-in", collectionID)
	}
	return c.ProviderPayInID
}

// notify applies a provider notification as the hook endpoint does.
func (e *env) notify(t *testing.T, kind psp.ResourceKind, resourceID string) {
	t.Helper()
	if err := e.s.App.Notifications.Apply(context.Background(), psp.Notification{Kind: kind, ResourceID: resourceID, Event: "TEST"}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) intentStatus(t *testing.T, intentID string) httpapi.PaymentIntent {
	t.Helper()
	var pi httpapi.PaymentIntent
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/payment-intents/" + intentID, Token: e.admin}).Expect(t, 200).JSON(t, &pi)
	return pi
}

func (e *env) profile(t *testing.T, buyerID string) httpapi.SEPAProfile {
	t.Helper()
	var p httpapi.SEPAProfile
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + buyerID + "/sepa", Token: e.admin}).Expect(t, 200).JSON(t, &p)
	return p
}

func (e *env) mandate(t *testing.T, b buyer) httpapi.Mandate {
	t.Helper()
	var m httpapi.Mandate
	e.s.Do(t, apptest.Request{Method: "GET", Path: "/v1/mandates/" + b.Mandate.ID, Token: b.Token}).Expect(t, 200).JSON(t, &m)
	return m
}

// newService is a collections service on the app's stores with the test's provider and settings.
func (e *env) newService(provider collections.Provider, workers int) *collections.Service {
	a := e.s.App
	return collections.NewService(collections.Config{Store: storage.NewCollections(a.DB), Buyers: storage.NewParties(a.DB),
		SEPA: a.SEPA, Payers: a.Payers, Provider: provider, Clock: a.Clock, Workers: workers, Batch: 1})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }
