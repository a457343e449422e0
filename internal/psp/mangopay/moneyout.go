package mangopay

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// The money-out port (psp.MoneyOut) on MangoPay. Each call names its source in MangoPay's docs
// repository (Mangopay/docs, api-reference/…) and SDKs; docs/mangopay.md lists them all.

// CreateOwner implements psp.Owners: POST /sca/users/legal with UserCategory OWNER and ScaContext
// USER_PRESENT (api-reference/users/create-legal-user-sca.mdx). Owners need the representative's
// names, birthday, nationality, country of residence and e-mail, the headquarters address, a
// company number for a business, and accepted terms. MangoPay answers PENDING_USER_ACTION with
// the representative's SCA enrolment link (10 minutes; guides/sca/users.mdx).
// Errors: psp.ErrRepresentativeRequired when a representative field is missing.
func (c *Client) CreateOwner(ctx context.Context, req psp.OwnerRequest) (psp.Owner, error) {
	rep := req.Representative
	if strings.TrimSpace(rep.FirstName) == "" || strings.TrimSpace(rep.LastName) == "" || rep.Birthday.IsZero() ||
		rep.Nationality == "" || rep.CountryOfResidence == "" || rep.Email == "" {
		return psp.Owner{}, fmt.Errorf("mangopay: create owner %q: %w", req.Tag, psp.ErrRepresentativeRequired)
	}
	birthday := birthdayUnix(rep.Birthday)
	hq := toAddress(req.Address)
	body := scaLegalUser{
		UserCategory:               "OWNER",
		ScaContext:                 "USER_PRESENT",
		TermsAndConditionsAccepted: req.TermsAccepted,
		LegalPersonType:            legalPersonType(req.Kind),
		Name:                       req.Name,
		Email:                      req.Email,
		HeadquartersAddress:        &hq,
		CompanyNumber:              req.CompanyNumber,
		LegalRepresentative: legalRepresentative{
			FirstName: truncate(rep.FirstName, 100), LastName: truncate(rep.LastName, 100), Birthday: &birthday,
			Nationality: rep.Nationality, CountryOfResidence: rep.CountryOfResidence, Email: rep.Email,
		},
		Tag: req.Tag,
	}
	var out scaUser
	if err := c.call(ctx, request{method: http.MethodPost, path: "/sca/users/legal", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Owner{}, err
	}
	return out.toOwner(), nil
}

// birthdayUnix is a birthday as MangoPay wants it: Unix seconds of the day's midnight UTC
// (snippets/p-body/Birthday.mdx).
func birthdayUnix(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()
}

func (u scaUser) toOwner() psp.Owner {
	out := psp.Owner{ID: u.ID, PendingAction: u.PendingUserAction.toPSP()}
	switch u.UserStatus {
	case "PENDING_USER_ACTION":
		out.Status = psp.OwnerPendingAction
	case "CLOSED":
		out.Status = psp.OwnerClosed
	default:
		out.Status = psp.OwnerActive
	}
	// Payouts need a verified owner (KYCLevel REGULAR: snippets/p-response/KYCLevelResponse.mdx).
	out.PayoutsEnabled = u.UserCategory == "OWNER" && u.KYCLevel == "REGULAR" && out.Status == psp.OwnerActive
	return out
}

// GetOwner implements psp.Owners: GET /sca/users/{id} (api-reference/users/view-user-sca.mdx),
// which tells PENDING_USER_ACTION apart (its PendingUserAction is always null: EnrolOwner gives a
// link).
func (c *Client) GetOwner(ctx context.Context, userID string) (psp.Owner, error) {
	var out scaUser
	if err := c.call(ctx, request{method: http.MethodGet, path: "/sca/users/" + esc(userID)}, &out); err != nil {
		return psp.Owner{}, err
	}
	return out.toOwner(), nil
}

// EnrolOwner implements psp.Owners: POST /sca/users/{id}/enrollment, no body
// (api-reference/users/enroll-user.mdx). Each call opens a new session, so it carries no
// Idempotency-Key (a replay would give back the first, possibly expired, link).
func (c *Client) EnrolOwner(ctx context.Context, userID string) (psp.PendingAction, error) {
	var out struct {
		PendingUserAction *pendingUserAction `json:"PendingUserAction"`
	}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/sca/users/" + esc(userID) + "/enrollment", noKey: true}, &out); err != nil {
		return psp.PendingAction{}, err
	}
	a := out.PendingUserAction.toPSP()
	if a == nil {
		return psp.PendingAction{}, fmt.Errorf("mangopay POST /sca/users/%s/enrollment: no RedirectUrl: %w", userID, psp.ErrUnavailable)
	}
	return *a, nil
}

// recipient is a MangoPay Recipient (api-reference/recipients/recipient-object.mdx; Node SDK
// typings/models/recipient.d.ts).
type recipient struct {
	ID                string             `json:"Id"`
	Status            string             `json:"Status"`
	UserID            string             `json:"UserId"`
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
}

func (r recipient) toPSP() psp.PayoutAccount {
	out := psp.PayoutAccount{ID: r.ID, UserID: r.UserID, PendingAction: r.PendingUserAction.toPSP()}
	switch r.Status {
	case "ACTIVE":
		out.Status = psp.PayoutAccountActive
	case "PENDING":
		out.Status = psp.PayoutAccountPending
	default: // CANCELED (SCA not completed), DEACTIVATED
		out.Status, out.PendingAction = psp.PayoutAccountInactive, nil
	}
	return out
}

// displayNameCut is what a Recipient's DisplayName may not contain: 1–50 characters without
// &,'/ (snippets/p-body/DisplayName*.mdx).
const displayNameCut = "&,'/"

// CreatePayoutAccount implements psp.PayoutAccounts: POST /users/{id}/recipients
// (api-reference/recipients/create-recipient.mdx), a Business recipient of scope PAYOUT paid by
// LocalBankTransfer in EUR to the IBAN; Country is the IBAN's. MangoPay answers PENDING with the
// owner's SCA link; the recipient becomes ACTIVE once the owner authenticates (hook
// RECIPIENT_ACTIVE). The IBAN is scrubbed from any error text.
func (c *Client) CreatePayoutAccount(ctx context.Context, req psp.PayoutAccountRequest) (psp.PayoutAccount, error) {
	iban := strings.ToUpper(strings.ReplaceAll(req.IBAN, " ", ""))
	country := ""
	if len(iban) >= 2 {
		country = iban[:2]
	}
	display := strings.TrimSpace(strings.Map(func(r rune) rune {
		if strings.ContainsRune(displayNameCut, r) {
			return ' '
		}
		return r
	}, req.OwnerName))
	if display == "" {
		display = "vhupay payout account"
	}
	type eurAccount struct {
		IBAN string `json:"IBAN"`
	}
	body := struct {
		DisplayName       string `json:"DisplayName"`
		PayoutMethodType  string `json:"PayoutMethodType"`
		RecipientType     string `json:"RecipientType"`
		Currency          string `json:"Currency"`
		Country           string `json:"Country"`
		RecipientScope    string `json:"RecipientScope"`
		Tag               string `json:"Tag,omitempty"`
		BusinessRecipient struct {
			BusinessName string  `json:"BusinessName"`
			Address      address `json:"Address"`
		} `json:"BusinessRecipient"`
		LocalBankTransfer struct {
			EUR eurAccount `json:"EUR"`
		} `json:"LocalBankTransfer"`
	}{
		DisplayName: truncate(display, 50), PayoutMethodType: "LocalBankTransfer", RecipientType: "Business",
		Currency: currency, Country: country, RecipientScope: "PAYOUT", Tag: req.Tag,
	}
	body.BusinessRecipient.BusinessName = req.OwnerName
	body.BusinessRecipient.Address = toAddress(req.OwnerAddress)
	body.LocalBankTransfer.EUR = eurAccount{IBAN: iban}
	var out recipient
	if err := c.call(ctx, request{method: http.MethodPost, path: "/users/" + esc(req.UserID) + "/recipients", body: body, key: req.IdempotencyKey, secret: iban}, &out); err != nil {
		return psp.PayoutAccount{}, err
	}
	return out.toPSP(), nil
}

// GetPayoutAccount implements psp.PayoutAccounts: GET /recipients/{id}
// (api-reference/recipients/view-recipient.mdx); a recipient of another user is not found.
func (c *Client) GetPayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error) {
	var out recipient
	if err := c.call(ctx, request{method: http.MethodGet, path: "/recipients/" + esc(accountID)}, &out); err != nil {
		return psp.PayoutAccount{}, err
	}
	if out.UserID != userID {
		return psp.PayoutAccount{}, fmt.Errorf("mangopay GET /recipients/%s: recipient of another user: %w", accountID, psp.ErrNotFound)
	}
	return out.toPSP(), nil
}

// DeactivatePayoutAccount implements psp.PayoutAccounts: PUT /recipients/{id} {"Status":
// "DEACTIVATED"} (api-reference/recipients/deactivate-recipient.mdx).
func (c *Client) DeactivatePayoutAccount(ctx context.Context, userID, accountID string) (psp.PayoutAccount, error) {
	if _, err := c.GetPayoutAccount(ctx, userID, accountID); err != nil {
		return psp.PayoutAccount{}, err
	}
	body := struct {
		Status string `json:"Status"`
	}{"DEACTIVATED"}
	var out recipient
	if err := c.call(ctx, request{method: http.MethodPut, path: "/recipients/" + esc(accountID), body: body}, &out); err != nil {
		return psp.PayoutAccount{}, err
	}
	return out.toPSP(), nil
}

// transfer is a MangoPay transfer, settlement transfers included (api-reference/transfers/
// transfer-object.mdx, dispute-settlement/settlement-transfer-object.mdx).
type transfer struct {
	ID                string             `json:"Id"`
	Status            string             `json:"Status"`
	ResultCode        string             `json:"ResultCode"`
	AuthorID          string             `json:"AuthorId"`
	DebitedWalletID   string             `json:"DebitedWalletId"`
	CreditedWalletID  string             `json:"CreditedWalletId"`
	DebitedFunds      money              `json:"DebitedFunds"`
	Fees              money              `json:"Fees"`
	ExecutionDate     unixTime           `json:"ExecutionDate"`
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
	Tag               string             `json:"Tag"`
}

func (t transfer) toPSP() psp.Transfer {
	out := psp.Transfer{
		ID: t.ID, AuthorID: t.AuthorID, DebitedWalletID: t.DebitedWalletID, CreditedWalletID: t.CreditedWalletID,
		Amount: t.DebitedFunds.Amount, Fees: t.Fees.Amount, ResultCode: t.ResultCode, ExecutedAt: t.ExecutionDate.Time,
		Tag: t.Tag,
	}
	switch t.Status {
	case "SUCCEEDED":
		out.Status = psp.TransferSucceeded
	case "FAILED":
		out.Status, out.Failure = psp.TransferFailed, psp.FailureProviderError
	default:
		out.Status, out.PendingAction = psp.TransferCreated, t.PendingUserAction.toPSP()
	}
	return out
}

// CreateTransfer implements psp.Transfers: POST /transfers (api-reference/transfers/
// create-transfer.mdx; CreditedUserId from the SDKs: Node typings/models/transfer.d.ts
// CreateTransfer, Python resources.py Transfer). No ScaContext: vhupay's transfers debit buyers'
// wallets, whose owners are payers (MangoPay wants it only when the debited wallet's owner is an
// OWNER).
func (c *Client) CreateTransfer(ctx context.Context, req psp.TransferRequest) (psp.Transfer, error) {
	body := struct {
		AuthorID         string `json:"AuthorId"`
		CreditedUserID   string `json:"CreditedUserId,omitempty"`
		DebitedFunds     money  `json:"DebitedFunds"`
		Fees             money  `json:"Fees"`
		DebitedWalletID  string `json:"DebitedWalletId"`
		CreditedWalletID string `json:"CreditedWalletId"`
		Tag              string `json:"Tag,omitempty"`
	}{
		AuthorID: req.AuthorID, CreditedUserID: req.CreditedUserID, DebitedFunds: eur(req.Amount), Fees: eur(req.Fees),
		DebitedWalletID: req.DebitedWalletID, CreditedWalletID: req.CreditedWalletID, Tag: req.Tag,
	}
	var out transfer
	if err := c.call(ctx, request{method: http.MethodPost, path: "/transfers", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Transfer{}, err
	}
	return out.toPSP(), nil
}

// GetTransfer implements psp.Transfers: GET /transfers/{id} (api-reference/transfers/view-transfer.mdx).
func (c *Client) GetTransfer(ctx context.Context, transferID string) (psp.Transfer, error) {
	var out transfer
	if err := c.call(ctx, request{method: http.MethodGet, path: "/transfers/" + esc(transferID)}, &out); err != nil {
		return psp.Transfer{}, err
	}
	return out.toPSP(), nil
}

// RefundTransfer implements psp.Transfers: POST /transfers/{id}/refunds
// (api-reference/refunds/create-refund-transfer.mdx). A partial refund sends DebitedFunds and Fees
// together (MangoPay wants both or neither): DebitedFunds is what the credited wallet gives back
// (Amount − Fees), Fees the part of the fee given back, negative (guides/refunds.mdx "Handling
// fees"; the docs' example: DebitedFunds 1100, Fees −20, CreditedFunds 1120). A full refund sends
// neither, and MangoPay refunds the whole transfer and its whole fee.
func (c *Client) RefundTransfer(ctx context.Context, req psp.TransferRefundRequest) (psp.Refund, error) {
	body := struct {
		AuthorID     string `json:"AuthorId"`
		DebitedFunds *money `json:"DebitedFunds,omitempty"`
		Fees         *money `json:"Fees,omitempty"`
		Tag          string `json:"Tag,omitempty"`
	}{AuthorID: req.AuthorID, Tag: req.Tag}
	if req.Amount > 0 {
		debited, fees := eur(req.Amount-req.Fees), eur(-req.Fees)
		body.DebitedFunds, body.Fees = &debited, &fees
	}
	var out refund
	if err := c.call(ctx, request{method: http.MethodPost, path: "/transfers/" + esc(req.TransferID) + "/refunds", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Refund{}, err
	}
	return out.toPSP(), nil
}

// payout is a MangoPay bank-wire payout (api-reference/payouts/payout-object.mdx).
type payout struct {
	ID              string   `json:"Id"`
	Status          string   `json:"Status"`
	ResultCode      string   `json:"ResultCode"`
	AuthorID        string   `json:"AuthorId"`
	DebitedWalletID string   `json:"DebitedWalletId"`
	BankAccountID   string   `json:"BankAccountId"`
	DebitedFunds    money    `json:"DebitedFunds"`
	ExecutionDate   unixTime `json:"ExecutionDate"`
	Tag             string   `json:"Tag"`
}

func (p payout) toPSP() psp.Payout {
	out := psp.Payout{
		ID: p.ID, AuthorID: p.AuthorID, DebitedWalletID: p.DebitedWalletID, PayoutAccountID: p.BankAccountID,
		Amount: p.DebitedFunds.Amount, ResultCode: p.ResultCode, ExecutedAt: p.ExecutionDate.Time, Tag: p.Tag,
	}
	switch p.Status {
	case "SUCCEEDED":
		out.Status = psp.PayoutSucceeded
	case "FAILED":
		out.Status, out.Failure = psp.PayoutFailed, payoutFailure(p.ResultCode)
	default:
		out.Status = psp.PayoutCreated
	}
	return out
}

// payoutFailure names a failed payout's result code (errors/codes/121*.mdx): the bank refused
// the wire (121001) or the account's name and IBAN do not match (121030, verification of payee)
// are the account's; every other refusal (balance, KYC, inactive or foreign account, fraud,
// expiry) is vhupay's to look at.
func payoutFailure(resultCode string) psp.FailureCode {
	switch resultCode {
	case "121001", "121030":
		return psp.FailureAccountClosed
	}
	return psp.FailureProviderError
}

// CreatePayout implements psp.Payouts: POST /payouts/bankwire (api-reference/payouts/
// create-payout.mdx) to the recipient, no fee, mode STANDARD (MangoPay's default, not sent);
// BankWireRef is the reference (MangoPay recommends at most 12 characters: bank-statements.mdx).
func (c *Client) CreatePayout(ctx context.Context, req psp.PayoutRequest) (psp.Payout, error) {
	body := struct {
		AuthorID        string `json:"AuthorId"`
		DebitedFunds    money  `json:"DebitedFunds"`
		Fees            money  `json:"Fees"`
		DebitedWalletID string `json:"DebitedWalletId"`
		BankAccountID   string `json:"BankAccountId"`
		BankWireRef     string `json:"BankWireRef,omitempty"`
		Tag             string `json:"Tag,omitempty"`
	}{
		AuthorID: req.AuthorID, DebitedFunds: eur(req.Amount), Fees: eur(0), DebitedWalletID: req.DebitedWalletID,
		BankAccountID: req.PayoutAccountID, BankWireRef: truncate(req.Reference, 255), Tag: req.Tag,
	}
	var out payout
	if err := c.call(ctx, request{method: http.MethodPost, path: "/payouts/bankwire", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Payout{}, err
	}
	return out.toPSP(), nil
}

// GetPayout implements psp.Payouts: GET /payouts/{id} (api-reference/payouts/view-payout.mdx).
func (c *Client) GetPayout(ctx context.Context, payoutID string) (psp.Payout, error) {
	var out payout
	if err := c.call(ctx, request{method: http.MethodGet, path: "/payouts/" + esc(payoutID)}, &out); err != nil {
		return psp.Payout{}, err
	}
	return out.toPSP(), nil
}

// GetWallet implements psp.Wallets: GET /wallets/{id} without ScaContext, for payers' wallets
// (api-reference/wallets/view-wallet.mdx).
func (c *Client) GetWallet(ctx context.Context, walletID string) (psp.Wallet, error) {
	var out wallet
	if err := c.call(ctx, request{method: http.MethodGet, path: "/wallets/" + esc(walletID)}, &out); err != nil {
		return psp.Wallet{}, err
	}
	return out.toPSP(), nil
}

// GetOwnerWallet implements psp.Wallets: GET /wallets/{id}?ScaContext=USER_PRESENT or
// USER_NOT_PRESENT (guides/sca/wallets.mdx). When MangoPay wants the owner's authentication it
// answers 401 with "WWW-Authenticate: PendingUserAction RedirectUrl=…": *psp.PendingActionError.
func (c *Client) GetOwnerWallet(ctx context.Context, walletID string, presence psp.Presence) (psp.Wallet, error) {
	scaContext := "USER_PRESENT"
	if presence == psp.OwnerNotPresent {
		scaContext = "USER_NOT_PRESENT"
	}
	var out wallet
	if err := c.call(ctx, request{method: http.MethodGet, path: "/wallets/" + esc(walletID) + "?ScaContext=" + scaContext}, &out); err != nil {
		return psp.Wallet{}, err
	}
	return out.toPSP(), nil
}

// GetFeesWallet implements psp.Wallets: GET /clients/wallets/FEES/EUR
// (api-reference/client-wallets/view-client-wallet.mdx).
func (c *Client) GetFeesWallet(ctx context.Context) (psp.Wallet, error) {
	var out wallet
	if err := c.call(ctx, request{method: http.MethodGet, path: "/clients/wallets/FEES/" + currency}, &out); err != nil {
		return psp.Wallet{}, err
	}
	return out.toPSP(), nil
}

// dispute is a MangoPay dispute (api-reference/disputes/dispute-object.mdx; Node SDK
// typings/models/dispute.d.ts).
type dispute struct {
	ID                   string   `json:"Id"`
	InitialTransactionID string   `json:"InitialTransactionId"`
	DisputeType          string   `json:"DisputeType"`
	Status               string   `json:"Status"`
	ResultCode           string   `json:"ResultCode"`
	DisputedFunds        money    `json:"DisputedFunds"`
	ContestDeadlineDate  unixTime `json:"ContestDeadlineDate"`
	ClosedDate           unixTime `json:"ClosedDate"`
	RepudiationID        string   `json:"RepudiationId"`
	DisputeReason        struct {
		DisputeReasonType string `json:"DisputeReasonType"`
	} `json:"DisputeReason"`
}

func (d dispute) toPSP() psp.Dispute {
	out := psp.Dispute{
		ID: d.ID, PayInID: d.InitialTransactionID, Contestable: d.DisputeType == "CONTESTABLE",
		Reason: strings.ToLower(d.DisputeReason.DisputeReasonType), Amount: d.DisputedFunds.Amount,
		EvidenceDueBy: d.ContestDeadlineDate.Time, RepudiationID: d.RepudiationID, ClosedAt: d.ClosedDate.Time,
	}
	if out.Reason == "" {
		out.Reason = "unknown"
	}
	switch d.Status {
	case "SUBMITTED", "PENDING_BANK_ACTION":
		out.Status = psp.DisputeUnderReview
	case "CLOSED":
		out.Status = psp.DisputeClosed
		switch d.ResultCode {
		case "WON":
			out.Outcome = psp.DisputeWon
		case "VOID":
			out.Outcome = psp.DisputeVoid
		default:
			out.Outcome = psp.DisputeLost
		}
	default: // CREATED, PENDING_CLIENT_ACTION, REOPENED_PENDING_CLIENT_ACTION
		out.Status = psp.DisputeNeedsResponse
	}
	return out
}

// GetDispute implements psp.Disputes: GET /disputes/{id} (api-reference/disputes/view-dispute.mdx).
func (c *Client) GetDispute(ctx context.Context, disputeID string) (psp.Dispute, error) {
	var out dispute
	if err := c.call(ctx, request{method: http.MethodGet, path: "/disputes/" + esc(disputeID)}, &out); err != nil {
		return psp.Dispute{}, err
	}
	return out.toPSP(), nil
}

// ListDisputes implements psp.Disputes: GET /disputes?page=&per_page=&AfterDate=&BeforeDate=
// (api-reference/disputes/list-disputes.mdx, overview/pagination.mdx: x-number-of-pages).
func (c *Client) ListDisputes(ctx context.Context, q psp.DisputeQuery) (psp.DisputePage, error) {
	if q.Page <= 0 {
		q.Page = 1
	}
	if q.PerPage <= 0 || q.PerPage > 100 {
		q.PerPage = 100
	}
	v := url.Values{"page": {strconv.Itoa(q.Page)}, "per_page": {strconv.Itoa(q.PerPage)}}
	if !q.CreatedAfter.IsZero() {
		v.Set("AfterDate", strconv.FormatInt(q.CreatedAfter.Unix(), 10))
	}
	if !q.CreatedBefore.IsZero() {
		v.Set("BeforeDate", strconv.FormatInt(q.CreatedBefore.Unix(), 10))
	}
	var out []dispute
	var header http.Header
	if err := c.call(ctx, request{method: http.MethodGet, path: "/disputes?" + v.Encode(), header: &header}, &out); err != nil {
		return psp.DisputePage{}, err
	}
	page := psp.DisputePage{Disputes: make([]psp.Dispute, len(out))}
	for i, d := range out {
		page.Disputes[i] = d.toPSP()
	}
	if pages, err := strconv.Atoi(header.Get("X-Number-Of-Pages")); err == nil {
		page.HasMore = q.Page < pages
	} else {
		page.HasMore = len(out) == q.PerPage
	}
	return page, nil
}

// PayInDisputes implements psp.Disputes: GET /payins/{id}/disputes?per_page=100
// (api-reference/disputes/list-disputes-payin.mdx); a pay-in has at most a few disputes (a
// dispute and its re-openings), so one page of 100 holds them.
func (c *Client) PayInDisputes(ctx context.Context, payInID string) ([]psp.Dispute, error) {
	var out []dispute
	if err := c.call(ctx, request{method: http.MethodGet, path: "/payins/" + esc(payInID) + "/disputes?page=1&per_page=100"}, &out); err != nil {
		return nil, err
	}
	ds := make([]psp.Dispute, len(out))
	for i, d := range out {
		ds[i] = d.toPSP()
	}
	return ds, nil
}

// disputeDocumentTypes are MangoPay's dispute document types (api-reference/dispute-documents/
// create-dispute-document.mdx; Node SDK typings/models/disputeDocument.d.ts).
var disputeDocumentTypes = map[string]string{
	"delivery_proof":            "DELIVERY_PROOF",
	"invoice":                   "INVOICE",
	"refund_proof":              "REFUND_PROOF",
	"user_correspondance":       "USER_CORRESPONDANCE",
	"user_acceptance_proof":     "USER_ACCEPTANCE_PROOF",
	"product_replacement_proof": "PRODUCT_REPLACEMENT_PROOF",
	"other":                     "OTHER",
}

// SubmitDisputeEvidence implements psp.Disputes. For each document: POST
// /disputes/{id}/documents {Type, Tag}, then unless it was already submitted, POST
// …/documents/{docId}/pages {File: base64} per page (MangoPay answers 204) and PUT
// …/documents/{docId} {"Status": "VALIDATION_ASKED"}; then PUT /disputes/{id}/submit
// {ContestedFunds} (api-reference/dispute-documents/*.mdx, disputes/submit-dispute.mdx). The
// document's key makes its creation and each page's upload idempotent, so a call repeated after
// a failure resumes without duplicates; a dispute that no longer waits for evidence comes back as
// it is.
func (c *Client) SubmitDisputeEvidence(ctx context.Context, disputeID string, amount int64, docs []psp.DisputeDocument) (psp.Dispute, error) {
	current, err := c.GetDispute(ctx, disputeID)
	if err != nil {
		return psp.Dispute{}, err
	}
	if current.Status != psp.DisputeNeedsResponse {
		return current, nil
	}
	base := "/disputes/" + esc(disputeID)
	for _, doc := range docs {
		typ, ok := disputeDocumentTypes[doc.Kind]
		if !ok {
			typ = "OTHER"
		}
		body := struct {
			Type string `json:"Type"`
			Tag  string `json:"Tag,omitempty"`
		}{typ, doc.Tag}
		var created struct {
			ID     string `json:"Id"`
			Status string `json:"Status"`
		}
		if err := c.call(ctx, request{method: http.MethodPost, path: base + "/documents", body: body, key: doc.IdempotencyKey}, &created); err != nil {
			return psp.Dispute{}, err
		}
		var now struct {
			Status string `json:"Status"`
		}
		if err := c.call(ctx, request{method: http.MethodGet, path: "/dispute-documents/" + esc(created.ID)}, &now); err != nil {
			return psp.Dispute{}, err
		}
		if now.Status != "CREATED" {
			continue // submitted by an earlier call
		}
		docPath := base + "/documents/" + esc(created.ID)
		for i, page := range doc.Pages {
			file := struct {
				File string `json:"File"`
			}{base64.StdEncoding.EncodeToString(page)}
			if err := c.call(ctx, request{method: http.MethodPost, path: docPath + "/pages", body: file,
				key: doc.IdempotencyKey + "-page-" + strconv.Itoa(i)}, nil); err != nil {
				return psp.Dispute{}, err
			}
		}
		ask := struct {
			Status string `json:"Status"`
		}{"VALIDATION_ASKED"}
		if err := c.call(ctx, request{method: http.MethodPut, path: docPath, body: ask}, nil); err != nil {
			return psp.Dispute{}, err
		}
	}
	submit := struct {
		ContestedFunds money `json:"ContestedFunds"`
	}{eur(amount)}
	var out dispute
	if err := c.call(ctx, request{method: http.MethodPut, path: base + "/submit", body: submit}, &out); err != nil {
		return psp.Dispute{}, err
	}
	return out.toPSP(), nil
}

// CloseDispute implements psp.Disputes: PUT /disputes/{id}/close with an empty body
// (api-reference/disputes/close-dispute.mdx).
func (c *Client) CloseDispute(ctx context.Context, disputeID string) (psp.Dispute, error) {
	var out dispute
	if err := c.call(ctx, request{method: http.MethodPut, path: "/disputes/" + esc(disputeID) + "/close"}, &out); err != nil {
		return psp.Dispute{}, err
	}
	return out.toPSP(), nil
}

// SettleRepudiation implements psp.Disputes: POST /repudiations/{id}/settlementtransfer
// {AuthorId, DebitedFunds, Fees, Tag} (api-reference/dispute-settlement/
// create-settlement-transfer.mdx; Node SDK typings/models/settlementTransfer.d.ts).
func (c *Client) SettleRepudiation(ctx context.Context, req psp.SettlementRequest) (psp.Transfer, error) {
	body := struct {
		AuthorID     string `json:"AuthorId"`
		DebitedFunds money  `json:"DebitedFunds"`
		Fees         money  `json:"Fees"`
		Tag          string `json:"Tag,omitempty"`
	}{AuthorID: req.AuthorID, DebitedFunds: eur(req.Amount), Fees: eur(req.Fees), Tag: req.Tag}
	var out transfer
	if err := c.call(ctx, request{method: http.MethodPost, path: "/repudiations/" + esc(req.RepudiationID) + "/settlementtransfer", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Transfer{}, err
	}
	return out.toPSP(), nil
}

// GetSettlement implements psp.Disputes: GET /settlements/{id}
// (api-reference/dispute-settlement/view-settlement-transfer.mdx).
func (c *Client) GetSettlement(ctx context.Context, settlementID string) (psp.Transfer, error) {
	var out transfer
	if err := c.call(ctx, request{method: http.MethodGet, path: "/settlements/" + esc(settlementID)}, &out); err != nil {
		return psp.Transfer{}, err
	}
	return out.toPSP(), nil
}
