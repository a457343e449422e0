package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// start is the test clock's first instant: 2026-11-10 10:00 UTC.
var start = time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)

// Test IBANs (SANDBOX.md).
const (
	ibanSucceeds     = "FR7630006000011234567890189"
	ibanInsufficient = "FR9230006000011234567890289"
	ibanClosed       = "FR1130006000011234567890389"
	ibanGerman       = "DE89370400440532013000"
)

type fixture struct {
	p      *sandbox.Provider
	db     *storage.DB
	store  storage.SandboxPSP
	clock  *clock.Manual
	events *recorder
	logs   *lockedBuffer
	url    string
}

// newFixture returns a provider on a fresh database of backend b, its public URL publicURL.
func newFixture(t *testing.T, b storagetest.Backend, publicURL string) *fixture {
	t.Helper()
	db := storagetest.Open(t, b)
	f := &fixture{db: db, store: storage.NewSandboxPSP(db), clock: clock.NewManual(start), events: &recorder{},
		logs: &lockedBuffer{}, url: publicURL}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.p = sandbox.New(f.store, f.clock, publicURL, sandbox.WithNotifier(f.events.record), sandbox.WithLogger(log))
	return f
}

type recorder struct {
	mu     sync.Mutex
	events []psp.Notification
}

func (r *recorder) record(_ context.Context, n psp.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, n)
}

// take returns the notifications recorded since the last take.
func (r *recorder) take() []psp.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var seq struct {
	mu sync.Mutex
	n  int
}

// key returns a fresh idempotency key.
func key(prefix string) string {
	seq.mu.Lock()
	defer seq.mu.Unlock()
	seq.n++
	return fmt.Sprintf("%s-%06d-key", prefix, seq.n)
}

// buyer is a provider user with a wallet.
type buyer struct{ userID, walletID string }

func (f *fixture) buyer(t *testing.T) buyer {
	t.Helper()
	ctx := context.Background()
	u, err := f.p.CreateLegalUser(ctx, psp.LegalUserRequest{IdempotencyKey: key("user"), Name: "Garage Martin SARL",
		CompanyNumber: "812345676", Email: "compta@garage-martin.fr"})
	if err != nil {
		t.Fatalf("CreateLegalUser: %v", err)
	}
	w, err := f.p.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key("wallet"), OwnerID: u.ID, Description: "vhupay buyer"})
	if err != nil {
		t.Fatalf("CreateWallet: %v", err)
	}
	return buyer{userID: u.ID, walletID: w.ID}
}

// card registers a card number for the buyer and returns its id.
func (f *fixture) card(t *testing.T, b buyer, number string) string {
	t.Helper()
	ctx := context.Background()
	reg, err := f.p.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: key("cardreg"), UserID: b.userID})
	if err != nil {
		t.Fatalf("CreateCardRegistration: %v", err)
	}
	data, err := f.p.Tokenise(ctx, reg.ID, sandbox.TokenisationForm{Data: reg.PreregistrationData, AccessKeyRef: reg.AccessKey,
		CardNumber: number, ExpirationDate: "1229", CVX: "123"})
	if err != nil || !strings.HasPrefix(data, "data=") {
		t.Fatalf("Tokenise = %q, %v", data, err)
	}
	reg, err = f.p.CompleteCardRegistration(ctx, reg.ID, data)
	if err != nil || reg.Status != psp.CardRegistrationValidated {
		t.Fatalf("CompleteCardRegistration = %v, %v", reg, err)
	}
	return reg.CardID
}

func browserInfo() psp.BrowserInfo {
	return psp.BrowserInfo{AcceptHeader: "text/html", JavascriptEnabled: true, Language: "fr-FR", ColorDepth: 24,
		ScreenHeight: 900, ScreenWidth: 1440, TimeZoneOffset: -60, UserAgent: "Mozilla/5.0 (test)"}
}

func (f *fixture) cardPayIn(t *testing.T, b buyer, cardID string, amount int64, returnURL string) psp.PayIn {
	t.Helper()
	pi, err := f.p.CreateCardPayIn(context.Background(), psp.CardPayInRequest{IdempotencyKey: key("payin"), AuthorID: b.userID,
		CreditedWalletID: b.walletID, CardID: cardID, Amount: amount, SecureModeReturnURL: returnURL,
		BrowserInfo: browserInfo(), IPAddress: "203.0.113.7"})
	if err != nil {
		t.Fatalf("CreateCardPayIn: %v", err)
	}
	return pi
}

// challenged registers the challenge card and starts a pay-in of amount waiting for 3-D Secure.
func (f *fixture) challenged(t *testing.T, amount int64, returnURL string) (buyer, string, psp.PayIn) {
	t.Helper()
	b := f.buyer(t)
	cardID := f.card(t, b, sandbox.ChallengeCard)
	pi := f.cardPayIn(t, b, cardID, amount, returnURL)
	if pi.Status != psp.PayInCreated || !pi.SecureModeNeeded {
		t.Fatalf("pay-in = %+v, want created waiting for 3-D Secure", pi)
	}
	return b, cardID, pi
}

// mandate registers an IBAN for the buyer and creates a mandate on it.
func (f *fixture) mandate(t *testing.T, b buyer, owner, iban, returnURL string) psp.Mandate {
	t.Helper()
	ctx := context.Background()
	acc, err := f.p.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: b.userID, OwnerName: owner,
		OwnerAddress: psp.Address{Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "FR"}, IBAN: iban})
	if err != nil {
		t.Fatalf("CreateBankAccount: %v", err)
	}
	m, err := f.p.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: key("mdt"), BankAccountID: acc.ID, ReturnURL: returnURL})
	if err != nil {
		t.Fatalf("CreateMandate: %v", err)
	}
	return m
}

func (f *fixture) signedMandate(t *testing.T, b buyer, owner, iban string) psp.Mandate {
	t.Helper()
	m := f.mandate(t, b, owner, iban, "https://shop.test/sepa?mandate_id=mdt_1")
	m, err := f.p.SignMandate(context.Background(), m.ID)
	if err != nil {
		t.Fatalf("SignMandate: %v", err)
	}
	return m
}

func (f *fixture) balance(t *testing.T, walletID string) int64 {
	t.Helper()
	w, err := f.store.Wallet(context.Background(), walletID)
	if err != nil {
		t.Fatal(err)
	}
	return w.Balance
}

func wantRejected(t *testing.T, err error, code string, field string) *psp.RejectedError {
	t.Helper()
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("err = %v, want *psp.RejectedError", err)
	}
	if rejected.Code != code {
		t.Fatalf("rejected code = %q, want %q (%v)", rejected.Code, code, err)
	}
	if field != "" {
		if _, ok := rejected.Fields[field]; !ok {
			t.Fatalf("rejected fields = %v, want %q", rejected.Fields, field)
		}
	}
	return rejected
}
