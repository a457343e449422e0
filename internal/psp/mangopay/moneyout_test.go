package mangopay_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/psp/mangopay"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
)

// The money-out port against the fake: every call's method, path, body fields and enums are
// checked by the fake's schema; replays with the same key create nothing new.

func centreRequest(key string) psp.OwnerRequest {
	return psp.OwnerRequest{
		IdempotencyKey: key, Name: "Centre VHU du Rhône SAS", Kind: psp.CompanyBusiness, CompanyNumber: "81234567600017",
		Email: "contact@cvhu.example", Address: psp.Address{Line1: "2 route des Casses", City: "Villeurbanne", PostalCode: "69100", Country: "FR"},
		Representative: psp.Representative{FirstName: "Paul", LastName: "Durand", Email: "paul@cvhu.example",
			Birthday: time.Date(1975, 4, 2, 0, 0, 0, 0, time.UTC), Nationality: "FR", CountryOfResidence: "FR"},
		TermsAccepted: true, Tag: key,
	}
}

// centre is an enrolled owner with its wallet.
func (e env) centre(t *testing.T, key string) (psp.Owner, psp.Wallet) {
	t.Helper()
	owner, err := e.client.CreateOwner(ctx, centreRequest(key))
	if err != nil {
		t.Fatalf("CreateOwner: %v", err)
	}
	if err := e.fake.Authenticate(owner.PendingAction.URL); err != nil {
		t.Fatal(err)
	}
	wallet, err := e.client.CreateWallet(ctx, psp.WalletRequest{IdempotencyKey: key, OwnerID: owner.ID, Description: "vhupay centre " + key})
	if err != nil {
		t.Fatalf("CreateWallet: %v", err)
	}
	return owner, wallet
}

// paidBuyer is a buyer whose wallet holds amount after a card pay-in.
func (e env) paidBuyer(t *testing.T, key string, amount int64) (psp.User, psp.Wallet, psp.PayIn) {
	t.Helper()
	user, wallet := e.buyer(t, key)
	p := e.cardPayIn(t, key+"-payin-0000000", user, wallet, e.card(t, user.ID, mangopaytest.FrictionlessCard), amount)
	if p.Status != psp.PayInSucceeded {
		t.Fatalf("pay-in: %+v", p)
	}
	return user, wallet, p
}

func TestOwners(t *testing.T) {
	e := newEnv(t)
	owner, err := e.client.CreateOwner(ctx, centreRequest("owner-ctr_1"))
	if err != nil || owner.Status != psp.OwnerPendingAction || owner.PendingAction == nil || owner.PayoutsEnabled {
		t.Fatalf("CreateOwner: %+v, %v", owner, err)
	}
	if again, err := e.client.CreateOwner(ctx, centreRequest("owner-ctr_1")); err != nil || again.ID != owner.ID || e.fake.Created("users") != 1 {
		t.Fatalf("replay: %+v, %v (%d users)", again, err, e.fake.Created("users"))
	}
	if got, err := e.client.GetOwner(ctx, owner.ID); err != nil || got.Status != psp.OwnerPendingAction || got.PendingAction != nil {
		t.Fatalf("GetOwner before enrolment: %+v, %v", got, err)
	}
	fresh, err := e.client.EnrolOwner(ctx, owner.ID)
	if err != nil || fresh.URL == "" || fresh.URL == owner.PendingAction.URL {
		t.Fatalf("EnrolOwner: %+v, %v", fresh, err)
	}
	if err := e.fake.Authenticate(fresh.URL); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.client.GetOwner(ctx, owner.ID); got.Status != psp.OwnerActive || got.PayoutsEnabled {
		t.Fatalf("enrolled, not verified: %+v", got)
	}
	if err := e.fake.ValidateKYB(owner.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.client.GetOwner(ctx, owner.ID); !got.PayoutsEnabled {
		t.Fatalf("verified: %+v", got)
	}
	if _, err := e.client.GetOwner(ctx, "user_nobody"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}

	incomplete := centreRequest("owner-ctr_2")
	incomplete.Representative.Birthday = time.Time{}
	if _, err := e.client.CreateOwner(ctx, incomplete); !errors.Is(err, psp.ErrRepresentativeRequired) {
		t.Fatalf("owner without the representative's birthday: %v", err)
	}
	if n := e.fake.Calls("POST /sca/users/legal"); n != 2 {
		t.Fatalf("calls %d", n)
	}
}

func TestPayoutAccounts(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.centre(t, "ctr_1")
	req := psp.PayoutAccountRequest{IdempotencyKey: "pa-1", UserID: owner.ID, OwnerName: "Centre VHU du Rhône, Lyon",
		OwnerAddress: psp.Address{Line1: "2 route des Casses", City: "Villeurbanne", PostalCode: "69100", Country: "FR"},
		IBAN:         "FR76 3000 6000 0112 3456 7890 189"}
	account, err := e.client.CreatePayoutAccount(ctx, req)
	if err != nil || account.Status != psp.PayoutAccountPending || account.PendingAction == nil || account.UserID != owner.ID {
		t.Fatalf("CreatePayoutAccount: %+v, %v", account, err)
	}
	if again, _ := e.client.CreatePayoutAccount(ctx, req); again.ID != account.ID || e.fake.Created("recipients") != 1 {
		t.Fatalf("replay: %+v", again)
	}
	if err := e.fake.Authenticate(account.PendingAction.URL); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.GetPayoutAccount(ctx, owner.ID, account.ID); err != nil || got.Status != psp.PayoutAccountActive {
		t.Fatalf("after SCA: %+v, %v", got, err)
	}
	if _, err := e.client.GetPayoutAccount(ctx, "user_other", account.ID); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("another user's account: %v", err)
	}
	if got, err := e.client.DeactivatePayoutAccount(ctx, owner.ID, account.ID); err != nil || got.Status != psp.PayoutAccountInactive {
		t.Fatalf("deactivate: %+v, %v", got, err)
	}

	bad := req
	bad.IdempotencyKey, bad.IBAN = "pa-bad", "FR7630006000011234567890188"
	_, err = e.client.CreatePayoutAccount(ctx, bad)
	var rejected *psp.RejectedError
	if !errors.As(err, &rejected) || strings.Contains(err.Error(), "890188") {
		t.Fatalf("invalid IBAN: %v", err)
	}
	buyer, _ := e.buyer(t, "buyer-payer")
	req.IdempotencyKey, req.UserID = "pa-payer", buyer.ID
	if _, err := e.client.CreatePayoutAccount(ctx, req); !errors.As(err, &rejected) || rejected.Fields["RecipientScope"] == "" {
		t.Fatalf("payout account of a payer: %v", err)
	}
}

func TestTransfersAndTheirRefunds(t *testing.T) {
	e := newEnv(t)
	buyer, buyerWallet, _ := e.paidBuyer(t, "buyer-tr", 10000)
	centre, centreWallet := e.centre(t, "ctr_tr")
	req := psp.TransferRequest{IdempotencyKey: "tr-pi_1", AuthorID: buyer.ID, DebitedWalletID: buyerWallet.ID,
		CreditedWalletID: centreWallet.ID, CreditedUserID: centre.ID, Amount: 6000, Fees: 300, Tag: "pi_1"}
	tr, err := e.client.CreateTransfer(ctx, req)
	if err != nil || tr.Status != psp.TransferSucceeded || tr.Amount != 6000 || tr.Fees != 300 || tr.ExecutedAt.IsZero() {
		t.Fatalf("CreateTransfer: %+v, %v", tr, err)
	}
	if again, _ := e.client.CreateTransfer(ctx, req); again.ID != tr.ID || e.fake.Created("transfers") != 1 {
		t.Fatalf("replay: %+v", again)
	}
	if got, err := e.client.GetTransfer(ctx, tr.ID); err != nil || got != tr {
		t.Fatalf("GetTransfer: %+v, %v", got, err)
	}
	balances := func() (int64, int64, int64) {
		b, _ := e.fake.WalletBalance(buyerWallet.ID)
		c, _ := e.fake.WalletBalance(centreWallet.ID)
		f, err := e.client.GetFeesWallet(ctx)
		if err != nil {
			t.Fatalf("GetFeesWallet: %v", err)
		}
		return b, c, f.Balance
	}
	if b, c, f := balances(); b != 4000 || c != 5700 || f != 300 {
		t.Fatalf("after the transfer: buyer %d centre %d fees %d", b, c, f)
	}

	// 30.00 back to the buyer: 28.50 from the centre, 1.50 of the fee.
	r, err := e.client.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: "trr-1", TransferID: tr.ID, AuthorID: buyer.ID, Amount: 3000, Fees: 150})
	if err != nil || r.Status != psp.RefundSucceeded || r.InitialKind != psp.RefundOfTransfer || r.InitialID != tr.ID || r.PayInID != "" || r.Amount != 3000 {
		t.Fatalf("partial refund: %+v, %v", r, err)
	}
	if b, c, f := balances(); b != 7000 || c != 2850 || f != 150 {
		t.Fatalf("after the partial refund: buyer %d centre %d fees %d", b, c, f)
	}
	// Without amounts: the whole transfer, more than is left.
	if r, _ := e.client.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: "trr-2", TransferID: tr.ID, AuthorID: buyer.ID}); r.Status != psp.RefundFailed || r.ResultCode != "005403" {
		t.Fatalf("whole refund after a partial one: %+v", r)
	}
	r, _ = e.client.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: "trr-3", TransferID: tr.ID, AuthorID: buyer.ID, Amount: 3000, Fees: 150})
	if r.Status != psp.RefundSucceeded {
		t.Fatalf("refund of the rest: %+v", r)
	}
	if b, c, f := balances(); b != 10000 || c != 0 || f != 0 {
		t.Fatalf("after the refunds: buyer %d centre %d fees %d", b, c, f)
	}
	if got, err := e.client.GetRefund(ctx, r.ID); err != nil || got != r {
		t.Fatalf("GetRefund: %+v, %v", got, err)
	}

	// Business refusals are failed transfers.
	big := req
	big.IdempotencyKey, big.Amount = "tr-big", 20000
	if tr, _ := e.client.CreateTransfer(ctx, big); tr.Status != psp.TransferFailed || tr.ResultCode != "001001" || tr.Failure != psp.FailureProviderError {
		t.Fatalf("insufficient balance: %+v", tr)
	}
	if _, err := e.client.GetTransfer(ctx, "tr_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown transfer: %v", err)
	}
}

func TestPayouts(t *testing.T) {
	e := newEnv(t)
	buyer, buyerWallet, _ := e.paidBuyer(t, "buyer-po", 10000)
	centre, centreWallet := e.centre(t, "ctr_po")
	if tr, err := e.client.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: "tr-po", AuthorID: buyer.ID, DebitedWalletID: buyerWallet.ID,
		CreditedWalletID: centreWallet.ID, Amount: 10000, Fees: 0}); err != nil || tr.Status != psp.TransferSucceeded {
		t.Fatalf("transfer: %+v, %v", tr, err)
	}
	account, err := e.client.CreatePayoutAccount(ctx, psp.PayoutAccountRequest{IdempotencyKey: "pa-po", UserID: centre.ID, OwnerName: "Centre VHU",
		OwnerAddress: psp.Address{Line1: "2 route", City: "Lyon", PostalCode: "69100", Country: "FR"}, IBAN: "FR7630006000011234567890189"})
	if err != nil {
		t.Fatal(err)
	}
	payout := func(key string, amount int64) psp.Payout {
		t.Helper()
		p, err := e.client.CreatePayout(ctx, psp.PayoutRequest{IdempotencyKey: key, AuthorID: centre.ID, DebitedWalletID: centreWallet.ID,
			PayoutAccountID: account.ID, Amount: amount, Reference: "VHUPAY W48", Tag: key})
		if err != nil {
			t.Fatalf("CreatePayout: %v", err)
		}
		return p
	}
	if p := payout("po-pending-account", 1000); p.Status != psp.PayoutFailed || p.ResultCode != "121006" {
		t.Fatalf("payout to an account waiting for SCA: %+v", p)
	}
	if err := e.fake.Authenticate(account.PendingAction.URL); err != nil {
		t.Fatal(err)
	}
	if p := payout("po-no-kyb", 1000); p.Status != psp.PayoutFailed || p.ResultCode != "002999" || p.Failure != psp.FailureProviderError {
		t.Fatalf("payout before KYB: %+v", p)
	}
	if err := e.fake.ValidateKYB(centre.ID); err != nil {
		t.Fatal(err)
	}
	p := payout("po-1", 6000)
	if p.Status != psp.PayoutCreated || p.Amount != 6000 || p.PayoutAccountID != account.ID || p.Tag != "po-1" {
		t.Fatalf("payout: %+v", p)
	}
	if again := payout("po-1", 6000); again.ID != p.ID {
		t.Fatalf("replay: %+v", again)
	}
	if balance, _ := e.fake.WalletBalance(centreWallet.ID); balance != 4000 {
		t.Fatalf("balance while paying out: %d", balance)
	}
	if err := e.fake.SettlePayout(p.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.GetPayout(ctx, p.ID); err != nil || got.Status != psp.PayoutSucceeded || got.ExecutedAt.IsZero() {
		t.Fatalf("paid: %+v, %v", got, err)
	}
	refundID, err := e.fake.ReturnPayout(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := e.client.GetRefund(ctx, refundID); err != nil || r.InitialKind != psp.RefundOfPayout || r.InitialID != p.ID || r.Status != psp.RefundSucceeded {
		t.Fatalf("returned payout: %+v, %v", r, err)
	}
	failed := payout("po-2", 4000)
	if err := e.fake.SettlePayout(failed.ID, "121001"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.client.GetPayout(ctx, failed.ID); got.Status != psp.PayoutFailed || got.ResultCode != "121001" || got.Failure != psp.FailureAccountClosed {
		t.Fatalf("refused by the bank: %+v", got)
	}
	if balance, _ := e.fake.WalletBalance(centreWallet.ID); balance != 10000 {
		t.Fatalf("balance after the return and the refusal: %d", balance)
	}
}

func TestWallets(t *testing.T) {
	e := newEnv(t)
	_, wallet, _ := e.paidBuyer(t, "buyer-w", 2500)
	if got, err := e.client.GetWallet(ctx, wallet.ID); err != nil || got.Balance != 2500 || got.ID != wallet.ID {
		t.Fatalf("GetWallet: %+v, %v", got, err)
	}
	if got, err := e.client.GetFeesWallet(ctx); err != nil || got.ID != "FEES_EUR" {
		t.Fatalf("GetFeesWallet: %+v, %v", got, err)
	}
	if _, err := e.client.GetWallet(ctx, "wlt_nope"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("unknown wallet: %v", err)
	}
}

func TestDisputes(t *testing.T) {
	e := newEnv(t)
	buyer, _, payIn := e.paidBuyer(t, "buyer-dp", 12000)
	id, err := e.fake.OpenDispute(payIn.ID, "PRODUCT_NOT_PROVIDED", true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.client.GetDispute(ctx, id)
	if err != nil || d.Status != psp.DisputeNeedsResponse || !d.Contestable || d.Reason != "product_not_provided" || d.Amount != 12000 ||
		d.PayInID != payIn.ID || d.RepudiationID == "" || !d.EvidenceDueBy.Equal(e.clock.Now().Add(7*24*time.Hour).Truncate(time.Second)) {
		t.Fatalf("GetDispute: %+v, %v", d, err)
	}
	if ds, err := e.client.PayInDisputes(ctx, payIn.ID); err != nil || len(ds) != 1 || ds[0] != d {
		t.Fatalf("PayInDisputes: %+v, %v", ds, err)
	}
	if e.fake.Calls("GET /payins/{id}/disputes") != 1 {
		t.Fatalf("GET /payins/{id}/disputes calls = %d", e.fake.Calls("GET /payins/{id}/disputes"))
	}
	if _, err := e.client.PayInDisputes(ctx, "payin_m_unknown"); !errors.Is(err, psp.ErrNotFound) {
		t.Fatalf("PayInDisputes of an unknown pay-in: %v", err)
	}
	if r, err := e.client.RefundPayIn(ctx, psp.RefundRequest{IdempotencyKey: "refund-disputed", PayInID: payIn.ID, AuthorID: buyer.ID, Amount: 1000}); err != nil ||
		r.Status != psp.RefundFailed || r.ResultCode != "005408" {
		t.Fatalf("refund of a disputed pay-in: %+v, %v", r, err)
	}
	page, err := e.client.ListDisputes(ctx, psp.DisputeQuery{CreatedAfter: e.clock.Now().Add(-time.Hour), PerPage: 10})
	if err != nil || len(page.Disputes) != 1 || page.Disputes[0] != d || page.HasMore {
		t.Fatalf("ListDisputes: %+v, %v", page, err)
	}

	// Evidence: one document of two pages; a page upload fails at first, the call is repeated.
	docs := []psp.DisputeDocument{{IdempotencyKey: "dp-evidence-1", Kind: "delivery_proof", Pages: [][]byte{[]byte("%PDF-1.4 BL"), []byte("%PDF-1.4 p2")}, Tag: "dn_1"}}
	e.fake.InjectFault(mangopaytest.Fault{Route: "POST /disputes/{id}/documents/{id}/pages", Status: 500, Times: 3})
	if _, err := e.client.SubmitDisputeEvidence(ctx, id, 12000, docs); !errors.Is(err, psp.ErrUnavailable) {
		t.Fatalf("during the outage: %v", err)
	}
	d, err = e.client.SubmitDisputeEvidence(ctx, id, 12000, docs)
	if err != nil || d.Status != psp.DisputeUnderReview {
		t.Fatalf("SubmitDisputeEvidence: %+v, %v", d, err)
	}
	stored := e.fake.DisputeDocuments(id)
	if len(stored) != 1 || stored[0].Type != "DELIVERY_PROOF" || stored[0].Status != "VALIDATION_ASKED" || len(stored[0].Pages) != 2 ||
		string(stored[0].Pages[0]) != "%PDF-1.4 BL" {
		t.Fatalf("documents at MangoPay: %+v", stored)
	}
	if again, err := e.client.SubmitDisputeEvidence(ctx, id, 12000, docs); err != nil || again.Status != psp.DisputeUnderReview || e.fake.Created("disputepages") != 2 {
		t.Fatalf("submitted twice: %+v, %v (%d pages)", again, err, e.fake.Created("disputepages"))
	}
	if err := e.fake.DecideDispute(id, true); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.client.GetDispute(ctx, id); d.Status != psp.DisputeClosed || d.Outcome != psp.DisputeWon || d.ClosedAt.IsZero() {
		t.Fatalf("won: %+v", d)
	}

	// Accepted, then settled from the buyer's wallet.
	buyer2, _, payIn2 := e.paidBuyer(t, "buyer-dp2", 5000)
	lostID, _ := e.fake.OpenDispute(payIn2.ID, "FRAUD", true)
	lost, err := e.client.CloseDispute(ctx, lostID)
	if err != nil || lost.Status != psp.DisputeClosed || lost.Outcome != psp.DisputeLost {
		t.Fatalf("CloseDispute: %+v, %v", lost, err)
	}
	var rejected *psp.RejectedError
	if _, err := e.client.CloseDispute(ctx, lostID); !errors.As(err, &rejected) {
		t.Fatalf("closing twice: %v", err)
	}
	settle := psp.SettlementRequest{IdempotencyKey: "settle-1", RepudiationID: lost.RepudiationID, AuthorID: buyer2.ID, Amount: 5000, Tag: lostID}
	s, err := e.client.SettleRepudiation(ctx, settle)
	if err != nil || s.Status != psp.TransferSucceeded || s.Amount != 5000 || s.CreditedWalletID != "CREDIT_EUR" {
		t.Fatalf("SettleRepudiation: %+v, %v", s, err)
	}
	if got, err := e.client.GetSettlement(ctx, s.ID); err != nil || got != s {
		t.Fatalf("GetSettlement: %+v, %v", got, err)
	}
	settle.IdempotencyKey = "settle-2"
	if again, _ := e.client.SettleRepudiation(ctx, settle); again.Status != psp.TransferFailed || again.ResultCode != "003012" {
		t.Fatalf("settled twice: %+v", again)
	}

	// A SEPA late failure cannot be contested.
	_, _, payIn3 := e.paidBuyer(t, "buyer-dp3", 3000)
	lateID, _ := e.fake.OpenDispute(payIn3.ID, "LATE_FAILURE_INSUFFICIENT_FUNDS", false)
	if d, _ := e.client.GetDispute(ctx, lateID); d.Contestable || d.Status != psp.DisputeClosed || d.Outcome != psp.DisputeLost {
		t.Fatalf("not contestable: %+v", d)
	}
	page, _ = e.client.ListDisputes(ctx, psp.DisputeQuery{PerPage: 2})
	if len(page.Disputes) != 2 || !page.HasMore {
		t.Fatalf("first page of 2: %+v", page)
	}
}

// TestMoneyOutHooksLeadToTheirResource: every notification the fake sends for money out maps to
// a resource kind whose getter finds the resource.
func TestMoneyOutHooksLeadToTheirResource(t *testing.T) {
	e := newEnv(t)
	buyer, buyerWallet, payIn := e.paidBuyer(t, "buyer-hooks", 10000)
	centre, centreWallet := e.centre(t, "ctr_hooks")
	tr, _ := e.client.CreateTransfer(ctx, psp.TransferRequest{IdempotencyKey: "tr-hooks", AuthorID: buyer.ID, DebitedWalletID: buyerWallet.ID,
		CreditedWalletID: centreWallet.ID, Amount: 8000, Fees: 400})
	_, _ = e.client.RefundTransfer(ctx, psp.TransferRefundRequest{IdempotencyKey: "trr-hooks", TransferID: tr.ID, AuthorID: buyer.ID, Amount: 1000, Fees: 50})
	account, _ := e.client.CreatePayoutAccount(ctx, psp.PayoutAccountRequest{IdempotencyKey: "pa-hooks", UserID: centre.ID, OwnerName: "Centre",
		OwnerAddress: psp.Address{Line1: "2 route", City: "Lyon", PostalCode: "69100", Country: "FR"}, IBAN: "FR7630006000011234567890189"})
	_ = e.fake.Authenticate(account.PendingAction.URL)
	_ = e.fake.ValidateKYB(centre.ID)
	po, _ := e.client.CreatePayout(ctx, psp.PayoutRequest{IdempotencyKey: "po-hooks", AuthorID: centre.ID, DebitedWalletID: centreWallet.ID,
		PayoutAccountID: account.ID, Amount: 2000})
	_ = e.fake.SettlePayout(po.ID, "")
	_, _ = e.fake.ReturnPayout(po.ID)
	disputeID, _ := e.fake.OpenDispute(payIn.ID, "FRAUD", true)
	d, _ := e.client.CloseDispute(ctx, disputeID)
	_, _ = e.client.SettleRepudiation(ctx, psp.SettlementRequest{IdempotencyKey: "settle-hooks", RepudiationID: d.RepudiationID, AuthorID: buyer.ID, Amount: 1000})

	seen := map[psp.ResourceKind]bool{}
	for _, ev := range e.fake.Events() {
		n, ok := mangopay.ParseHook(url.Values{"EventType": {ev.Type}, "RessourceId": {ev.ResourceID}})
		if !ok {
			if !strings.HasPrefix(ev.Type, "DISPUTE_DOCUMENT_") && !strings.HasPrefix(ev.Type, "USER_ACCOUNT_") && !strings.HasPrefix(ev.Type, "CARD_") {
				t.Errorf("%s not mapped", ev.Type)
			}
			continue
		}
		seen[n.Kind] = true
		var err error
		switch n.Kind {
		case psp.ResourcePayIn:
			_, err = e.client.GetPayIn(ctx, n.ResourceID)
		case psp.ResourceRefund:
			_, err = e.client.GetRefund(ctx, n.ResourceID)
		case psp.ResourceRepudiation:
			_, err = e.client.GetRepudiation(ctx, n.ResourceID)
		case psp.ResourceTransfer:
			_, err = e.client.GetTransfer(ctx, n.ResourceID)
		case psp.ResourcePayout:
			_, err = e.client.GetPayout(ctx, n.ResourceID)
		case psp.ResourceDispute:
			_, err = e.client.GetDispute(ctx, n.ResourceID)
		case psp.ResourceSettlement:
			_, err = e.client.GetSettlement(ctx, n.ResourceID)
		case psp.ResourceOwner:
			_, err = e.client.GetOwner(ctx, n.ResourceID)
		case psp.ResourcePayoutAccount:
			_, err = e.client.GetPayoutAccount(ctx, centre.ID, n.ResourceID)
		}
		if err != nil {
			t.Errorf("%s %s: %v", ev.Type, ev.ResourceID, err)
		}
	}
	for _, k := range []psp.ResourceKind{psp.ResourceTransfer, psp.ResourceRefund, psp.ResourcePayout, psp.ResourceDispute,
		psp.ResourceRepudiation, psp.ResourceSettlement, psp.ResourceOwner, psp.ResourcePayoutAccount} {
		if !seen[k] {
			t.Errorf("no %s notification", k)
		}
	}
}
