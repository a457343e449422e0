package mangopay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	client *mangopay.Client
	fake   *mangopaytest.Server
	clock  *testClock
}

func newEnv(t *testing.T, tweak ...func(*mangopay.Config)) env {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)}
	fake := mangopaytest.New(mangopaytest.Config{Clock: clock})
	t.Cleanup(fake.Close)
	cfg := mangopay.Config{
		BaseURL: fake.URL, ClientID: fake.ClientID, APIKey: fake.APIKey, Clock: clock,
		Timeout: 5 * time.Second, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	client, err := mangopay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env{client: client, fake: fake, clock: clock}
}

var ctx = context.Background()

func (e env) buyer(t *testing.T, key string) (psp.User, psp.Wallet) {
	t.Helper()
	user, err := e.client.CreateLegalUser(ctx, psp.LegalUserRequest{
		IdempotencyKey: key, Name: "Garage du Centre SARL", CompanyNumber: "812345676", Email: "compta@garage.example",
		Address:        psp.Address{Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "FR"},
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"},
		TermsAccepted:  true, Tag: "b_test",
	})
	if err != nil {
		t.Fatalf("CreateLegalUser: %v", err)
	}
	wallet, err := e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key, OwnerID: user.ID, Description: "vhupay buyer"})
	if err != nil {
		t.Fatalf("CreateWallet: %v", err)
	}
	return user, wallet
}

func (e env) card(t *testing.T, userID, number string) string {
	t.Helper()
	reg, err := e.client.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: "reg-" + number + userID, UserID: userID})
	if err != nil {
		t.Fatalf("CreateCardRegistration: %v", err)
	}
	data, err := e.fake.Tokenize(reg.ID, number, "1230")
	if err != nil {
		t.Fatalf("Tokenize: %v", err)
	}
	reg, err = e.client.CompleteCardRegistration(ctx, reg.ID, data)
	if err != nil || reg.Status != psp.CardRegistrationValidated {
		t.Fatalf("CompleteCardRegistration: %+v, %v", reg, err)
	}
	return reg.CardID
}

var browser = psp.BrowserInfo{
	AcceptHeader: "text/html", JavaEnabled: false, JavascriptEnabled: true, Language: "fr-FR", ColorDepth: 24,
	ScreenHeight: 1080, ScreenWidth: 1920, TimeZoneOffset: -60, UserAgent: "Mozilla/5.0",
}

func (e env) cardPayIn(t *testing.T, key string, user psp.User, wallet psp.Wallet, cardID string, amount int64) psp.PayIn {
	t.Helper()
	p, err := e.client.CreateCardPayIn(ctx, psp.CardPayInRequest{
		IdempotencyKey: key, AuthorID: user.ID, CreditedWalletID: wallet.ID, CardID: cardID, Amount: amount,
		SecureModeReturnURL: "https://shop.example/return?payment_intent=pi_1", BrowserInfo: browser,
		IPAddress: "203.0.113.7", StatementDescriptor: "VHUPAY", Tag: "pi_1",
	})
	if err != nil {
		t.Fatalf("CreateCardPayIn: %v", err)
	}
	return p
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := mangopay.New(mangopay.Config{BaseURL: "http://x"}); err == nil {
		t.Fatal("New without credentials succeeded")
	}
}

func TestUsersAndWallets(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-b_1")
	if user.ID == "" || wallet.ID == "" || wallet.OwnerID != user.ID || wallet.Balance != 0 {
		t.Fatalf("user %+v wallet %+v", user, wallet)
	}
	// One key served the user and the wallet: both exist once.
	if e.fake.Created("users") != 1 || e.fake.Created("wallets") != 1 {
		t.Fatalf("created users %d wallets %d", e.fake.Created("users"), e.fake.Created("wallets"))
	}

	_, err := e.client.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: "bad-email", Name: "X SAS", Email: "nope",
		Representative: psp.Representative{FirstName: "Alice", LastName: "Martin"}})
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || rejected.Code != "param_error" || rejected.Fields["Email"] == "" {
		t.Fatalf("invalid e-mail: %v", err)
	}
	_, err = e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: "w-unknown", OwnerID: "user_nobody"})
	if !errors.As(err, &rejected) || rejected.Fields["Owners"] == "" {
		t.Fatalf("unknown owner: %v", err)
	}
	if _, err := e.client.CreateWallet(ctx, psp.WalletRequest{OwnerID: user.ID}); err == nil || errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("missing idempotency key: %v", err)
	}
}

func TestCardRegistrationAndCards(t *testing.T) {
	e := newEnv(t)
	user, _ := e.buyer(t, "buyer-cards")
	reg, err := e.client.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: "reg-1", UserID: user.ID})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Status != psp.CardRegistrationCreated || reg.AccessKey == "" || reg.PreregistrationData == "" ||
		!strings.HasPrefix(reg.CardRegistrationURL, e.fake.URL) || reg.UserID != user.ID {
		t.Fatalf("registration %+v", reg)
	}
	if strings.Contains(reg.String(), reg.AccessKey) {
		t.Fatal("String shows the access key")
	}

	// What the browser does: post the card to CardRegistrationURL.
	resp, err := http.PostForm(reg.CardRegistrationURL, url.Values{
		"accessKeyRef": {reg.AccessKey}, "data": {reg.PreregistrationData},
		"cardNumber": {"4970107111111119"}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(body.String(), "data=") {
		t.Fatalf("tokenisation answered %q", body.String())
	}

	done, err := e.client.CompleteCardRegistration(ctx, reg.ID, body.String())
	if err != nil || done.Status != psp.CardRegistrationValidated || done.CardID == "" || done.ResultCode != "000000" {
		t.Fatalf("complete: %+v, %v", done, err)
	}
	var rejected *psp.RejectedError
	if _, err := e.client.CompleteCardRegistration(ctx, reg.ID, body.String()); !errors.As(err, &rejected) {
		t.Fatalf("completing twice: %v", err)
	}

	got, err := e.client.GetCard(ctx, done.CardID)
	if err != nil {
		t.Fatal(err)
	}
	want := psp.Card{
		ID: done.CardID, UserID: user.ID, Alias: "497010XXXXXX1119", ExpirationDate: "1230", Brand: "VISA",
		CardType: "CB_VISA_MASTERCARD", Country: "FRA", Active: true, Validity: psp.CardValidityUnknown, Fingerprint: got.Fingerprint,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetCard (-want +got):\n%s", diff)
	}

	off, err := e.client.DeactivateCard(ctx, done.CardID)
	if err != nil || off.Active {
		t.Fatalf("deactivate: %+v, %v", off, err)
	}
	if _, err := e.client.GetCard(ctx, "card_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown card: %v", err)
	}

	// A bad token is a failed registration, not an error.
	reg2, _ := e.client.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: "reg-2", UserID: user.ID})
	bad, err := e.client.CompleteCardRegistration(ctx, reg2.ID, "data=forged")
	if err != nil || bad.Status != psp.CardRegistrationError || bad.ResultCode != "105206" {
		t.Fatalf("forged data: %+v, %v", bad, err)
	}
}

func TestCardPayIns(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-payins")
	frictionless := e.card(t, user.ID, mangopaytest.FrictionlessCard)
	challenge := e.card(t, user.ID, mangopaytest.ChallengeCard)
	inactive := e.card(t, user.ID, "4970101122334422")
	if _, err := e.client.DeactivateCard(ctx, inactive); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		card    string
		amount  int64
		status  psp.PayInStatus
		code    string
		failure psp.FailureCode
		needs3D bool
	}{
		{"frictionless succeeds", frictionless, 12000, psp.PayInSucceeded, "000000", "", false},
		{"challenge waits for 3-D Secure", challenge, 12000, psp.PayInCreated, "", "", true},
		{"decline amount", frictionless, mangopaytest.DeclinedAmount, psp.PayInFailed, "101101", psp.FailureCardDeclined, false},
		{"inactive card", inactive, 5000, psp.PayInFailed, "101410", psp.FailureCardBlocked, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.cardPayIn(t, "pay-"+string(rune('a'+i))+"-0123456789", user, wallet, tt.card, tt.amount)
			got := struct {
				Status  psp.PayInStatus
				Code    string
				Failure psp.FailureCode
				Needs3D bool
			}{p.Status, p.ResultCode, p.Failure, p.SecureModeNeeded}
			want := struct {
				Status  psp.PayInStatus
				Code    string
				Failure psp.FailureCode
				Needs3D bool
			}{tt.status, tt.code, tt.failure, tt.needs3D}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("pay-in (-want +got):\n%s", diff)
			}
			if tt.needs3D != (p.RedirectURL != "") || p.Method != psp.PayInCard || p.Amount != tt.amount || p.CardID != tt.card {
				t.Fatalf("pay-in %+v", p)
			}
		})
	}
}

func TestSecureModeOutcomes(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-3ds")
	cardID := e.card(t, user.ID, mangopaytest.ChallengeCard)

	// Success through the bank page: the browser is sent back with transactionId.
	p := e.cardPayIn(t, "3ds-ok-0123456789", user, wallet, cardID, 4500)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(p.RedirectURL + "?outcome=succeed")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if back.Query().Get("transactionId") != p.ID || back.Query().Get("payment_intent") != "pi_1" {
		t.Fatalf("redirected to %s", back)
	}
	got, err := e.client.GetPayIn(ctx, p.ID)
	if err != nil || got.Status != psp.PayInSucceeded || got.RedirectURL != "" || got.ExecutedAt.IsZero() {
		t.Fatalf("after success: %+v, %v", got, err)
	}
	if balance, _ := e.fake.WalletBalance(wallet.ID); balance != 4500 {
		t.Fatalf("wallet balance %d", balance)
	}

	for _, tt := range []struct {
		code    string
		failure psp.FailureCode
	}{
		{"101301", psp.FailureAuthenticationFailed},
		{"101304", psp.FailureExpired},
		{"101111", psp.FailureCardBlocked},
	} {
		p := e.cardPayIn(t, "3ds-"+tt.code+"-0123456789", user, wallet, cardID, 1000)
		if err := e.fake.FailSecureMode(p.ID, tt.code); err != nil {
			t.Fatal(err)
		}
		got, err := e.client.GetPayIn(ctx, p.ID)
		if err != nil || got.Status != psp.PayInFailed || got.Failure != tt.failure || got.ResultCode != tt.code {
			t.Fatalf("%s: %+v, %v", tt.code, got, err)
		}
	}
	if _, err := e.client.GetPayIn(ctx, "payin_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown pay-in: %v", err)
	}
}

const goodIBAN = "FR7630006000011234567890189"

func TestSEPA(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-sepa")
	account, err := e.client.CreateBankAccount(ctx, psp.BankAccountRequest{
		IdempotencyKey: "ba-1", UserID: user.ID, OwnerName: "Garage du Centre",
		OwnerAddress: psp.Address{Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "FR"},
		IBAN:         "FR76 3000 6000 0112 3456 7890 189", BIC: "AGRIFRPP",
	})
	if err != nil || account.ID == "" || !account.Active || account.UserID != user.ID {
		t.Fatalf("bank account: %+v, %v", account, err)
	}

	m, err := e.client.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: "mdt-1", BankAccountID: account.ID, ReturnURL: "https://shop.example/mandates"})
	if err != nil || m.Status != psp.MandateCreated || m.RedirectURL == "" || m.BankReference == "" || m.UserID != user.ID {
		t.Fatalf("mandate: %+v, %v", m, err)
	}
	var rejected *psp.RejectedError
	if _, err := e.client.CancelMandate(ctx, m.ID); !errors.As(err, &rejected) {
		t.Fatalf("cancelling a created mandate: %v", err)
	}

	debit := func(key string, amount int64) psp.PayIn {
		t.Helper()
		p, err := e.client.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{
			IdempotencyKey: key, AuthorID: user.ID, CreditedWalletID: wallet.ID, MandateID: m.ID, Amount: amount,
			StatementDescriptor: "vhupay 2026-11", Tag: "col_1",
		})
		if err != nil {
			t.Fatalf("direct debit: %v", err)
		}
		return p
	}
	if p := debit("dd-unsigned", 100); p.Status != psp.PayInFailed || p.Failure != psp.FailureMandateCancelled {
		t.Fatalf("debit on an unsigned mandate: %+v", p)
	}

	if err := e.fake.SubmitMandate(m.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.GetMandate(ctx, m.ID); err != nil || got.Status != psp.MandateSubmitted || got.Scheme != "SEPA" {
		t.Fatalf("submitted mandate: %+v, %v", got, err)
	}

	ok := debit("dd-ok", 25000)
	if ok.Status != psp.PayInCreated || ok.Method != psp.PayInDirectDebit || ok.MandateID != m.ID || ok.ChargeDate.IsZero() {
		t.Fatalf("debit: %+v", ok)
	}
	if err := e.fake.SettleDirectDebit(ok.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.client.GetPayIn(ctx, ok.ID); got.Status != psp.PayInSucceeded {
		t.Fatalf("settled debit: %+v", got)
	}
	if got, _ := e.client.GetMandate(ctx, m.ID); got.Status != psp.MandateActive {
		t.Fatalf("mandate after a first debit: %+v", got)
	}

	for _, tt := range []struct {
		code    string
		failure psp.FailureCode
	}{{"001830", psp.FailureInsufficientFunds}, {"001801", psp.FailureAccountClosed}, {"001834", psp.FailurePaymentDisputed}, {"009999", psp.FailureProviderError}} {
		p := debit("dd-"+tt.code, 1000)
		if err := e.fake.SettleDirectDebit(p.ID, tt.code); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.client.GetPayIn(ctx, p.ID); got.Status != psp.PayInFailed || got.Failure != tt.failure {
			t.Fatalf("%s: %+v", tt.code, got)
		}
	}

	repID, err := e.fake.Repudiate(ok.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.client.GetRepudiation(ctx, repID)
	want := psp.Repudiation{ID: repID, PayInID: ok.ID, Status: psp.PayInSucceeded, Amount: 25000, Failure: psp.FailurePaymentDisputed}
	if diff := cmp.Diff(want, rep); err != nil || diff != "" {
		t.Fatalf("repudiation %v (-want +got):\n%s", err, diff)
	}

	cancelled, err := e.client.CancelMandate(ctx, m.ID)
	if err != nil || cancelled.Status != psp.MandateCancelled || cancelled.Failure != psp.FailureMandateCancelled {
		t.Fatalf("cancel: %+v, %v", cancelled, err)
	}
	off, err := e.client.DeactivateBankAccount(ctx, user.ID, account.ID)
	if err != nil || off.Active {
		t.Fatalf("deactivate account: %+v, %v", off, err)
	}
	if _, err := e.client.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: "mdt-2", BankAccountID: account.ID, ReturnURL: "https://x.example"}); !errors.As(err, &rejected) {
		t.Fatalf("mandate on an inactive account: %v", err)
	}
	if _, err := e.client.GetMandate(ctx, "mdt_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown mandate: %v", err)
	}
}

func TestRefunds(t *testing.T) {
	e := newEnv(t)
	user, wallet := e.buyer(t, "buyer-refunds")
	cardID := e.card(t, user.ID, mangopaytest.FrictionlessCard)
	p := e.cardPayIn(t, "refunded-0123456789", user, wallet, cardID, 10000)

	refund := func(key string, amount int64) psp.Refund {
		t.Helper()
		r, err := e.client.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key, PayInID: p.ID, AuthorID: user.ID, Amount: amount})
		if err != nil {
			t.Fatalf("refund: %v", err)
		}
		return r
	}
	if r := refund("r1", 3000); r.Status != psp.RefundSucceeded || r.Amount != 3000 || r.PayInID != p.ID {
		t.Fatalf("partial refund: %+v", r)
	}
	if r := refund("r2", 3000); r.Status != psp.RefundFailed || r.ResultCode != "005407" {
		t.Fatalf("same amount twice a day: %+v", r)
	}
	// Without amounts MangoPay refunds the initial amount: more than what is left.
	if r := refund("r3", 0); r.Status != psp.RefundFailed || r.ResultCode != "005403" {
		t.Fatalf("default refund after a partial one: %+v", r)
	}
	full := refund("r3b", 7000)
	if full.Status != psp.RefundSucceeded || full.Amount != 7000 {
		t.Fatalf("refund of the rest: %+v", full)
	}
	if got, err := e.client.GetRefund(ctx, full.ID); err != nil || got != full {
		t.Fatalf("GetRefund: %+v, %v", got, err)
	}
	if balance, _ := e.fake.WalletBalance(wallet.ID); balance != 0 {
		t.Fatalf("balance %d", balance)
	}
	if _, err := e.client.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: "r4", PayInID: "payin_nope", AuthorID: user.ID}); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("refund of an unknown pay-in: %v", err)
	}
	// A card pay-in is refundable for 11 months (001403).
	old := e.cardPayIn(t, "refunded-late-0123456789", user, wallet, cardID, 5000)
	e.clock.Advance(time.Until(time.Now().AddDate(0, 11, 1)))
	r, err := e.client.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: "r5", PayInID: old.ID, AuthorID: user.ID, Amount: 1000})
	if err != nil || r.Status != psp.RefundFailed || r.ResultCode != "001403" {
		t.Fatalf("refund after 11 months: %+v, %v", r, err)
	}
}
