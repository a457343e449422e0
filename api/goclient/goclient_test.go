package goclient_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/vhupay/vhupay/api/goclient"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func TestMain(m *testing.M) { storagetest.Main(m) }

// The generated Go client drives the three flows of docs/quickstart.md against a real server,
// each exchange checked against the published document (apptest.Server.HTTPClient): a card
// payment through 3-D Secure, a SEPA payment collected at month end, an end-of-month invoice.
// The browser's part (the card form, the bank's pages) is played with plain form posts.
func TestGoClientFlows(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		ctx := context.Background()
		client := func(token string) *goclient.ClientWithResponses {
			t.Helper()
			c, err := goclient.NewClientWithResponses(s.URL, goclient.WithHTTPClient(s.HTTPClient(t)),
				goclient.WithRequestEditorFn(goclient.Bearer(token)))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		admin := client(s.Token(t, auth.RoleAdmin, ""))
		address := goclient.Address{Line1: "12 rue des Casses", PostalCode: "69007", City: "Lyon", Country: "FR"}

		buyerRes, err := admin.CreateBuyerWithResponse(ctx, &goclient.CreateBuyerParams{},
			goclient.BuyerRequest{Name: "Garage Martin SARL", Siren: "823456785", Email: "compta@garage-martin.example", Address: address})
		must(t, err, buyerRes.StatusCode(), http.StatusCreated, buyerRes.Body)
		buyer := buyerRes.JSON201
		if loc := buyerRes.HTTPResponse.Header.Get("Location"); loc != "/v1/buyers/"+buyer.Id {
			t.Errorf("Location = %q", loc)
		}
		again, err := admin.CreateBuyerWithResponse(ctx, &goclient.CreateBuyerParams{},
			goclient.BuyerRequest{Name: "Garage Martin SARL", Siren: "823456785", Email: "compta@garage-martin.example", Address: address})
		must(t, err, again.StatusCode(), http.StatusConflict, again.Body)
		if p := again.ApplicationproblemJSON409; p == nil || p.Code != goclient.ProblemCodeBuyerExists || p.RequestId == "" {
			t.Errorf("the same SIREN twice answered %+v, want the problem buyer_exists", p)
		}
		centerRes, err := admin.CreateCenterWithResponse(ctx, &goclient.CreateCenterParams{},
			goclient.CenterRequest{Name: "Centre VHU du Rhône", Siret: "82345678500018", Email: "contact@cvhu-rhone.example", Address: address})
		must(t, err, centerRes.StatusCode(), http.StatusCreated, centerRes.Body)
		center := centerRes.JSON201
		buyerAPI := client(s.Token(t, auth.RoleBuyer, buyer.Id))
		centerAPI := client(s.Token(t, auth.RoleCenter, center.Id))

		order := func(t *testing.T, unitPrice int) goclient.Order {
			t.Helper()
			res, err := buyerAPI.CreateOrderWithResponse(ctx, &goclient.CreateOrderParams{}, goclient.OrderRequest{
				CenterId: center.Id, DeliveryMode: goclient.OrderRequestDeliveryModeDelivery,
				Lines: &[]goclient.OrderLineRequest{{Reference: "PHARE-AV-G-208", Label: "Phare avant gauche Peugeot 208", Quantity: 1, UnitPriceExclVat: unitPrice}},
			})
			must(t, err, res.StatusCode(), http.StatusCreated, res.Body)
			return *res.JSON201
		}

		t.Run("card with 3-D Secure", func(t *testing.T) {
			reg, err := buyerAPI.CreateCardRegistrationWithResponse(ctx, &goclient.CreateCardRegistrationParams{}, goclient.CardRegistrationRequest{})
			must(t, err, reg.StatusCode(), http.StatusCreated, reg.Body)
			tokenised := postForm(t, reg.JSON201.CardRegistrationUrl, url.Values{
				"data": {reg.JSON201.PreregistrationData}, "accessKeyRef": {reg.JSON201.AccessKey},
				"cardNumber": {"4970105181818183"}, "cardExpirationDate": {"1230"}, "cardCvx": {"123"},
			}, http.StatusOK)
			done, err := buyerAPI.CompleteCardRegistrationWithResponse(ctx, reg.JSON201.Id, goclient.CardRegistrationCompletion{RegistrationData: tokenised})
			must(t, err, done.StatusCode(), http.StatusOK, done.Body)

			o := order(t, 12000)
			returnURL := "http://localhost:5173/paiement/retour"
			key := goclient.IdempotencyKey("pay-" + o.Id)
			pay := func() *goclient.CreatePaymentIntentResponse {
				res, err := buyerAPI.CreatePaymentIntentWithResponse(ctx, &goclient.CreatePaymentIntentParams{IdempotencyKey: &key},
					goclient.PaymentIntentRequest{OrderId: &o.Id, Method: goclient.PaymentIntentRequestMethodCard, CardId: &done.JSON200.CardId, ReturnUrl: &returnURL})
				must(t, err, res.StatusCode(), http.StatusCreated, res.Body)
				return res
			}
			first := pay()
			pi := first.JSON201
			if pi.Status != goclient.PaymentIntentStatusRequiresAction || pi.NextAction == nil || pi.Amount != 14400 {
				t.Fatalf("card intent = %+v", pi)
			}
			if replay := pay(); replay.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" || replay.JSON201.Id != pi.Id {
				t.Errorf("the retried request was not the replay of the first: %s", replay.Body)
			}
			if back := postForm(t, pi.NextAction.RedirectToUrl.Url, url.Values{"code": {"123456"}}, http.StatusSeeOther); back != returnURL+"?payment_intent="+pi.Id {
				t.Errorf("the bank sent the browser to %q", back)
			}
			got, err := buyerAPI.GetPaymentIntentWithResponse(ctx, pi.Id)
			must(t, err, got.StatusCode(), http.StatusOK, got.Body)
			if got.JSON200.Status != goclient.PaymentIntentStatusSucceeded || got.JSON200.LastError != nil {
				t.Errorf("intent after 3-D Secure = %+v", got.JSON200)
			}
		})

		var sepaIntent goclient.PaymentIntent
		t.Run("SEPA mandate and payment", func(t *testing.T) {
			acc, err := buyerAPI.CreateBankAccountWithResponse(ctx, &goclient.CreateBankAccountParams{},
				goclient.BankAccountRequest{OwnerName: "Garage Martin SARL", OwnerAddress: address, Iban: "FR7630006000011234567890189"})
			must(t, err, acc.StatusCode(), http.StatusCreated, acc.Body)
			if acc.JSON201.IbanLast4 != "0189" {
				t.Errorf("bank account = %+v", acc.JSON201)
			}
			m, err := buyerAPI.CreateMandateWithResponse(ctx, acc.JSON201.Id, &goclient.CreateMandateParams{},
				goclient.MandateRequest{ReturnUrl: "http://localhost:5173/sepa/mandat"})
			must(t, err, m.StatusCode(), http.StatusCreated, m.Body)
			postForm(t, m.JSON201.SignatureUrl, url.Values{"action": {"sign"}}, http.StatusSeeOther)

			profile, err := buyerAPI.GetSepaProfileWithResponse(ctx)
			must(t, err, profile.StatusCode(), http.StatusOK, profile.Body)
			if !profile.JSON200.Enabled || profile.JSON200.Available != 25000 {
				t.Fatalf("SEPA profile after signing = %+v", profile.JSON200)
			}
			o := order(t, 9000)
			res, err := buyerAPI.CreatePaymentIntentWithResponse(ctx, &goclient.CreatePaymentIntentParams{},
				goclient.PaymentIntentRequest{OrderId: &o.Id, Method: goclient.PaymentIntentRequestMethodSepaDebit})
			must(t, err, res.StatusCode(), http.StatusCreated, res.Body)
			sepaIntent = *res.JSON201
			if sepaIntent.Status != goclient.PaymentIntentStatusScheduled || sepaIntent.CollectionMonth == nil {
				t.Fatalf("SEPA intent = %+v", sepaIntent)
			}
			over := order(t, 20000) // 240.00 EUR with VAT, over the 142.00 EUR left
			refused, err := buyerAPI.CreatePaymentIntentWithResponse(ctx, &goclient.CreatePaymentIntentParams{},
				goclient.PaymentIntentRequest{OrderId: &over.Id, Method: goclient.PaymentIntentRequestMethodSepaDebit})
			must(t, err, refused.StatusCode(), http.StatusConflict, refused.Body)
			if p := refused.ApplicationproblemJSON409; p.Code != goclient.ProblemCodeSepaCeilingExceeded || p.Available == nil || *p.Available != 25000-10800 {
				t.Errorf("over the ceiling: %+v", p)
			}
		})
		if sepaIntent.Id == "" {
			t.Fatal("no SEPA payment to collect")
		}
		month := *sepaIntent.CollectionMonth

		t.Run("end-of-month invoice and the month end", func(t *testing.T) {
			acc, err := buyerAPI.CreateInvoicingAccountWithResponse(ctx, &goclient.CreateInvoicingAccountParams{}, goclient.InvoicingAccountRequest{CenterId: center.Id})
			must(t, err, acc.StatusCode(), http.StatusCreated, acc.Body)
			note := "Client connu"
			approved, err := centerAPI.ApproveInvoicingAccountWithResponse(ctx, acc.JSON201.Id, &goclient.ApproveInvoicingAccountParams{}, goclient.DecisionRequest{Note: &note})
			must(t, err, approved.StatusCode(), http.StatusOK, approved.Body)
			o := order(t, 65000)
			res, err := buyerAPI.CreatePaymentIntentWithResponse(ctx, &goclient.CreatePaymentIntentParams{},
				goclient.PaymentIntentRequest{OrderId: &o.Id, Method: goclient.PaymentIntentRequestMethodVhuInvoice})
			must(t, err, res.StatusCode(), http.StatusCreated, res.Body)
			bl, err := centerAPI.CreateDeliveryNoteWithResponse(ctx, o.Id, &goclient.CreateDeliveryNoteParams{},
				goclient.DeliveryNoteRequest{Kind: goclient.DeliveryNoteRequestKindBL, Number: "BL-2026-0001"})
			must(t, err, bl.StatusCode(), http.StatusCreated, bl.Body)

			// The month end: the clock to the 1st of next month, the close, the settlement.
			start, err := time.Parse("2006-01", month)
			if err != nil {
				t.Fatal(err)
			}
			moved, err := admin.MoveSandboxClockWithResponse(ctx, goclient.ClockRequest{Now: start.AddDate(0, 1, 0).Add(12 * time.Hour)})
			must(t, err, moved.StatusCode(), http.StatusOK, moved.Body)
			closing, err := admin.StartMonthCloseWithResponse(ctx, &goclient.StartMonthCloseParams{}, goclient.MonthCloseRequest{Month: month})
			if err != nil || (closing.StatusCode() != http.StatusAccepted && closing.StatusCode() != http.StatusOK) {
				t.Fatalf("start the close: %v %s", err, closing.Body)
			}
			var mc *goclient.MonthClose
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				got, err := admin.GetMonthCloseWithResponse(ctx, month)
				must(t, err, got.StatusCode(), http.StatusOK, got.Body)
				if mc = got.JSON200; mc.Status != goclient.MonthCloseStatusRunning || time.Now().After(deadline) {
					break
				}
			}
			if mc.Status != goclient.MonthCloseStatusCompleted || mc.Collections != 1 || mc.Statements != 1 {
				t.Fatalf("month close = %+v", mc)
			}
			settle := true
			moved, err = admin.MoveSandboxClockWithResponse(ctx, goclient.ClockRequest{Now: start.AddDate(0, 1, 3).Add(12 * time.Hour), Settle: &settle})
			must(t, err, moved.StatusCode(), http.StatusOK, moved.Body)

			cols, err := buyerAPI.ListSepaCollectionsWithResponse(ctx, &goclient.ListSepaCollectionsParams{})
			must(t, err, cols.StatusCode(), http.StatusOK, cols.Body)
			if len(cols.JSON200.Data) != 1 || cols.JSON200.Data[0].Status != goclient.CollectionStatusSucceeded || cols.JSON200.Data[0].Amount != 10800 {
				t.Errorf("collections = %+v", cols.JSON200.Data)
			}
			pi, err := buyerAPI.GetPaymentIntentWithResponse(ctx, sepaIntent.Id)
			must(t, err, pi.StatusCode(), http.StatusOK, pi.Body)
			if pi.JSON200.Status != goclient.PaymentIntentStatusSucceeded {
				t.Errorf("SEPA intent after the collection = %+v", pi.JSON200)
			}

			list, err := centerAPI.ListStatementsWithResponse(ctx, &goclient.ListStatementsParams{Month: &month})
			must(t, err, list.StatusCode(), http.StatusOK, list.Body)
			if len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Status != goclient.StatementStatusIssued || list.JSON200.Data[0].Total != 78000 {
				t.Fatalf("statements = %+v", list.JSON200.Data)
			}
			paid, err := centerAPI.MarkStatementPaidWithResponse(ctx, list.JSON200.Data[0].Id, &goclient.MarkStatementPaidParams{})
			must(t, err, paid.StatusCode(), http.StatusOK, paid.Body)
			if paid.JSON200.Status != goclient.StatementStatusPaid {
				t.Errorf("statement after mark-paid = %+v", paid.JSON200)
			}
		})
	})
}

// must fails the test unless the call went through with the wanted status.
func must(t *testing.T, err error, status, want int, body []byte) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("status %d, want %d: %s", status, want, body)
	}
}

// postForm posts a form as a browser does (the provider's pages are not the API) and returns
// the answer's body (200) or where it redirects (303).
func postForm(t *testing.T, target string, form url.Values, want int) string {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", target, resp.StatusCode, want, b)
	}
	if want == http.StatusSeeOther {
		return resp.Header.Get("Location")
	}
	return string(b)
}
