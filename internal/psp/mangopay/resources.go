package mangopay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/psp"
)

// Fixed choices of this client.
const (
	currency = "EUR"
	cardType = "CB_VISA_MASTERCARD"
	// secureMode NO_CHOICE asks for no 3-D Secure exemption: every card payment is authenticated,
	// frictionless when the issuer allows it (vhupay's rule, DOMAIN.md).
	secureMode = "NO_CHOICE"
	// maxDirectDebitDescriptor is MangoPay's limit for a SEPA direct debit's StatementDescriptor
	// (Mangopay/docs snippets/rules/max-length-SDD-100-BACS-10-characters-only-alphanumeric-and-spaces.mdx).
	maxDirectDebitDescriptor = 100
)

// Wire shapes: field names exactly as MangoPay spells them.

type money struct {
	Currency string `json:"Currency"`
	Amount   int64  `json:"Amount"`
}

func eur(cents int64) money { return money{Currency: currency, Amount: cents} }

type address struct {
	AddressLine1 string `json:"AddressLine1"`
	AddressLine2 string `json:"AddressLine2,omitempty"`
	City         string `json:"City"`
	Region       string `json:"Region,omitempty"`
	PostalCode   string `json:"PostalCode"`
	Country      string `json:"Country"`
}

func toAddress(a psp.Address) address {
	return address{AddressLine1: a.Line1, AddressLine2: a.Line2, City: a.City, Region: a.Region, PostalCode: a.PostalCode, Country: a.Country}
}

// unixTime is a MangoPay date: Unix seconds, as an integer or a float, or null.
type unixTime struct{ time.Time }

func (t *unixTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	var n json.Number = json.Number(s)
	f, err := n.Float64()
	if err != nil {
		return err
	}
	t.Time = time.Unix(int64(f), 0).UTC()
	return nil
}

func esc(id string) string { return url.PathEscape(id) }

// legalRepresentative is the SCA user endpoints' nested LegalRepresentative (Mangopay/docs
// snippets/p-body/LegalRepresentative.mdx): names always, the rest required for owners.
type legalRepresentative struct {
	FirstName          string `json:"FirstName"`
	LastName           string `json:"LastName"`
	Birthday           *int64 `json:"Birthday,omitempty"`
	Nationality        string `json:"Nationality,omitempty"`
	CountryOfResidence string `json:"CountryOfResidence,omitempty"`
	Email              string `json:"Email,omitempty"`
}

// scaLegalUser is the body of POST /sca/users/legal (Mangopay/docs
// api-reference/users/create-legal-user-sca.mdx; Python SDK mangopay/resources.py LegalUserSca).
type scaLegalUser struct {
	UserCategory               string              `json:"UserCategory"`
	ScaContext                 string              `json:"ScaContext,omitempty"`
	TermsAndConditionsAccepted bool                `json:"TermsAndConditionsAccepted"`
	LegalPersonType            string              `json:"LegalPersonType"`
	Name                       string              `json:"Name"`
	Email                      string              `json:"Email"`
	HeadquartersAddress        *address            `json:"HeadquartersAddress,omitempty"`
	CompanyNumber              string              `json:"CompanyNumber,omitempty"`
	LegalRepresentative        legalRepresentative `json:"LegalRepresentative"`
	Tag                        string              `json:"Tag,omitempty"`
}

// scaUser is what the SCA user endpoints answer, as far as vhupay reads it.
type scaUser struct {
	ID                string             `json:"Id"`
	UserCategory      string             `json:"UserCategory"`
	UserStatus        string             `json:"UserStatus"`
	KYCLevel          string             `json:"KYCLevel"`
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
}

type pendingUserAction struct {
	RedirectURL string `json:"RedirectUrl"`
}

func (p *pendingUserAction) toPSP() *psp.PendingAction {
	if p == nil || p.RedirectURL == "" {
		return nil
	}
	return &psp.PendingAction{URL: p.RedirectURL}
}

// CreateLegalUser implements psp.Users: POST /sca/users/legal, a PAYER whose legal representative
// is a real person (MangoPay refuses placeholder names in production: guides/users/types.mdx).
// Errors: psp.ErrRepresentativeRequired without the representative's first and last names.
func (c *Client) CreateLegalUser(ctx context.Context, req psp.LegalUserRequest) (psp.User, error) {
	rep := req.Representative
	if strings.TrimSpace(rep.FirstName) == "" || strings.TrimSpace(rep.LastName) == "" {
		return psp.User{}, fmt.Errorf("mangopay: create payer %q: %w", req.Tag, psp.ErrRepresentativeRequired)
	}
	body := scaLegalUser{
		UserCategory:               "PAYER",
		TermsAndConditionsAccepted: req.TermsAccepted,
		LegalPersonType:            legalPersonType(req.Kind),
		Name:                       req.Name,
		Email:                      req.Email,
		CompanyNumber:              req.CompanyNumber,
		LegalRepresentative:        legalRepresentative{FirstName: truncate(rep.FirstName, 100), LastName: truncate(rep.LastName, 100)},
		Tag:                        req.Tag,
	}
	if req.Address != (psp.Address{}) {
		a := toAddress(req.Address)
		body.HeadquartersAddress = &a
	}
	var out scaUser
	if err := c.call(ctx, request{method: http.MethodPost, path: "/sca/users/legal", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.User{}, err
	}
	return psp.User{ID: out.ID}, nil
}

func legalPersonType(k psp.CompanyKind) string {
	switch k {
	case psp.CompanyOrganization:
		return "ORGANIZATION"
	case psp.CompanySoleTrader:
		return "SOLETRADER"
	default:
		return "BUSINESS"
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// CreateWallet implements psp.Users: POST /wallets in EUR.
func (c *Client) CreateWallet(ctx context.Context, req psp.WalletRequest) (psp.Wallet, error) {
	body := struct {
		Owners      []string `json:"Owners"`
		Currency    string   `json:"Currency"`
		Description string   `json:"Description"`
		Tag         string   `json:"Tag,omitempty"`
	}{Owners: []string{req.OwnerID}, Currency: currency, Description: req.Description, Tag: req.Tag}
	if body.Description == "" {
		body.Description = "vhupay wallet"
	}
	var out wallet
	if err := c.call(ctx, request{method: http.MethodPost, path: "/wallets", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Wallet{}, err
	}
	return out.toPSP(), nil
}

type wallet struct {
	ID      string   `json:"Id"`
	Owners  []string `json:"Owners"`
	Balance money    `json:"Balance"`
}

func (w wallet) toPSP() psp.Wallet {
	out := psp.Wallet{ID: w.ID, Balance: w.Balance.Amount}
	if len(w.Owners) > 0 {
		out.OwnerID = w.Owners[0]
	}
	return out
}

type cardRegistration struct {
	ID                  string `json:"Id"`
	UserID              string `json:"UserId"`
	Status              string `json:"Status"`
	AccessKey           string `json:"AccessKey"`
	PreregistrationData string `json:"PreregistrationData"`
	CardRegistrationURL string `json:"CardRegistrationURL"`
	CardID              string `json:"CardId"`
	ResultCode          string `json:"ResultCode"`
}

func (r cardRegistration) toPSP() psp.CardRegistration {
	status := psp.CardRegistrationCreated
	switch r.Status {
	case "VALIDATED":
		status = psp.CardRegistrationValidated
	case "ERROR":
		status = psp.CardRegistrationError
	}
	return psp.CardRegistration{
		ID: r.ID, UserID: r.UserID, Status: status, AccessKey: r.AccessKey,
		PreregistrationData: r.PreregistrationData, CardRegistrationURL: r.CardRegistrationURL,
		CardID: r.CardID, ResultCode: r.ResultCode,
	}
}

// CreateCardRegistration implements psp.Cards: POST /cardregistrations (EUR, CB_VISA_MASTERCARD).
func (c *Client) CreateCardRegistration(ctx context.Context, req psp.CardRegistrationRequest) (psp.CardRegistration, error) {
	body := struct {
		UserID   string `json:"UserId"`
		Currency string `json:"Currency"`
		CardType string `json:"CardType"`
		Tag      string `json:"Tag,omitempty"`
	}{UserID: req.UserID, Currency: currency, CardType: cardType, Tag: req.Tag}
	var out cardRegistration
	if err := c.call(ctx, request{method: http.MethodPost, path: "/cardregistrations", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.CardRegistration{}, err
	}
	return out.toPSP(), nil
}

// CompleteCardRegistration implements psp.Cards: PUT /cardregistrations/{id} with RegistrationData.
func (c *Client) CompleteCardRegistration(ctx context.Context, registrationID, registrationData string) (psp.CardRegistration, error) {
	body := struct {
		RegistrationData string `json:"RegistrationData"`
	}{registrationData}
	var out cardRegistration
	if err := c.call(ctx, request{method: http.MethodPut, path: "/cardregistrations/" + esc(registrationID), body: body, secret: registrationData}, &out); err != nil {
		return psp.CardRegistration{}, err
	}
	return out.toPSP(), nil
}

type card struct {
	ID             string `json:"Id"`
	UserID         string `json:"UserId"`
	Alias          string `json:"Alias"`
	ExpirationDate string `json:"ExpirationDate"`
	CardType       string `json:"CardType"`
	CardProvider   string `json:"CardProvider"`
	Country        string `json:"Country"`
	Active         bool   `json:"Active"`
	Validity       string `json:"Validity"`
	Fingerprint    string `json:"Fingerprint"`
}

func (k card) toPSP() psp.Card {
	validity := psp.CardValidityUnknown
	switch k.Validity {
	case "VALID":
		validity = psp.CardValidityValid
	case "INVALID":
		validity = psp.CardValidityInvalid
	}
	return psp.Card{
		ID: k.ID, UserID: k.UserID, Alias: k.Alias, ExpirationDate: k.ExpirationDate, Brand: k.CardProvider,
		CardType: k.CardType, Country: k.Country, Active: k.Active, Validity: validity, Fingerprint: k.Fingerprint,
	}
}

// GetCard implements psp.Cards: GET /cards/{id}.
func (c *Client) GetCard(ctx context.Context, cardID string) (psp.Card, error) {
	var out card
	if err := c.call(ctx, request{method: http.MethodGet, path: "/cards/" + esc(cardID)}, &out); err != nil {
		return psp.Card{}, err
	}
	return out.toPSP(), nil
}

// DeactivateCard implements psp.Cards: PUT /cards/{id} {"Active": false}.
func (c *Client) DeactivateCard(ctx context.Context, cardID string) (psp.Card, error) {
	body := struct {
		Active bool `json:"Active"`
	}{false}
	var out card
	if err := c.call(ctx, request{method: http.MethodPut, path: "/cards/" + esc(cardID), body: body}, &out); err != nil {
		return psp.Card{}, err
	}
	return out.toPSP(), nil
}

type browserInfo struct {
	AcceptHeader      string `json:"AcceptHeader"`
	JavaEnabled       bool   `json:"JavaEnabled"`
	Language          string `json:"Language"`
	ColorDepth        int    `json:"ColorDepth"`
	ScreenHeight      int    `json:"ScreenHeight"`
	ScreenWidth       int    `json:"ScreenWidth"`
	TimeZoneOffset    int    `json:"TimeZoneOffset"`
	UserAgent         string `json:"UserAgent"`
	JavascriptEnabled bool   `json:"JavascriptEnabled"`
}

type payIn struct {
	ID                    string   `json:"Id"`
	Status                string   `json:"Status"`
	ResultCode            string   `json:"ResultCode"`
	AuthorID              string   `json:"AuthorId"`
	CreditedWalletID      string   `json:"CreditedWalletId"`
	DebitedFunds          money    `json:"DebitedFunds"`
	PaymentType           string   `json:"PaymentType"`
	CardID                string   `json:"CardId"`
	MandateID             string   `json:"MandateId"`
	SecureModeNeeded      bool     `json:"SecureModeNeeded"`
	SecureModeRedirectURL string   `json:"SecureModeRedirectURL"`
	ExecutionDate         unixTime `json:"ExecutionDate"`
	ChargeDate            unixTime `json:"ChargeDate"`
	Tag                   string   `json:"Tag"`
}

func (p payIn) toPSP() psp.PayIn {
	method := psp.PayInCard
	if p.PaymentType == "DIRECT_DEBIT" {
		method = psp.PayInDirectDebit
	}
	out := psp.PayIn{
		ID: p.ID, Method: method, Status: payInStatus(p.Status), AuthorID: p.AuthorID,
		CreditedWalletID: p.CreditedWalletID, Amount: p.DebitedFunds.Amount, CardID: p.CardID, MandateID: p.MandateID,
		SecureModeNeeded: p.SecureModeNeeded || p.SecureModeRedirectURL != "", RedirectURL: p.SecureModeRedirectURL,
		ResultCode: p.ResultCode, ExecutedAt: p.ExecutionDate.Time, ChargeDate: p.ChargeDate.Time, Tag: p.Tag,
	}
	if out.Status == psp.PayInFailed {
		out.Failure = psp.PayInFailure(method, p.ResultCode)
	}
	if out.Status != psp.PayInCreated {
		// The redirect only matters while the pay-in waits for 3-D Secure.
		out.SecureModeNeeded, out.RedirectURL = false, ""
	}
	return out
}

func payInStatus(s string) psp.PayInStatus {
	switch s {
	case "SUCCEEDED":
		return psp.PayInSucceeded
	case "FAILED":
		return psp.PayInFailed
	default:
		return psp.PayInCreated
	}
}

// CreateCardPayIn implements psp.PayIns: POST /payins/card/direct, SecureMode NO_CHOICE, no fees.
func (c *Client) CreateCardPayIn(ctx context.Context, req psp.CardPayInRequest) (psp.PayIn, error) {
	b := req.BrowserInfo
	body := struct {
		AuthorID            string      `json:"AuthorId"`
		CreditedWalletID    string      `json:"CreditedWalletId"`
		DebitedFunds        money       `json:"DebitedFunds"`
		Fees                money       `json:"Fees"`
		CardID              string      `json:"CardId"`
		SecureMode          string      `json:"SecureMode"`
		SecureModeReturnURL string      `json:"SecureModeReturnURL"`
		BrowserInfo         browserInfo `json:"BrowserInfo"`
		IPAddress           string      `json:"IpAddress"`
		StatementDescriptor string      `json:"StatementDescriptor,omitempty"`
		Tag                 string      `json:"Tag,omitempty"`
	}{
		AuthorID: req.AuthorID, CreditedWalletID: req.CreditedWalletID, DebitedFunds: eur(req.Amount), Fees: eur(0),
		CardID: req.CardID, SecureMode: secureMode, SecureModeReturnURL: req.SecureModeReturnURL,
		BrowserInfo: browserInfo{
			AcceptHeader: b.AcceptHeader, JavaEnabled: b.JavaEnabled, Language: b.Language, ColorDepth: b.ColorDepth,
			ScreenHeight: b.ScreenHeight, ScreenWidth: b.ScreenWidth, TimeZoneOffset: b.TimeZoneOffset,
			UserAgent: b.UserAgent, JavascriptEnabled: b.JavascriptEnabled,
		},
		IPAddress: req.IPAddress, StatementDescriptor: req.StatementDescriptor, Tag: req.Tag,
	}
	var out payIn
	if err := c.call(ctx, request{method: http.MethodPost, path: "/payins/card/direct", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.PayIn{}, err
	}
	if out.PaymentType == "" {
		out.PaymentType = "CARD"
	}
	return out.toPSP(), nil
}

// DirectDebitDescriptor makes a StatementDescriptor MangoPay accepts on a SEPA direct debit: only
// letters, digits and spaces, at most 100 characters (Mangopay/docs
// snippets/p-body/StatementDescriptor1.mdx). Any other character (a dash, an accent, a slash)
// becomes a space, runs of spaces are collapsed and the ends trimmed: "vhupay 2026-11" → "vhupay
// 2026 11".
func DirectDebitDescriptor(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		ok := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if !ok {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return truncate(b.String(), maxDirectDebitDescriptor)
}

// CreateDirectDebitPayIn implements psp.PayIns: POST /payins/directdebit/direct, no fees; the
// statement descriptor is made acceptable with DirectDebitDescriptor.
func (c *Client) CreateDirectDebitPayIn(ctx context.Context, req psp.DirectDebitPayInRequest) (psp.PayIn, error) {
	body := struct {
		AuthorID            string `json:"AuthorId"`
		CreditedWalletID    string `json:"CreditedWalletId"`
		DebitedFunds        money  `json:"DebitedFunds"`
		Fees                money  `json:"Fees"`
		MandateID           string `json:"MandateId"`
		StatementDescriptor string `json:"StatementDescriptor,omitempty"`
		Tag                 string `json:"Tag,omitempty"`
	}{
		AuthorID: req.AuthorID, CreditedWalletID: req.CreditedWalletID, DebitedFunds: eur(req.Amount), Fees: eur(0),
		MandateID: req.MandateID, StatementDescriptor: DirectDebitDescriptor(req.StatementDescriptor), Tag: req.Tag,
	}
	var out payIn
	if err := c.call(ctx, request{method: http.MethodPost, path: "/payins/directdebit/direct", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.PayIn{}, err
	}
	out.PaymentType = "DIRECT_DEBIT"
	return out.toPSP(), nil
}

// GetPayIn implements psp.PayIns: GET /payins/{id}.
func (c *Client) GetPayIn(ctx context.Context, payInID string) (psp.PayIn, error) {
	var out payIn
	if err := c.call(ctx, request{method: http.MethodGet, path: "/payins/" + esc(payInID)}, &out); err != nil {
		return psp.PayIn{}, err
	}
	return out.toPSP(), nil
}

type refund struct {
	ID                     string `json:"Id"`
	Status                 string `json:"Status"`
	ResultCode             string `json:"ResultCode"`
	InitialTransactionID   string `json:"InitialTransactionId"`
	InitialTransactionType string `json:"InitialTransactionType"`
	DebitedFunds           money  `json:"DebitedFunds"`
	Fees                   money  `json:"Fees"`
}

// toPSP maps a refund; its Amount is what goes back to the payer (DebitedFunds − Fees, the fee
// given back being negative: guides/refunds.mdx "Handling fees"). InitialTransactionType (PAYIN, TRANSFER, PAYOUT: Node SDK
// typings/models/refund.d.ts, transaction.TransactionType) tells what it gives back.
func (r refund) toPSP() psp.Refund {
	out := psp.Refund{ID: r.ID, InitialID: r.InitialTransactionID, Amount: r.DebitedFunds.Amount - r.Fees.Amount, ResultCode: r.ResultCode}
	switch r.InitialTransactionType {
	case "TRANSFER":
		out.InitialKind = psp.RefundOfTransfer
	case "PAYOUT":
		out.InitialKind = psp.RefundOfPayout
	default:
		out.InitialKind, out.PayInID = psp.RefundOfPayIn, r.InitialTransactionID
	}
	switch r.Status {
	case "SUCCEEDED":
		out.Status = psp.RefundSucceeded
	case "FAILED":
		out.Status = psp.RefundFailed
		out.Failure = psp.FailureProviderError
	default:
		out.Status = psp.RefundCreated
	}
	return out
}

// RefundPayIn implements psp.PayIns: POST /payins/{id}/refunds. A partial refund sends
// DebitedFunds with Fees (MangoPay wants both or neither: snippets/p-body of
// create-refund-payin.mdx), zero since vhupay's pay-ins carry no fees; a full one sends neither
// (MangoPay then refunds the initial amounts).
func (c *Client) RefundPayIn(ctx context.Context, req psp.RefundRequest) (psp.Refund, error) {
	body := struct {
		AuthorID     string `json:"AuthorId"`
		DebitedFunds *money `json:"DebitedFunds,omitempty"`
		Fees         *money `json:"Fees,omitempty"`
		Tag          string `json:"Tag,omitempty"`
	}{AuthorID: req.AuthorID, Tag: req.Tag}
	if req.Amount > 0 {
		debited, fees := eur(req.Amount), eur(0)
		body.DebitedFunds, body.Fees = &debited, &fees
	}
	var out refund
	if err := c.call(ctx, request{method: http.MethodPost, path: "/payins/" + esc(req.PayInID) + "/refunds", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Refund{}, err
	}
	return out.toPSP(), nil
}

// GetRefund implements psp.PayIns: GET /refunds/{id}.
func (c *Client) GetRefund(ctx context.Context, refundID string) (psp.Refund, error) {
	var out refund
	if err := c.call(ctx, request{method: http.MethodGet, path: "/refunds/" + esc(refundID)}, &out); err != nil {
		return psp.Refund{}, err
	}
	return out.toPSP(), nil
}

// GetRepudiation implements psp.PayIns: GET /repudiations/{id}. Its Failure is always
// payment_disputed: the reason lives on MangoPay's dispute, which this port does not read.
func (c *Client) GetRepudiation(ctx context.Context, repudiationID string) (psp.Repudiation, error) {
	var out struct {
		ID                   string `json:"Id"`
		Status               string `json:"Status"`
		InitialTransactionID string `json:"InitialTransactionId"`
		DebitedFunds         money  `json:"DebitedFunds"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/repudiations/" + esc(repudiationID)}, &out); err != nil {
		return psp.Repudiation{}, err
	}
	return psp.Repudiation{
		ID: out.ID, PayInID: out.InitialTransactionID, Status: payInStatus(out.Status),
		Amount: out.DebitedFunds.Amount, Failure: psp.FailurePaymentDisputed,
	}, nil
}

type bankAccount struct {
	ID     string `json:"Id"`
	UserID string `json:"UserId"`
	Active bool   `json:"Active"`
}

// CreateBankAccount implements psp.BankAccounts: POST /users/{UserId}/bankaccounts/iban. The IBAN
// is scrubbed from any error text.
func (c *Client) CreateBankAccount(ctx context.Context, req psp.BankAccountRequest) (psp.BankAccount, error) {
	body := struct {
		OwnerName    string  `json:"OwnerName"`
		OwnerAddress address `json:"OwnerAddress"`
		IBAN         string  `json:"IBAN"`
		BIC          string  `json:"BIC,omitempty"`
		Tag          string  `json:"Tag,omitempty"`
	}{OwnerName: req.OwnerName, OwnerAddress: toAddress(req.OwnerAddress), IBAN: strings.ReplaceAll(req.IBAN, " ", ""), BIC: req.BIC, Tag: req.Tag}
	var out bankAccount
	if err := c.call(ctx, request{method: http.MethodPost, path: "/users/" + esc(req.UserID) + "/bankaccounts/iban", body: body, key: req.IdempotencyKey, secret: body.IBAN}, &out); err != nil {
		return psp.BankAccount{}, err
	}
	return psp.BankAccount(out), nil
}

// DeactivateBankAccount implements psp.BankAccounts: PUT /users/{UserId}/bankaccounts/{id}
// {"Active": false}.
func (c *Client) DeactivateBankAccount(ctx context.Context, userID, bankAccountID string) (psp.BankAccount, error) {
	body := struct {
		Active bool `json:"Active"`
	}{false}
	var out bankAccount
	if err := c.call(ctx, request{method: http.MethodPut, path: "/users/" + esc(userID) + "/bankaccounts/" + esc(bankAccountID), body: body}, &out); err != nil {
		return psp.BankAccount{}, err
	}
	return psp.BankAccount(out), nil
}

type mandate struct {
	ID            string `json:"Id"`
	UserID        string `json:"UserId"`
	BankAccountID string `json:"BankAccountId"`
	Status        string `json:"Status"`
	RedirectURL   string `json:"RedirectURL"`
	ReturnURL     string `json:"ReturnURL"`
	BankReference string `json:"BankReference"`
	Scheme        string `json:"Scheme"`
	ResultCode    string `json:"ResultCode"`
}

func (m mandate) toPSP() psp.Mandate {
	status, failure := MandateStatus(m.Status, m.ResultCode)
	return psp.Mandate{
		ID: m.ID, UserID: m.UserID, BankAccountID: m.BankAccountID, Status: status, RedirectURL: m.RedirectURL,
		ReturnURL: m.ReturnURL, BankReference: m.BankReference, Scheme: m.Scheme, ResultCode: m.ResultCode, Failure: failure,
	}
}

// CreateMandate implements psp.Mandates: POST /mandates/directdebit/web.
func (c *Client) CreateMandate(ctx context.Context, req psp.MandateRequest) (psp.Mandate, error) {
	body := struct {
		BankAccountID string `json:"BankAccountId"`
		Culture       string `json:"Culture"`
		ReturnURL     string `json:"ReturnURL"`
		Tag           string `json:"Tag,omitempty"`
	}{BankAccountID: req.BankAccountID, Culture: strings.ToUpper(req.Culture), ReturnURL: req.ReturnURL, Tag: req.Tag}
	if body.Culture == "" {
		body.Culture = "FR"
	}
	var out mandate
	if err := c.call(ctx, request{method: http.MethodPost, path: "/mandates/directdebit/web", body: body, key: req.IdempotencyKey}, &out); err != nil {
		return psp.Mandate{}, err
	}
	return out.toPSP(), nil
}

// GetMandate implements psp.Mandates: GET /mandates/{id}.
func (c *Client) GetMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	var out mandate
	if err := c.call(ctx, request{method: http.MethodGet, path: "/mandates/" + esc(mandateID)}, &out); err != nil {
		return psp.Mandate{}, err
	}
	return out.toPSP(), nil
}

// CancelMandate implements psp.Mandates: PUT /mandates/{id}/cancel with an empty body.
func (c *Client) CancelMandate(ctx context.Context, mandateID string) (psp.Mandate, error) {
	var out mandate
	if err := c.call(ctx, request{method: http.MethodPut, path: "/mandates/" + esc(mandateID) + "/cancel"}, &out); err != nil {
		return psp.Mandate{}, err
	}
	return out.toPSP(), nil
}
