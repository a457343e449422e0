package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/sandbox"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

const publicURL = "https://vhupay.test"

func TestUsersAndWallets(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		req := psp.LegalUserRequest{IdempotencyKey: key("user"), Name: "Garage Martin", Email: "a@b.fr"}
		u1, err := f.p.CreateLegalUser(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u1.ID, "sbx_user_") {
			t.Errorf("user id = %q, want sbx_user_…", u1.ID)
		}
		u2, err := f.p.CreateLegalUser(ctx, req)
		if err != nil || u2.ID != u1.ID {
			t.Fatalf("same key: %v, %v; want the first user %s", u2, err, u1.ID)
		}

		// A refused create blocks its key for 24 hours, as MangoPay does.
		bad := psp.LegalUserRequest{IdempotencyKey: key("user"), Name: "X", Email: "no-at-sign"}
		_, err = f.p.CreateLegalUser(ctx, bad)
		wantRejected(t, err, "param_error", "Email")
		bad.Email = "ok@x.fr"
		_, err = f.p.CreateLegalUser(ctx, bad)
		wantRejected(t, err, "idempotent_creation_conflict", "")
		f.clock.Advance(25 * time.Hour)
		if _, err := f.p.CreateLegalUser(ctx, bad); err != nil {
			t.Fatalf("key reused 25 h after a refusal: %v", err)
		}

		// The same key for another kind of resource is another key.
		wreq := psp.WalletRequest{IdempotencyKey: req.IdempotencyKey, OwnerID: u1.ID, Description: "buyer"}
		w1, err := f.p.CreateWallet(ctx, wreq)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(psp.Wallet{ID: w1.ID, OwnerID: u1.ID}, w1); diff != "" || !strings.HasPrefix(w1.ID, "sbx_wallet_") {
			t.Errorf("wallet (-want +got):\n%s", diff)
		}
		if w2, err := f.p.CreateWallet(ctx, wreq); err != nil || w2.ID != w1.ID {
			t.Fatalf("same key: %v, %v", w2, err)
		}
		_, err = f.p.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key("wallet"), OwnerID: "sbx_user_unknown"})
		wantRejected(t, err, "param_error", "Owners")
	})
}

func TestCardRegistration(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		reg, err := f.p.CreateCardRegistration(ctx, psp.CardRegistrationRequest{IdempotencyKey: key("cr"), UserID: by.userID})
		if err != nil {
			t.Fatal(err)
		}
		if reg.Status != psp.CardRegistrationCreated || reg.AccessKey == "" || reg.PreregistrationData == "" ||
			reg.CardRegistrationURL != publicURL+"/sandbox/psp/card-registrations/"+reg.ID {
			t.Fatalf("registration = %+v", reg)
		}
		form := func(mod func(*sandbox.TokenisationForm)) sandbox.TokenisationForm {
			fm := sandbox.TokenisationForm{Data: reg.PreregistrationData, AccessKeyRef: reg.AccessKey,
				CardNumber: sandbox.ChallengeCard, ExpirationDate: "1229", CVX: "123"}
			mod(&fm)
			return fm
		}
		// The clock is in November 2026: 1126 is still valid, 1026 has expired.
		for name, tc := range map[string]struct {
			form sandbox.TokenisationForm
			want string
		}{
			"wrong data":         {form(func(f *sandbox.TokenisationForm) { f.Data = "x" }), "errorCode=09101"},
			"wrong access key":   {form(func(f *sandbox.TokenisationForm) { f.AccessKeyRef = "x" }), "errorCode=09101"},
			"bad Luhn":           {form(func(f *sandbox.TokenisationForm) { f.CardNumber = "4970105181818184" }), "errorCode=105202"},
			"letters":            {form(func(f *sandbox.TokenisationForm) { f.CardNumber = "49701051818181AB" }), "errorCode=105202"},
			"too short":          {form(func(f *sandbox.TokenisationForm) { f.CardNumber = "42" }), "errorCode=105202"},
			"expired":            {form(func(f *sandbox.TokenisationForm) { f.ExpirationDate = "1026" }), "errorCode=105203"},
			"month 13":           {form(func(f *sandbox.TokenisationForm) { f.ExpirationDate = "1327" }), "errorCode=105203"},
			"expiry not MMYY":    {form(func(f *sandbox.TokenisationForm) { f.ExpirationDate = "12/29" }), "errorCode=105203"},
			"CVX of 4 digits":    {form(func(f *sandbox.TokenisationForm) { f.CVX = "1234" }), "errorCode=105204"},
			"CVX not digits":     {form(func(f *sandbox.TokenisationForm) { f.CVX = "12a" }), "errorCode=105204"},
			"this month is fine": {form(func(f *sandbox.TokenisationForm) { f.ExpirationDate = "1126" }), "data="},
		} {
			got, err := f.p.Tokenise(ctx, reg.ID, tc.form)
			if err != nil || !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s: Tokenise = %q, %v; want %s", name, got, err, tc.want)
			}
		}
		if got, _ := f.p.Tokenise(ctx, "sbx_cardreg_unknown", form(func(*sandbox.TokenisationForm) {})); got != "errorCode=09101" {
			t.Errorf("unknown registration: %q", got)
		}

		// A token that is not the last one handed out ends the registration in error.
		stale, _ := f.p.Tokenise(ctx, reg.ID, form(func(*sandbox.TokenisationForm) {}))
		if _, err := f.p.Tokenise(ctx, reg.ID, form(func(*sandbox.TokenisationForm) {})); err != nil {
			t.Fatal(err)
		}
		got, err := f.p.CompleteCardRegistration(ctx, reg.ID, stale)
		if err != nil || got.Status != psp.CardRegistrationError || got.ResultCode != "105206" || got.CardID != "" {
			t.Fatalf("stale token: %+v, %v", got, err)
		}
		_, err = f.p.CompleteCardRegistration(ctx, reg.ID, stale)
		wantRejected(t, err, "param_error", "RegistrationData")
		if got, _ := f.p.Tokenise(ctx, reg.ID, form(func(*sandbox.TokenisationForm) {})); got != "errorCode=02631" {
			t.Errorf("tokenise a finished registration: %q", got)
		}
		if _, err := f.p.CompleteCardRegistration(ctx, "sbx_cardreg_unknown", "data=x"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("unknown registration: %v", err)
		}

		id1 := f.card(t, by, sandbox.ChallengeCard)
		card, err := f.p.GetCard(ctx, id1)
		if err != nil {
			t.Fatal(err)
		}
		want := psp.Card{ID: id1, UserID: by.userID, Alias: "497010XXXXXX8183", ExpirationDate: "1229", Brand: "VISA",
			CardType: "CB_VISA_MASTERCARD", Country: "FRA", Active: true, Validity: psp.CardValidityUnknown, Fingerprint: card.Fingerprint}
		if diff := cmp.Diff(want, card); diff != "" || card.Fingerprint == "" {
			t.Errorf("card (-want +got):\n%s", diff)
		}
		row, _ := f.store.Card(ctx, id1)
		if row.Class != sandbox.CardChallenge {
			t.Errorf("class = %q, want challenge", row.Class)
		}
		id2 := f.card(t, by, sandbox.ChallengeCard)
		if again, _ := f.p.GetCard(ctx, id2); again.Fingerprint != card.Fingerprint || id2 == id1 {
			t.Errorf("same number registered twice: fingerprints %q and %q", card.Fingerprint, again.Fingerprint)
		}
		mc := f.card(t, by, "5555555555554444")
		if c, _ := f.p.GetCard(ctx, mc); c.Brand != "MASTERCARD" || c.Fingerprint == card.Fingerprint {
			t.Errorf("mastercard = %+v", c)
		}

		for range 2 { // deactivating twice succeeds
			c, err := f.p.DeactivateCard(ctx, id1)
			if err != nil || c.Active {
				t.Fatalf("DeactivateCard = %+v, %v", c, err)
			}
		}
		if _, err := f.p.GetCard(ctx, "sbx_card_unknown"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("GetCard unknown: %v", err)
		}
		if _, err := f.p.DeactivateCard(ctx, "sbx_card_unknown"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("DeactivateCard unknown: %v", err)
		}
	})
}

func TestCardPayIns(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		challenge := f.card(t, by, sandbox.ChallengeCard)
		frictionless := f.card(t, by, sandbox.FrictionlessCard)
		normal := f.card(t, by, "4111111111111111")
		inactive := f.card(t, by, sandbox.FrictionlessCard)
		if _, err := f.p.DeactivateCard(ctx, inactive); err != nil {
			t.Fatal(err)
		}
		other := f.buyer(t)
		othersCard := f.card(t, other, sandbox.FrictionlessCard)
		f.events.take()

		for _, tc := range []struct {
			name    string
			card    string
			amount  int64
			status  psp.PayInStatus
			code    string
			failure psp.FailureCode
			secure  bool
		}{
			{"challenge card", challenge, 12345, psp.PayInCreated, "", "", true},
			{"any other card is challenged", normal, 12345, psp.PayInCreated, "", "", true},
			{"frictionless card", frictionless, 12345, psp.PayInSucceeded, "000000", "", false},
			{"declined amount, challenge card", challenge, sandbox.DeclinedAmount, psp.PayInFailed, "101101", psp.FailureCardDeclined, false},
			{"declined amount, frictionless card", frictionless, sandbox.DeclinedAmount, psp.PayInFailed, "101101", psp.FailureCardDeclined, false},
			{"inactive card", inactive, 12345, psp.PayInFailed, "101410", psp.FailureCardBlocked, false},
			{"another user's card", othersCard, 12345, psp.PayInFailed, "001023", psp.FailureProviderError, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := f.balance(t, by.walletID)
				pi := f.cardPayIn(t, by, tc.card, tc.amount, "https://shop.test/back?payment_intent=pi_1")
				want := psp.PayIn{ID: pi.ID, Method: psp.PayInCard, Status: tc.status, AuthorID: by.userID,
					CreditedWalletID: by.walletID, Amount: tc.amount, CardID: tc.card, SecureModeNeeded: tc.secure,
					ResultCode: tc.code, Failure: tc.failure, ExecutedAt: pi.ExecutedAt}
				if tc.secure {
					want.RedirectURL = publicURL + "/sandbox/psp/3ds/" + pi.ID
				}
				if diff := cmp.Diff(want, pi); diff != "" {
					t.Errorf("pay-in (-want +got):\n%s", diff)
				}
				if got, err := f.p.GetPayIn(ctx, pi.ID); err != nil || !cmp.Equal(got, pi) {
					t.Errorf("GetPayIn = %+v, %v; want %+v", got, err, pi)
				}
				var credit int64
				var events []psp.Notification
				switch tc.status {
				case psp.PayInSucceeded:
					credit = tc.amount
					if !pi.ExecutedAt.Equal(f.clock.Now()) {
						t.Errorf("ExecutedAt = %v", pi.ExecutedAt)
					}
					events = []psp.Notification{{Kind: psp.ResourcePayIn, ResourceID: pi.ID, Event: "PAYIN_NORMAL_SUCCEEDED"}}
				case psp.PayInFailed:
					events = []psp.Notification{{Kind: psp.ResourcePayIn, ResourceID: pi.ID, Event: "PAYIN_NORMAL_FAILED"}}
				}
				if got := f.balance(t, by.walletID) - before; got != credit {
					t.Errorf("wallet credited %d, want %d", got, credit)
				}
				if diff := cmp.Diff(events, f.events.take()); diff != "" {
					t.Errorf("notifications (-want +got):\n%s", diff)
				}
			})
		}
		if c, _ := f.p.GetCard(ctx, frictionless); c.Validity != psp.CardValidityValid {
			t.Errorf("frictionless card validity = %q after a success, want valid", c.Validity)
		}

		t.Run("idempotent", func(t *testing.T) {
			req := psp.CardPayInRequest{IdempotencyKey: key("payin"), AuthorID: by.userID, CreditedWalletID: by.walletID,
				CardID: frictionless, Amount: 500, SecureModeReturnURL: "https://shop.test/back", BrowserInfo: browserInfo(), IPAddress: "::1"}
			before := f.balance(t, by.walletID)
			first, err := f.p.CreateCardPayIn(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			f.events.take()
			again, err := f.p.CreateCardPayIn(ctx, req)
			if err != nil || again.ID != first.ID {
				t.Fatalf("replay = %+v, %v; want %s", again, err, first.ID)
			}
			if got := f.balance(t, by.walletID) - before; got != 500 {
				t.Errorf("wallet credited %d, want 500 once", got)
			}
			if ev := f.events.take(); len(ev) != 0 {
				t.Errorf("a replay notified %v", ev)
			}
		})

		t.Run("refused", func(t *testing.T) {
			req := psp.CardPayInRequest{IdempotencyKey: key("payin"), AuthorID: "sbx_user_x", CreditedWalletID: "sbx_wallet_x",
				CardID: "sbx_card_x", Amount: 100, BrowserInfo: psp.BrowserInfo{Language: "french", ColorDepth: 7}}
			_, err := f.p.CreateCardPayIn(ctx, req)
			rejected := wantRejected(t, err, "param_error", "CardId")
			var fields []string
			for k := range rejected.Fields {
				fields = append(fields, k)
			}
			want := []string{"AuthorId", "BrowserInfo.AcceptHeader", "BrowserInfo.ColorDepth", "BrowserInfo.Language",
				"BrowserInfo.UserAgent", "CardId", "CreditedWalletId", "IpAddress", "SecureModeReturnURL"}
			if diff := cmp.Diff(want, fields, cmp.Transformer("sort", sortStrings)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	})
}

func sortStrings(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSecureMode(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		t.Run("right code", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			by, cardID, pi := f.challenged(t, 4200, "https://shop.test/back?payment_intent=pi_1")
			f.events.take()
			for i, want := range []int{2, 1} {
				out, err := f.p.SubmitSecureCode(ctx, pi.ID, "000000")
				if err != nil || out.Finished || out.TriesLeft != want {
					t.Fatalf("wrong code %d: %+v, %v; want %d tries left", i+1, out, err, want)
				}
			}
			out, err := f.p.SubmitSecureCode(ctx, pi.ID, sandbox.SecureCode)
			if err != nil || !out.Finished || out.PayIn.Status != psp.PayInSucceeded || out.PayIn.RedirectURL != "" {
				t.Fatalf("right code: %+v, %v", out, err)
			}
			if got := f.balance(t, by.walletID); got != 4200 {
				t.Errorf("balance = %d, want 4200", got)
			}
			if c, _ := f.p.GetCard(ctx, cardID); !c.Active || c.Validity != psp.CardValidityValid {
				t.Errorf("card = %+v, want active and valid", c)
			}
			want := []psp.Notification{{Kind: psp.ResourcePayIn, ResourceID: pi.ID, Event: "PAYIN_NORMAL_SUCCEEDED"}}
			if diff := cmp.Diff(want, f.events.take()); diff != "" {
				t.Errorf("notifications (-want +got):\n%s", diff)
			}
			if _, err := f.p.SubmitSecureCode(ctx, pi.ID, sandbox.SecureCode); !errors.Is(err, sandbox.ErrFinished) {
				t.Errorf("code after the end: %v, want ErrFinished", err)
			}
			if _, err := f.p.CancelSecureMode(ctx, pi.ID); !errors.Is(err, sandbox.ErrFinished) {
				t.Errorf("cancel after the end: %v, want ErrFinished", err)
			}
		})
		t.Run("third wrong code blocks the card", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			by, cardID, pi := f.challenged(t, 4200, "https://shop.test/back")
			var out sandbox.SecureOutcome
			var err error
			for range sandbox.MaxSecureTries {
				if out, err = f.p.SubmitSecureCode(ctx, pi.ID, "999999"); err != nil {
					t.Fatal(err)
				}
			}
			if !out.Finished || out.TriesLeft != 0 || out.PayIn.Status != psp.PayInFailed || out.PayIn.ResultCode != "101111" ||
				out.PayIn.Failure != psp.FailureCardBlocked {
				t.Fatalf("third wrong code: %+v", out)
			}
			if c, _ := f.p.GetCard(ctx, cardID); c.Active || c.Validity != psp.CardValidityInvalid {
				t.Errorf("card = %+v, want inactive and invalid", c)
			}
			if _, err := f.p.SubmitSecureCode(ctx, pi.ID, sandbox.SecureCode); !errors.Is(err, sandbox.ErrFinished) {
				t.Errorf("right code after the block: %v, want ErrFinished", err)
			}
			later := f.cardPayIn(t, by, cardID, 100, "https://shop.test/back")
			if later.Status != psp.PayInFailed || later.Failure != psp.FailureCardBlocked || later.ResultCode != "101410" {
				t.Errorf("pay-in on the blocked card = %+v, want failed card_blocked", later)
			}
			if got := f.balance(t, by.walletID); got != 0 {
				t.Errorf("balance = %d", got)
			}
		})
		t.Run("cancel", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			_, cardID, pi := f.challenged(t, 4200, "https://shop.test/back")
			got, err := f.p.CancelSecureMode(ctx, pi.ID)
			if err != nil || got.Status != psp.PayInFailed || got.Failure != psp.FailureAuthenticationFailed || got.ResultCode != "101301" {
				t.Fatalf("cancel = %+v, %v", got, err)
			}
			if c, _ := f.p.GetCard(ctx, cardID); !c.Active || c.Validity != psp.CardValidityInvalid {
				t.Errorf("card = %+v, want active, invalid (a first payment failed)", c)
			}
		})
		t.Run("unknown or not waiting", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			if _, err := f.p.SubmitSecureCode(ctx, "sbx_payin_unknown", "1"); !errors.Is(err, psp.ErrNotFound) {
				t.Errorf("unknown: %v", err)
			}
			by := f.buyer(t)
			pi := f.cardPayIn(t, by, f.card(t, by, sandbox.FrictionlessCard), 100, "https://shop.test/back")
			if _, err := f.p.SubmitSecureCode(ctx, pi.ID, sandbox.SecureCode); !errors.Is(err, sandbox.ErrFinished) {
				t.Errorf("frictionless pay-in: %v", err)
			}
		})
	})
}

func TestSecureModeConcurrent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		t.Run("two right codes at once", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			by, _, pi := f.challenged(t, 9900, "https://shop.test/back")
			f.events.take()
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { _, errs[i] = f.p.SubmitSecureCode(ctx, pi.ID, sandbox.SecureCode) })
			}
			wg.Wait()
			won, finished := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, sandbox.ErrFinished):
					finished++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			if won != 1 || finished != 1 {
				t.Errorf("won %d, finished %d; want 1 and 1", won, finished)
			}
			if got := f.balance(t, by.walletID); got != 9900 {
				t.Errorf("balance = %d, want 9900 once", got)
			}
			if ev := f.events.take(); len(ev) != 1 {
				t.Errorf("notifications = %v, want one", ev)
			}
		})
		t.Run("many wrong codes at once", func(t *testing.T) {
			f := newFixture(t, b, publicURL)
			_, cardID, pi := f.challenged(t, 9900, "https://shop.test/back")
			errs := make([]error, 6)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { _, errs[i] = f.p.SubmitSecureCode(ctx, pi.ID, "111111") })
			}
			wg.Wait()
			counted := 0
			for _, err := range errs {
				if err == nil {
					counted++
				} else if !errors.Is(err, sandbox.ErrFinished) {
					t.Fatalf("unexpected error: %v", err)
				}
			}
			if counted != sandbox.MaxSecureTries {
				t.Errorf("%d wrong codes counted, want %d", counted, sandbox.MaxSecureTries)
			}
			row, _ := f.store.PayIn(ctx, pi.ID)
			if row.WrongCodes != sandbox.MaxSecureTries || row.Status != psp.PayInFailed || row.ResultCode != "101111" {
				t.Errorf("pay-in = %+v", row)
			}
			if c, _ := f.p.GetCard(ctx, cardID); c.Active {
				t.Error("card still active")
			}
		})
	})
}

func TestBankAccountsAndMandates(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		address := psp.Address{Line1: "1 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "FR"}

		bad := psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: by.userID, OwnerName: "Garage Martin",
			OwnerAddress: address, IBAN: "FR7630006000011234567890188"}
		_, err := f.p.CreateBankAccount(ctx, bad)
		rejected := wantRejected(t, err, "param_error", "IBAN")
		if strings.Contains(rejected.Error(), "1234567890") || strings.Contains(rejected.Fields["IBAN"], "1234567890") {
			t.Errorf("refusal shows the IBAN: %v", rejected)
		}
		_, err = f.p.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: by.userID, IBAN: ibanSucceeds})
		wantRejected(t, err, "param_error", "OwnerName")
		_, err = f.p.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: "sbx_user_x",
			OwnerName: "X", OwnerAddress: address, IBAN: ibanSucceeds})
		if !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}

		for _, tc := range []struct {
			owner, iban string
			outcome     sandbox.DebitOutcome
		}{
			{"Garage Martin", "FR76 3000 6000 0112 3456 7890 189", sandbox.DebitSucceeds},
			{"Garage Martin", "FR7630004000031234567890143", sandbox.DebitSucceeds},
			{"Garage Martin", ibanGerman, sandbox.DebitSucceeds},
			{"Garage Martin", ibanInsufficient, sandbox.DebitInsufficientFunds},
			{"Penniless Garage", ibanSucceeds, sandbox.DebitInsufficientFunds},
			{"Garage Martin", ibanClosed, sandbox.DebitAccountClosed},
		} {
			req := psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: by.userID, OwnerName: tc.owner, OwnerAddress: address, IBAN: tc.iban}
			acc, err := f.p.CreateBankAccount(ctx, req)
			if err != nil {
				t.Fatalf("%s: %v", tc.iban, err)
			}
			if again, err := f.p.CreateBankAccount(ctx, req); err != nil || again.ID != acc.ID {
				t.Errorf("replay: %v, %v", again, err)
			}
			row, err := f.store.BankAccount(ctx, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			compact := strings.ReplaceAll(tc.iban, " ", "")
			want := sandbox.BankAccount{ID: acc.ID, UserID: by.userID, OwnerName: tc.owner, MaskedIBAN: psp.MaskIBAN(compact),
				Country: compact[:2], Last4: compact[len(compact)-4:], Outcome: tc.outcome, Active: true, CreatedAt: start}
			if diff := cmp.Diff(want, row); diff != "" {
				t.Errorf("%s: stored account (-want +got):\n%s", tc.iban, diff)
			}
		}

		m := f.mandate(t, by, "Garage Martin", ibanSucceeds, "https://shop.test/sepa?mandate_id=mdt_1")
		if m.Status != psp.MandateCreated || m.RedirectURL != publicURL+"/sandbox/psp/mandates/"+m.ID ||
			m.ReturnURL != "https://shop.test/sepa?mandate_id=mdt_1" || !strings.HasPrefix(m.BankReference, "SBX") || m.Scheme != "" {
			t.Fatalf("mandate = %+v", m)
		}
		_, err = f.p.CancelMandate(ctx, m.ID)
		wantRejected(t, err, "param_error", "Status")
		f.events.take()
		signed, err := f.p.SignMandate(ctx, m.ID)
		if err != nil || signed.Status != psp.MandateSubmitted || signed.Scheme != "SEPA" {
			t.Fatalf("sign = %+v, %v", signed, err)
		}
		if _, err := f.p.RefuseMandate(ctx, m.ID); !errors.Is(err, sandbox.ErrFinished) {
			t.Errorf("refuse a signed mandate: %v", err)
		}
		cancelled, err := f.p.CancelMandate(ctx, m.ID)
		if err != nil || cancelled.Status != psp.MandateCancelled || cancelled.Failure != psp.FailureMandateCancelled || cancelled.ResultCode != "001806" {
			t.Fatalf("cancel = %+v, %v", cancelled, err)
		}

		refused := f.mandate(t, by, "Garage Martin", ibanSucceeds, "https://shop.test/sepa")
		got, err := f.p.RefuseMandate(ctx, refused.ID)
		if err != nil || got.Status != psp.MandateFailed || got.Failure != psp.FailureMandateCancelled {
			t.Fatalf("refuse = %+v, %v", got, err)
		}

		late := f.mandate(t, by, "Garage Martin", ibanSucceeds, "https://shop.test/sepa")
		f.clock.Advance(61 * time.Minute)
		got, err = f.p.GetMandate(ctx, late.ID)
		if err != nil || got.Status != psp.MandateExpired || got.ResultCode != "001807" || got.Failure != psp.FailureMandateCancelled {
			t.Fatalf("unsigned for an hour: %+v, %v", got, err)
		}
		if _, err := f.p.SignMandate(ctx, late.ID); !errors.Is(err, sandbox.ErrFinished) {
			t.Errorf("sign an expired mandate: %v", err)
		}
		wantEvents := []psp.Notification{
			{Kind: psp.ResourceMandate, ResourceID: m.ID, Event: "MANDATE_SUBMITTED"},
			{Kind: psp.ResourceMandate, ResourceID: m.ID, Event: "MANDATE_FAILED"},
			{Kind: psp.ResourceMandate, ResourceID: refused.ID, Event: "MANDATE_FAILED"},
			{Kind: psp.ResourceMandate, ResourceID: late.ID, Event: "MANDATE_FAILED"},
		}
		if diff := cmp.Diff(wantEvents, f.events.take()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		if _, err := f.p.GetMandate(ctx, "sbx_mandate_x"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("unknown mandate: %v", err)
		}

		// An inactive account takes no mandate; another user's account cannot be deactivated.
		acc, _ := f.p.CreateBankAccount(ctx, psp.BankAccountRequest{IdempotencyKey: key("ba"), UserID: by.userID,
			OwnerName: "Garage Martin", OwnerAddress: address, IBAN: ibanSucceeds})
		if _, err := f.p.DeactivateBankAccount(ctx, "sbx_user_other", acc.ID); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("deactivate another user's account: %v", err)
		}
		for range 2 {
			if got, err := f.p.DeactivateBankAccount(ctx, by.userID, acc.ID); err != nil || got.Active {
				t.Fatalf("deactivate = %+v, %v", got, err)
			}
		}
		_, err = f.p.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: key("mdt"), BankAccountID: acc.ID, ReturnURL: "https://shop.test"})
		wantRejected(t, err, "param_error", "BankAccountId")
		_, err = f.p.CreateMandate(ctx, psp.MandateRequest{IdempotencyKey: key("mdt"), BankAccountID: "sbx_bankaccount_x",
			ReturnURL: "https://shop.test/" + strings.Repeat("x", 220), Culture: "SV"})
		rejected = wantRejected(t, err, "param_error", "ReturnURL")
		if _, ok := rejected.Fields["Culture"]; !ok {
			t.Errorf("fields = %v, want Culture too", rejected.Fields)
		}
	})
}

func TestDirectDebitsAndSettlement(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		debit := func(mandateID string, amount int64) psp.PayIn {
			t.Helper()
			pi, err := f.p.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID,
				CreditedWalletID: by.walletID, MandateID: mandateID, Amount: amount, StatementDescriptor: "vhupay novembre"})
			if err != nil {
				t.Fatalf("CreateDirectDebitPayIn: %v", err)
			}
			return pi
		}
		cases := []struct {
			name, owner, iban string
			status            psp.PayInStatus
			code              string
			failure           psp.FailureCode
		}{
			{"succeeds", "Garage Martin", ibanSucceeds, psp.PayInSucceeded, "000000", ""},
			{"insufficient funds", "Garage Martin", ibanInsufficient, psp.PayInFailed, "001830", psp.FailureInsufficientFunds},
			{"penniless owner", "Penniless SARL", ibanGerman, psp.PayInFailed, "001830", psp.FailureInsufficientFunds},
			{"account closed", "Garage Martin", ibanClosed, psp.PayInFailed, "001801", psp.FailureAccountClosed},
		}
		mandates := make([]psp.Mandate, len(cases))
		payIns := make([]psp.PayIn, len(cases))
		for i, tc := range cases {
			mandates[i] = f.signedMandate(t, by, tc.owner, tc.iban)
			payIns[i] = debit(mandates[i].ID, int64(1000*(i+1)))
			want := psp.PayIn{ID: payIns[i].ID, Method: psp.PayInDirectDebit, Status: psp.PayInCreated, AuthorID: by.userID,
				CreditedWalletID: by.walletID, Amount: int64(1000 * (i + 1)), MandateID: mandates[i].ID,
				ChargeDate: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)}
			if diff := cmp.Diff(want, payIns[i]); diff != "" {
				t.Errorf("%s: created (-want +got):\n%s", tc.name, diff)
			}
		}
		// Cancelled before it settles: fails with mandate_cancelled.
		cancelledLater := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		pending := debit(cancelledLater.ID, 700)
		if _, err := f.p.CancelMandate(ctx, cancelledLater.ID); err != nil {
			t.Fatal(err)
		}
		// Refused at once: a mandate that is not signed, or is cancelled.
		unsigned := f.mandate(t, by, "Garage Martin", ibanSucceeds, "https://shop.test/sepa")
		for _, id := range []string{unsigned.ID, cancelledLater.ID} {
			pi := debit(id, 500)
			if pi.Status != psp.PayInFailed || pi.ResultCode != "001833" || pi.Failure != psp.FailureMandateCancelled {
				t.Errorf("debit on a mandate not usable = %+v", pi)
			}
		}
		_, err := f.p.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID,
			CreditedWalletID: by.walletID, MandateID: "sbx_mandate_x", Amount: 100})
		wantRejected(t, err, "param_error", "MandateId")
		f.events.take()

		f.clock.Advance(47 * time.Hour)
		if n, err := f.p.Settle(ctx, false); err != nil || n != 0 {
			t.Fatalf("Settle after 47 h = %d, %v; want 0", n, err)
		}
		f.clock.Advance(time.Hour)
		if n, err := f.p.Settle(ctx, false); err != nil || n != len(cases)+1 {
			t.Fatalf("Settle after 48 h = %d, %v; want %d", n, err, len(cases)+1)
		}
		var wantEvents []psp.Notification
		for i, tc := range cases {
			pi, err := f.p.GetPayIn(ctx, payIns[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if pi.Status != tc.status || pi.ResultCode != tc.code || pi.Failure != tc.failure {
				t.Errorf("%s: settled = %+v", tc.name, pi)
			}
			m, _ := f.p.GetMandate(ctx, mandates[i].ID)
			event := "PAYIN_NORMAL_FAILED"
			wantMandate := psp.MandateSubmitted
			if tc.status == psp.PayInSucceeded {
				event, wantMandate = "PAYIN_NORMAL_SUCCEEDED", psp.MandateActive
				if !pi.ExecutedAt.Equal(f.clock.Now()) {
					t.Errorf("ExecutedAt = %v", pi.ExecutedAt)
				}
			}
			if m.Status != wantMandate {
				t.Errorf("%s: mandate %s, want %s", tc.name, m.Status, wantMandate)
			}
			wantEvents = append(wantEvents, psp.Notification{Kind: psp.ResourcePayIn, ResourceID: pi.ID, Event: event})
			if tc.status == psp.PayInSucceeded {
				wantEvents = append(wantEvents, psp.Notification{Kind: psp.ResourceMandate, ResourceID: m.ID, Event: "MANDATE_ACTIVATED"})
			}
		}
		wantEvents = append(wantEvents, psp.Notification{Kind: psp.ResourcePayIn, ResourceID: pending.ID, Event: "PAYIN_NORMAL_FAILED"})
		if diff := cmp.Diff(wantEvents, f.events.take()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		if got, _ := f.p.GetPayIn(ctx, pending.ID); got.Failure != psp.FailureMandateCancelled {
			t.Errorf("debit of a mandate cancelled meanwhile = %+v", got)
		}
		if got := f.balance(t, by.walletID); got != 1000 {
			t.Errorf("balance = %d, want 1000", got)
		}
		if n, err := f.p.Settle(ctx, false); err != nil || n != 0 {
			t.Errorf("Settle again = %d, %v", n, err)
		}

		// force settles at once; a second debit on an active mandate leaves it active.
		next := debit(mandates[0].ID, 250)
		if n, err := f.p.Settle(ctx, true); err != nil || n != 1 {
			t.Fatalf("Settle(force) = %d, %v", n, err)
		}
		if got, _ := f.p.GetPayIn(ctx, next.ID); got.Status != psp.PayInSucceeded {
			t.Errorf("forced = %+v", got)
		}
		if diff := cmp.Diff([]psp.Notification{{Kind: psp.ResourcePayIn, ResourceID: next.ID, Event: "PAYIN_NORMAL_SUCCEEDED"}}, f.events.take()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
	})
}

func TestSettleConcurrent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		m := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		for range 5 {
			if _, err := f.p.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID,
				CreditedWalletID: by.walletID, MandateID: m.ID, Amount: 100}); err != nil {
				t.Fatal(err)
			}
		}
		counts := make([]int, 3)
		var wg sync.WaitGroup
		for i := range counts {
			wg.Go(func() {
				n, err := f.p.Settle(ctx, true)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			})
		}
		wg.Wait()
		if total := counts[0] + counts[1] + counts[2]; total != 5 {
			t.Errorf("settled %v, want 5 in all", counts)
		}
		if got := f.balance(t, by.walletID); got != 500 {
			t.Errorf("balance = %d, want 500", got)
		}
	})
}

func TestRefunds(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		pi := f.cardPayIn(t, by, f.card(t, by, sandbox.FrictionlessCard), 10000, "https://shop.test/back")
		f.events.take()
		refund := func(amount int64, tag string) (psp.Refund, error) {
			return f.p.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: pi.ID, AuthorID: by.userID, Amount: amount, Tag: tag})
		}
		steps := []struct {
			name   string
			amount int64
			status psp.RefundStatus
			code   string
		}{
			{"partial", 3000, psp.RefundSucceeded, "000000"},
			{"same amount the same day", 3000, psp.RefundFailed, "005407"},
			{"more than what is left", 8000, psp.RefundFailed, "005403"},
			{"the rest", 0, psp.RefundSucceeded, "000000"},
			{"nothing left", 0, psp.RefundFailed, "001401"},
		}
		for _, s := range steps {
			r, err := refund(s.amount, "")
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if r.Status != s.status || r.ResultCode != s.code || r.PayInID != pi.ID {
				t.Errorf("%s: refund = %+v", s.name, r)
			}
			if s.status == psp.RefundFailed && r.Failure != psp.FailureProviderError {
				t.Errorf("%s: failure = %q", s.name, r.Failure)
			}
			if got, err := f.p.GetRefund(ctx, r.ID); err != nil || !cmp.Equal(got, r) {
				t.Errorf("%s: GetRefund = %+v, %v", s.name, got, err)
			}
		}
		if got := f.balance(t, by.walletID); got != 0 {
			t.Errorf("balance = %d after refunding everything", got)
		}
		if ev := f.events.take(); len(ev) != len(steps) || ev[0].Event != "PAYIN_REFUND_SUCCEEDED" || ev[1].Event != "PAYIN_REFUND_FAILED" {
			t.Errorf("notifications = %v", ev)
		}

		req := psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: pi.ID, AuthorID: by.userID}
		first, _ := f.p.RefundPayIn(ctx, req)
		if again, err := f.p.RefundPayIn(ctx, req); err != nil || again.ID != first.ID {
			t.Errorf("replay = %+v, %v; want %s", again, err, first.ID)
		}
		_, err := f.p.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: pi.ID, AuthorID: "sbx_user_x"})
		wantRejected(t, err, "param_error", "AuthorId")
		if _, err := f.p.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: "sbx_payin_x", AuthorID: by.userID}); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("unknown pay-in: %v", err)
		}
		if _, err := f.p.GetRefund(ctx, "sbx_refund_x"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("unknown refund: %v", err)
		}
		if _, err := f.p.GetRepudiation(ctx, "sbx_repudiation_x"); !errors.Is(err, psp.ErrNotFound) {
			t.Errorf("GetRepudiation: %v", err)
		}

		// Direct debits: not before 7 days, unless tagged ignore_mindate.
		m := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		dd, _ := f.p.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID,
			CreditedWalletID: by.walletID, MandateID: m.ID, Amount: 2000})
		_, err = f.p.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: dd.ID, AuthorID: by.userID})
		wantRejected(t, err, "param_error", "PayInId") // not succeeded yet
		if _, err := f.p.Settle(ctx, true); err != nil {
			t.Fatal(err)
		}
		if r, _ := refund2(f, dd.ID, by.userID, ""); r.ResultCode != "001405" {
			t.Errorf("refund of a 0-day-old debit = %+v", r)
		}
		if r, _ := refund2(f, dd.ID, by.userID, "ignore_mindate"); r.Status != psp.RefundSucceeded {
			t.Errorf("refund tagged ignore_mindate = %+v", r)
		}

		// A card payment is refundable for 11 months (001403).
		late := f.cardPayIn(t, by, f.card(t, by, sandbox.FrictionlessCard), 5000, "https://shop.test/back")
		f.clock.Advance(time.Until(time.Now().AddDate(0, 11, 1)))
		if r, _ := refund2(f, late.ID, by.userID, ""); r.Status != psp.RefundFailed || r.ResultCode != "001403" {
			t.Errorf("refund after 11 months = %+v", r)
		}
	})
}

func refund2(f *fixture, payInID, author, tag string) (psp.Refund, error) {
	return f.p.RefundPayIn(context.Background(), psp.RefundRequest{IdempotencyKey: key("rf"), PayInID: payInID, AuthorID: author, Tag: tag})
}

// TestNoCardNumberOrIBANStored reads every text column of the sandbox tables after the flows and
// the log lines they wrote.
func TestNoCardNumberOrIBANStored(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		by := f.buyer(t)
		_, _, pi := f.challenged(t, 100, "https://shop.test/back")
		if _, err := f.p.SubmitSecureCode(context.Background(), pi.ID, "987654"); err != nil {
			t.Fatal(err)
		}
		f.card(t, by, sandbox.FrictionlessCard)
		for _, iban := range []string{ibanSucceeds, ibanInsufficient, ibanClosed, ibanGerman} {
			f.signedMandate(t, by, "Garage Martin", iban)
		}
		secrets := []string{sandbox.ChallengeCard, sandbox.FrictionlessCard, ibanSucceeds, ibanInsufficient, ibanClosed, ibanGerman,
			"1234567890", "5181818183", "987654", sandbox.SecureCode}
		dump := dumpSandboxTables(t, f)
		for _, s := range secrets[:7] {
			if strings.Contains(dump, s) {
				t.Errorf("the sandbox tables hold %q", s)
			}
		}
		logs := f.logs.String()
		if logs == "" {
			t.Fatal("no log lines written")
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a log line holds %q:\n%s", s, logs)
			}
		}
	})
}

func dumpSandboxTables(t *testing.T, f *fixture) string {
	t.Helper()
	var all strings.Builder
	for _, table := range []string{"sandbox_idempotency", "sandbox_users", "sandbox_wallets", "sandbox_card_registrations",
		"sandbox_cards", "sandbox_payins", "sandbox_refunds", "sandbox_bank_accounts", "sandbox_mandates"} {
		rows, err := f.db.SQL().Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case string:
					all.WriteString(v + "\n")
				case []byte:
					all.WriteString(string(v) + "\n")
				}
			}
		}
		_ = rows.Close()
		if n == 0 && table != "sandbox_refunds" {
			t.Errorf("table %s is empty: the dump checks nothing", table)
		}
	}
	return all.String()
}

// TestConcurrentCreatesWithOneKey makes the same create at once from several goroutines: one
// resource, and every call returns it.
func TestConcurrentCreatesWithOneKey(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		cardID := f.card(t, by, sandbox.FrictionlessCard)
		f.events.take()
		req := psp.CardPayInRequest{IdempotencyKey: key("payin"), AuthorID: by.userID, CreditedWalletID: by.walletID,
			CardID: cardID, Amount: 777, SecureModeReturnURL: "https://shop.test/back", BrowserInfo: browserInfo(), IPAddress: "::1"}
		ids := make([]string, 6)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				pi, err := f.p.CreateCardPayIn(ctx, req)
				if err != nil {
					t.Error(err)
				}
				ids[i] = pi.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] || id == "" {
				t.Fatalf("ids = %v, want one pay-in", ids)
			}
		}
		if got := f.balance(t, by.walletID); got != 777 {
			t.Errorf("balance = %d, want 777 once", got)
		}
		if ev := f.events.take(); len(ev) != 1 {
			t.Errorf("notifications = %v, want one", ev)
		}
		var n int
		if err := f.db.SQL().QueryRow("SELECT COUNT(*) FROM sandbox_payins").Scan(&n); err != nil || n != 1 {
			t.Errorf("%d pay-in rows (%v), want 1", n, err)
		}
	})
}

// TestDirectDebitAnswer: the pay-in a direct debit answers (built in the creating transaction,
// not read back) is the one stored: the same as a replay of its key and as GetPayIn.
func TestDirectDebitAnswer(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		m := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		req := psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID, CreditedWalletID: by.walletID,
			MandateID: m.ID, Amount: 4200, StatementDescriptor: "vhupay 2026-11", Tag: "col_1"}
		created, err := f.p.CreateDirectDebitPayIn(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		replayed, err := f.p.CreateDirectDebitPayIn(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		read, err := f.p.GetPayIn(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(read, created); diff != "" || created.Tag != "col_1" || created.Status != psp.PayInCreated {
			t.Errorf("created vs stored (-stored +created):\n%s", diff)
		}
		if diff := cmp.Diff(read, replayed); diff != "" {
			t.Errorf("replayed vs stored (-stored +replayed):\n%s", diff)
		}
	})
}

// Settle calls run one at a time: a forced Settle made while another call is sending the
// notification of a debit it settled returns only after that notification was sent (the clock
// move that settles answers after the outcome is applied, also when the background settlement
// took the debit first). Both databases.
func TestSettleWaitsForAConcurrentSettle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		f := newFixture(t, b, publicURL)
		ctx := context.Background()
		by := f.buyer(t)
		m := f.signedMandate(t, by, "Garage Martin", ibanSucceeds)
		if _, err := f.p.CreateDirectDebitPayIn(ctx, psp.DirectDebitPayInRequest{IdempotencyKey: key("dd"), AuthorID: by.userID,
			CreditedWalletID: by.walletID, MandateID: m.ID, Amount: 1000}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(48 * time.Hour)
		started, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		p := sandbox.New(f.store, f.clock, publicURL, sandbox.WithNotifier(func(_ context.Context, n psp.Notification) {
			if n.Kind == psp.ResourcePayIn {
				once.Do(func() { close(started) })
				<-release
			}
		}))
		background := make(chan error, 1)
		go func() { _, err := p.Settle(ctx, false); background <- err }()
		<-started
		moved := make(chan int, 1)
		go func() {
			n, err := p.Settle(ctx, true)
			if err != nil {
				t.Error(err)
			}
			moved <- n
		}()
		select {
		case n := <-moved:
			close(release)
			<-background
			t.Fatalf("the forced Settle returned (%d settled) while the concurrent one was still sending its notification", n)
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		if err := <-background; err != nil {
			t.Fatal(err)
		}
		if n := <-moved; n != 0 {
			t.Errorf("the forced Settle settled %d pay-ins, want 0 (the concurrent call settled the debit)", n)
		}
	})
}
