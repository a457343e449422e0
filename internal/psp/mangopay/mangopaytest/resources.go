package mangopaytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/iban"
)

// Resources, with MangoPay's field names.

type money struct {
	Currency string `json:"Currency"`
	Amount   int64  `json:"Amount"`
}

type address struct {
	AddressLine1 string `json:"AddressLine1"`
	AddressLine2 string `json:"AddressLine2"`
	City         string `json:"City"`
	Region       string `json:"Region"`
	PostalCode   string `json:"PostalCode"`
	Country      string `json:"Country"`
}

type wallet struct {
	ID           string   `json:"Id"`
	Owners       []string `json:"Owners"`
	Currency     string   `json:"Currency"`
	Description  string   `json:"Description"`
	Balance      money    `json:"Balance"`
	FundsType    string   `json:"FundsType"`
	Tag          string   `json:"Tag"`
	CreationDate int64    `json:"CreationDate"`
}

type cardRegistration struct {
	ID                  string  `json:"Id"`
	UserID              string  `json:"UserId"`
	Currency            string  `json:"Currency"`
	CardType            string  `json:"CardType"`
	AccessKey           string  `json:"AccessKey"`
	PreregistrationData string  `json:"PreregistrationData"`
	CardRegistrationURL string  `json:"CardRegistrationURL"`
	RegistrationData    *string `json:"RegistrationData"`
	CardID              *string `json:"CardId"`
	Status              string  `json:"Status"`
	ResultCode          *string `json:"ResultCode"`
	ResultMessage       *string `json:"ResultMessage"`
	Tag                 string  `json:"Tag"`
	CreationDate        int64   `json:"CreationDate"`
}

type cardData struct {
	registrationID string
	number         string
	expiry         string
}

type card struct {
	ID             string `json:"Id"`
	UserID         string `json:"UserId"`
	Alias          string `json:"Alias"`
	ExpirationDate string `json:"ExpirationDate"`
	CardType       string `json:"CardType"`
	CardProvider   string `json:"CardProvider"`
	Country        string `json:"Country"`
	Currency       string `json:"Currency"`
	Active         bool   `json:"Active"`
	Validity       string `json:"Validity"`
	Fingerprint    string `json:"Fingerprint"`
	Tag            string `json:"Tag"`
	CreationDate   int64  `json:"CreationDate"`
}

type payIn struct {
	ID                    string  `json:"Id"`
	Status                string  `json:"Status"`
	ResultCode            string  `json:"ResultCode"`
	ResultMessage         string  `json:"ResultMessage"`
	AuthorID              string  `json:"AuthorId"`
	CreditedUserID        string  `json:"CreditedUserId"`
	CreditedWalletID      string  `json:"CreditedWalletId"`
	DebitedWalletID       *string `json:"DebitedWalletId"`
	DebitedFunds          money   `json:"DebitedFunds"`
	Fees                  money   `json:"Fees"`
	CreditedFunds         money   `json:"CreditedFunds"`
	Type                  string  `json:"Type"`
	Nature                string  `json:"Nature"`
	PaymentType           string  `json:"PaymentType"`
	ExecutionType         string  `json:"ExecutionType"`
	CardID                string  `json:"CardId,omitempty"`
	SecureMode            string  `json:"SecureMode,omitempty"`
	SecureModeNeeded      bool    `json:"SecureModeNeeded"`
	SecureModeRedirectURL *string `json:"SecureModeRedirectURL"`
	SecureModeReturnURL   string  `json:"SecureModeReturnURL,omitempty"`
	IPAddress             string  `json:"IpAddress,omitempty"`
	MandateID             string  `json:"MandateId,omitempty"`
	ChargeDate            *int64  `json:"ChargeDate,omitempty"`
	StatementDescriptor   string  `json:"StatementDescriptor"`
	ExecutionDate         *int64  `json:"ExecutionDate"`
	CreationDate          int64   `json:"CreationDate"`
	Tag                   string  `json:"Tag"`

	refunded     int64               // DebitedFunds refunded so far
	refundedFees int64               // fees given back so far
	refundDates  map[int64]time.Time // amount → last refund of that amount
}

type refund struct {
	ID                     string `json:"Id"`
	Status                 string `json:"Status"`
	ResultCode             string `json:"ResultCode"`
	ResultMessage          string `json:"ResultMessage"`
	AuthorID               string `json:"AuthorId"`
	DebitedFunds           money  `json:"DebitedFunds"`
	Fees                   money  `json:"Fees"`
	CreditedFunds          money  `json:"CreditedFunds"`
	DebitedWalletID        string `json:"DebitedWalletId"`
	CreditedWalletID       string `json:"CreditedWalletId,omitempty"`
	InitialTransactionID   string `json:"InitialTransactionId"`
	InitialTransactionType string `json:"InitialTransactionType"`
	Type                   string `json:"Type"`
	Nature                 string `json:"Nature"`
	Tag                    string `json:"Tag"`
	CreationDate           int64  `json:"CreationDate"`
	ExecutionDate          *int64 `json:"ExecutionDate"`
}

type repudiation struct {
	ID                     string `json:"Id"`
	Status                 string `json:"Status"`
	ResultCode             string `json:"ResultCode"`
	AuthorID               string `json:"AuthorId"`
	DebitedFunds           money  `json:"DebitedFunds"`
	InitialTransactionID   string `json:"InitialTransactionId"`
	InitialTransactionType string `json:"InitialTransactionType"`
	Type                   string `json:"Type"`
	Nature                 string `json:"Nature"`
	CreationDate           int64  `json:"CreationDate"`

	settled int64 // settled by settlement transfers
}

// sortByID sorts resources by id: ids are sequential, so this is creation order.
func sortByID[T any](items []T, id func(T) string) {
	sort.Slice(items, func(i, j int) bool { return id(items[i]) < id(items[j]) })
}

type bankAccount struct {
	ID           string  `json:"Id"`
	UserID       string  `json:"UserId"`
	Type         string  `json:"Type"`
	OwnerName    string  `json:"OwnerName"`
	OwnerAddress address `json:"OwnerAddress"`
	IBAN         string  `json:"IBAN"`
	BIC          string  `json:"BIC"`
	Active       bool    `json:"Active"`
	Tag          string  `json:"Tag"`
	CreationDate int64   `json:"CreationDate"`
}

type mandate struct {
	ID            string  `json:"Id"`
	UserID        string  `json:"UserId"`
	BankAccountID string  `json:"BankAccountId"`
	Status        string  `json:"Status"`
	ResultCode    *string `json:"ResultCode"`
	ResultMessage *string `json:"ResultMessage"`
	RedirectURL   string  `json:"RedirectURL"`
	ReturnURL     string  `json:"ReturnURL"`
	DocumentURL   string  `json:"DocumentURL"`
	Culture       string  `json:"Culture"`
	Scheme        *string `json:"Scheme"`
	BankReference string  `json:"BankReference"`
	ExecutionType string  `json:"ExecutionType"`
	MandateType   string  `json:"MandateType"`
	Tag           string  `json:"Tag"`
	CreationDate  int64   `json:"CreationDate"`
}

// Test cards and amounts.
const (
	ChallengeCard    = "4970105181818183" // 3-D Secure challenge
	FrictionlessCard = "4970107111111119" // no challenge
	DeclinedAmount   = 33305              // any card: FAILED 101101
)

func ptr[T any](v T) *T { return &v }

func decode[T any](body []byte) T {
	var v T
	_ = json.Unmarshal(body, &v) // the schema check already passed
	return v
}

func (s *Server) now() int64 { return s.clock.Now().Unix() }

// Users and wallets.

// createWallet serves POST /wallets: exactly one owner (Mangopay/docs snippets/p-body/Owners.mdx).
func (s *Server) createWallet(_ params, body []byte) reply {
	w := decode[wallet](body)
	if len(w.Owners) != 1 {
		return s.paramError(map[string]string{"Owners": "Exactly one owner is required."})
	}
	if _, found := s.users[w.Owners[0]]; !found {
		return s.paramError(map[string]string{"Owners": "The user does not exist."})
	}
	w.ID, w.Balance, w.FundsType, w.CreationDate = s.newID("wlt_m_"), money{Currency: w.Currency}, "DEFAULT", s.now()
	s.wallets[w.ID] = &w
	s.created["wallets"]++
	return created(w)
}

// Card registrations and cards.

func (s *Server) createCardRegistration(_ params, body []byte) reply {
	r := decode[cardRegistration](body)
	if _, found := s.users[r.UserID]; !found {
		return s.paramError(map[string]string{"UserId": "The user does not exist."})
	}
	if r.CardType == "" {
		r.CardType = "CB_VISA_MASTERCARD"
	}
	r.ID, r.Status, r.CreationDate = s.newID("cardreg_m_"), "CREATED", s.now()
	r.AccessKey, r.PreregistrationData = randomHex(10), randomHex(24)
	r.CardRegistrationURL = s.URL + "/tokenize/" + r.ID
	s.registration[r.ID] = &r
	s.created["cardregistrations"]++
	return created(r)
}

func (s *Server) getCardRegistration(p params, _ []byte) reply {
	r, found := s.registration[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(r)
}

func (s *Server) updateCardRegistration(p params, body []byte) reply {
	r, found := s.registration[p[0]]
	if !found {
		return s.notFound()
	}
	if r.Status != "CREATED" {
		return s.paramError(map[string]string{"RegistrationData": "This card registration has already been completed."})
	}
	data := decode[struct{ RegistrationData string }](body).RegistrationData
	r.RegistrationData = ptr(data)
	tok, found := s.cardTokens[strings.TrimPrefix(data, "data=")]
	if !strings.HasPrefix(data, "data=") || !found || tok.registrationID != r.ID {
		r.Status, r.ResultCode, r.ResultMessage = "ERROR", ptr("105206"), ptr("RegistrationData : Invalid format")
		return ok(r)
	}
	delete(s.cardTokens, strings.TrimPrefix(data, "data="))
	provider := "VISA"
	if strings.HasPrefix(tok.number, "5") || strings.HasPrefix(tok.number, "2") {
		provider = "MASTERCARD"
	}
	sum := sha256.Sum256([]byte(tok.number))
	c := &card{
		ID: s.newID("card_m_"), UserID: r.UserID, Alias: tok.number[:6] + "XXXXXX" + tok.number[len(tok.number)-4:],
		ExpirationDate: tok.expiry, CardType: r.CardType, CardProvider: provider, Country: "FRA", Currency: r.Currency,
		Active: true, Validity: "UNKNOWN", Fingerprint: hex.EncodeToString(sum[:16]), Tag: r.Tag, CreationDate: s.now(),
	}
	s.cards[c.ID] = c
	s.cardNumbers[c.ID] = tok.number
	s.created["cards"]++
	r.Status, r.CardID, r.ResultCode, r.ResultMessage = "VALIDATED", ptr(c.ID), ptr("000000"), ptr("Success")
	return ok(r)
}

func (s *Server) getCard(p params, _ []byte) reply {
	c, found := s.cards[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(c)
}

func (s *Server) updateCard(p params, body []byte) reply {
	c, found := s.cards[p[0]]
	if !found {
		return s.notFound()
	}
	var u struct{ Active *bool }
	_ = json.Unmarshal(body, &u)
	if u.Active != nil && *u.Active && !c.Active {
		return s.paramError(map[string]string{"Active": "A deactivated card cannot be reactivated."})
	}
	if u.Active != nil && !*u.Active {
		c.Active = false
	}
	return ok(c)
}

// Tokenize is what the browser does with a card registration: it posts the card to
// CardRegistrationURL and gets back the "data=..." string to complete the registration with. It
// returns an error for an unknown registration or an invalid card (number, MMYY expiry).
func (s *Server) Tokenize(registrationID, cardNumber, expiry string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.registration[registrationID]
	if !found {
		return "", errors.New("mangopaytest: unknown card registration")
	}
	return s.tokenize(r, cardNumber, expiry, "123")
}

// tokenize returns "data=<token>" or "errorCode=<code>" as an error; callers hold mu.
func (s *Server) tokenize(r *cardRegistration, number, expiry, cvx string) (string, error) {
	switch {
	case r.Status != "CREATED":
		return "", errors.New("errorCode=02631")
	case !luhn(number):
		return "", errors.New("errorCode=02625")
	case !s.futureExpiry(expiry):
		return "", errors.New("errorCode=02626")
	case !regexp.MustCompile(`^\d{3,4}$`).MatchString(cvx):
		return "", errors.New("errorCode=02627")
	}
	tok := randomHex(20)
	s.cardTokens[tok] = cardData{registrationID: r.ID, number: number, expiry: expiry}
	return "data=" + tok, nil
}

// serveTokenize is the endpoint behind CardRegistrationURL (form-encoded, answers text/plain).
func (s *Server) serveTokenize(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	form, err := parseForm(body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "errorCode=09101", http.StatusOK)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls["POST /tokenize/{id}"]++
	reg, found := s.registration[id]
	w.Header().Set("Content-Type", "text/plain")
	if !found || form.Get("accessKeyRef") != reg.AccessKey || form.Get("data") != reg.PreregistrationData {
		_, _ = w.Write([]byte("errorCode=09101"))
		return
	}
	out, err := s.tokenize(reg, form.Get("cardNumber"), form.Get("cardExpirationDate"), form.Get("cardCvx"))
	if err != nil {
		out = err.Error()
	}
	_, _ = w.Write([]byte(out))
}

func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 {
		return false
	}
	sum := 0
	for i := range number {
		c := number[len(number)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func (s *Server) futureExpiry(mmyy string) bool {
	t, err := time.Parse("0106", mmyy)
	if err != nil {
		return false
	}
	return !t.AddDate(0, 1, 0).Before(s.clock.Now())
}

// Card pay-ins.

type cardPayInRequest struct {
	AuthorID            string `json:"AuthorId"`
	CreditedUserID      string `json:"CreditedUserId"`
	CreditedWalletID    string `json:"CreditedWalletId"`
	DebitedFunds        money  `json:"DebitedFunds"`
	Fees                money  `json:"Fees"`
	CardID              string `json:"CardId"`
	SecureMode          string `json:"SecureMode"`
	SecureModeReturnURL string `json:"SecureModeReturnURL"`
	BrowserInfo         struct {
		ColorDepth int `json:"ColorDepth"`
	} `json:"BrowserInfo"`
	IPAddress           string `json:"IpAddress"`
	StatementDescriptor string `json:"StatementDescriptor"`
	Tag                 string `json:"Tag"`
}

// colorDepths are BrowserInfo.ColorDepth's allowed values (Mangopay/docs snippets/p-body/ColorDepth.mdx).
var colorDepths = map[int]bool{1: true, 4: true, 8: true, 15: true, 16: true, 24: true, 30: true, 32: true, 48: true}

// createCardPayIn serves POST /payins/card/direct (the schema checked every field's form).
func (s *Server) createCardPayIn(_ params, body []byte) reply {
	in := decode[cardPayInRequest](body)
	errs := map[string]string{}
	if !colorDepths[in.BrowserInfo.ColorDepth] {
		errs["BrowserInfo.ColorDepth"] = "The ColorDepth field is invalid."
	}
	if _, found := s.users[in.AuthorID]; !found {
		errs["AuthorId"] = "The user does not exist."
	}
	c, found := s.cards[in.CardID]
	if !found {
		errs["CardId"] = "The card does not exist."
	}
	wal, found := s.wallets[in.CreditedWalletID]
	if !found {
		errs["CreditedWalletId"] = "The wallet does not exist."
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	if in.DebitedFunds.Currency != wal.Currency || in.Fees.Currency != wal.Currency || c.Currency != wal.Currency {
		return s.apiError(http.StatusBadRequest, "currency_incompatibility", "The currency of the card, the funds and the wallet must be the same", nil)
	}
	p := &payIn{
		ID: s.newID("payin_m_"), AuthorID: in.AuthorID, CreditedUserID: wal.Owners[0], CreditedWalletID: wal.ID,
		DebitedFunds: in.DebitedFunds, Fees: in.Fees,
		CreditedFunds: money{Currency: in.DebitedFunds.Currency, Amount: in.DebitedFunds.Amount - in.Fees.Amount},
		Type:          "PAYIN", Nature: "REGULAR", PaymentType: "CARD", ExecutionType: "DIRECT", CardID: c.ID,
		SecureMode: in.SecureMode, SecureModeReturnURL: in.SecureModeReturnURL, IPAddress: in.IPAddress,
		StatementDescriptor: in.StatementDescriptor, CreationDate: s.now(), Tag: in.Tag, Status: "CREATED",
	}
	if p.SecureMode == "" {
		p.SecureMode = "DEFAULT"
	}
	s.payIns[p.ID] = p
	s.created["payins"]++
	s.event("PAYIN_NORMAL_CREATED", p.ID)
	switch {
	case c.UserID != in.AuthorID:
		s.finishPayIn(p, "001023", "Author is not the card owner")
	case !c.Active:
		s.finishPayIn(p, "101410", "The card is not active")
	case in.DebitedFunds.Amount <= 0:
		s.finishPayIn(p, "001013", "Invalid transaction amount")
	case in.DebitedFunds.Amount == DeclinedAmount:
		s.finishPayIn(p, "101101", "Transaction refused by the bank (Do not honor)")
	case s.cardNumbers[c.ID] == ChallengeCard || p.SecureMode == "FORCE":
		p.SecureModeNeeded = true
		p.SecureModeRedirectURL = ptr(s.URL + "/3ds/" + p.ID)
	default:
		s.finishPayIn(p, "000000", "Success")
	}
	return created(p)
}

// finishPayIn settles a pay-in: "000000" succeeds, any other code fails; callers hold mu.
func (s *Server) finishPayIn(p *payIn, code, message string) {
	p.ResultCode, p.ResultMessage = code, message
	p.SecureModeRedirectURL = nil
	c := s.cards[p.CardID]
	if code == "000000" {
		p.Status = "SUCCEEDED"
		p.ExecutionDate = ptr(s.now())
		s.credit(p.CreditedWalletID, p.CreditedFunds.Amount)
		s.credit(feesWalletID, p.Fees.Amount)
		if c != nil && c.Validity == "UNKNOWN" {
			c.Validity = "VALID"
		}
		if m := s.mandates[p.MandateID]; m != nil && m.Status == "SUBMITTED" {
			m.Status = "ACTIVE"
			s.event("MANDATE_ACTIVATED", m.ID)
		}
		s.event("PAYIN_NORMAL_SUCCEEDED", p.ID)
		return
	}
	p.Status = "FAILED"
	if c != nil && c.Validity == "UNKNOWN" {
		c.Validity = "INVALID"
	}
	s.event("PAYIN_NORMAL_FAILED", p.ID)
}

func (s *Server) getPayIn(p params, _ []byte) reply {
	pi, found := s.payIns[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(pi)
}

// CompleteSecureMode ends a pay-in's 3-D Secure challenge with success: the pay-in succeeds.
func (s *Server) CompleteSecureMode(payInID string) error {
	return s.endSecureMode(payInID, "000000", "Success")
}

// FailSecureMode ends a pay-in's 3-D Secure challenge with a failure result code (101301 when
// empty: authentication failed; 101304: session expired; 101111: too many attempts...).
func (s *Server) FailSecureMode(payInID, resultCode string) error {
	if resultCode == "" {
		resultCode = "101301"
	}
	return s.endSecureMode(payInID, resultCode, "SecureMode: 3DSecure authentication has failed")
}

func (s *Server) endSecureMode(id, code, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.payIns[id]
	if !found || p.PaymentType != "CARD" || p.Status != "CREATED" || !p.SecureModeNeeded {
		return fmt.Errorf("mangopaytest: pay-in %s is not waiting for 3-D Secure", id)
	}
	s.finishPayIn(p, code, message)
	return nil
}

// serveSecureMode is the page behind SecureModeRedirectURL: GET ?outcome=succeed (default) or
// ?outcome=fail ends the challenge and redirects (302) to SecureModeReturnURL?transactionId=<id>.
func (s *Server) serveSecureMode(w http.ResponseWriter, r *http.Request, id string) {
	var err error
	if r.URL.Query().Get("outcome") == "fail" {
		err = s.FailSecureMode(id, "")
	} else {
		err = s.CompleteSecureMode(id)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.mu.Lock()
	target := withQuery(s.payIns[id].SecureModeReturnURL, "transactionId", id)
	s.mu.Unlock()
	http.Redirect(w, r, target, http.StatusFound)
}

func withQuery(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Bank accounts.

func (s *Server) createBankAccount(p params, body []byte) reply {
	if _, found := s.users[p[0]]; !found {
		return s.notFound()
	}
	b := decode[bankAccount](body)
	if !validIBAN(b.IBAN) {
		return s.paramError(map[string]string{"IBAN": "The IBAN is not valid."})
	}
	b.ID, b.UserID, b.Type, b.Active, b.CreationDate = s.newID("ba_m_"), p[0], "IBAN", true, s.now()
	s.bankAccounts[b.ID] = &b
	s.created["bankaccounts"]++
	return created(b)
}

func (s *Server) bankAccountOf(p params) (*bankAccount, bool) {
	b, found := s.bankAccounts[p[1]]
	if !found || b.UserID != p[0] {
		return nil, false
	}
	return b, true
}

func (s *Server) getBankAccount(p params, _ []byte) reply {
	b, found := s.bankAccountOf(p)
	if !found {
		return s.notFound()
	}
	return ok(b)
}

func (s *Server) updateBankAccount(p params, body []byte) reply {
	b, found := s.bankAccountOf(p)
	if !found {
		return s.notFound()
	}
	if decode[struct{ Active bool }](body).Active {
		return s.paramError(map[string]string{"Active": "A bank account can only be deactivated."})
	}
	b.Active = false
	return ok(b)
}

// validIBAN checks the mod-97 checksum (MangoPay refuses IBANs that are not real, even in sandbox),
// after the normalisation MangoPay applies (spaces removed, upper case).
func validIBAN(s string) bool {
	return iban.Valid(strings.ToUpper(strings.ReplaceAll(s, " ", "")))
}

// Mandates.

func (s *Server) createMandate(_ params, body []byte) reply {
	m := decode[mandate](body)
	b, found := s.bankAccounts[m.BankAccountID]
	if !found || !b.Active {
		return s.paramError(map[string]string{"BankAccountId": "The bank account does not exist or is not active."})
	}
	if len(m.ReturnURL) > 220 {
		return s.paramError(map[string]string{"ReturnURL": "The ReturnURL field is too long."})
	}
	m.ID, m.UserID, m.Status, m.CreationDate = s.newID("mdt_m_"), b.UserID, "CREATED", s.now()
	m.RedirectURL = s.URL + "/mandate-signature/" + m.ID
	m.DocumentURL = s.URL + "/mandate-documents/" + m.ID + ".pdf"
	m.BankReference = fmt.Sprintf("VHUPAY%08d", s.seq)
	m.ExecutionType, m.MandateType = "WEB", "DIRECT_DEBIT"
	s.mandates[m.ID] = &m
	s.created["mandates"]++
	s.event("MANDATE_CREATED", m.ID)
	return created(m)
}

func (s *Server) getMandate(p params, _ []byte) reply {
	m, found := s.mandates[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(m)
}

func (s *Server) cancelMandate(p params, _ []byte) reply {
	m, found := s.mandates[p[0]]
	if !found {
		return s.notFound()
	}
	if m.Status != "SUBMITTED" && m.Status != "ACTIVE" {
		return s.paramError(map[string]string{"Status": "Only a SUBMITTED or ACTIVE mandate can be cancelled."})
	}
	m.Status, m.ResultCode, m.ResultMessage = "FAILED", ptr("001806"), ptr("The client has cancelled the mandate")
	s.event("MANDATE_FAILED", m.ID)
	return ok(m)
}

// SubmitMandate is the buyer confirming a CREATED mandate: it becomes SUBMITTED (scheme SEPA).
func (s *Server) SubmitMandate(id string) error {
	return s.moveMandate(id, "CREATED", "SUBMITTED", "", "MANDATE_SUBMITTED")
}

// ActivateMandate is the bank accepting a SUBMITTED mandate: it becomes ACTIVE. (A first
// successful direct debit also activates it.)
func (s *Server) ActivateMandate(id string) error {
	return s.moveMandate(id, "SUBMITTED", "ACTIVE", "", "MANDATE_ACTIVATED")
}

// FailMandate fails a CREATED, SUBMITTED or ACTIVE mandate with a result code (001804 when empty:
// the user disputed the mandate; 001807: not confirmed within the hour).
func (s *Server) FailMandate(id, resultCode string) error {
	if resultCode == "" {
		resultCode = "001804"
	}
	return s.moveMandate(id, "", "FAILED", resultCode, "MANDATE_FAILED")
}

// ExpireMandate expires a SUBMITTED or ACTIVE mandate (no debit for 24 months).
func (s *Server) ExpireMandate(id string) error {
	return s.moveMandate(id, "", "EXPIRED", "001835", "MANDATE_EXPIRED")
}

func (s *Server) moveMandate(id, from, to, code, event string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, found := s.mandates[id]
	if !found {
		return fmt.Errorf("mangopaytest: no mandate %s", id)
	}
	final := m.Status == "FAILED" || m.Status == "EXPIRED"
	if (from != "" && m.Status != from) || final || (to == "EXPIRED" && m.Status == "CREATED") {
		return fmt.Errorf("mangopaytest: mandate %s is %s, cannot become %s", id, m.Status, to)
	}
	m.Status = to
	if to == "SUBMITTED" {
		m.Scheme = ptr("SEPA")
	}
	if code != "" {
		m.ResultCode = ptr(code)
	}
	s.event(event, id)
	return nil
}

// serveMandateSignature is the page behind a mandate's RedirectURL: GET ?action=sign (default) or
// ?action=refuse, then a redirect (302) to ReturnURL?MandateId=<id>.
func (s *Server) serveMandateSignature(w http.ResponseWriter, r *http.Request, id string) {
	var err error
	if r.URL.Query().Get("action") == "refuse" {
		err = s.FailMandate(id, "")
	} else {
		err = s.SubmitMandate(id)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.mu.Lock()
	target := withQuery(s.mandates[id].ReturnURL, "MandateId", id)
	s.mu.Unlock()
	http.Redirect(w, r, target, http.StatusFound)
}

// Direct-debit pay-ins.

type directDebitRequest struct {
	AuthorID            string `json:"AuthorId"`
	CreditedWalletID    string `json:"CreditedWalletId"`
	DebitedFunds        money  `json:"DebitedFunds"`
	Fees                money  `json:"Fees"`
	MandateID           string `json:"MandateId"`
	StatementDescriptor string `json:"StatementDescriptor"`
	Tag                 string `json:"Tag"`
}

func (s *Server) createDirectDebitPayIn(_ params, body []byte) reply {
	in := decode[directDebitRequest](body)
	m, mandateFound := s.mandates[in.MandateID]
	wal, walletFound := s.wallets[in.CreditedWalletID]
	errs := map[string]string{}
	if !mandateFound {
		errs["MandateId"] = "The mandate does not exist."
	}
	if !walletFound {
		errs["CreditedWalletId"] = "The wallet does not exist."
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	if in.DebitedFunds.Currency != wal.Currency || in.Fees.Currency != wal.Currency {
		return s.apiError(http.StatusBadRequest, "currency_incompatibility", "The currency of the funds and the wallet must be the same", nil)
	}
	now := s.clock.Now().UTC()
	charge := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC).Unix()
	p := &payIn{
		ID: s.newID("payin_m_"), Status: "CREATED", AuthorID: in.AuthorID, CreditedUserID: wal.Owners[0],
		CreditedWalletID: wal.ID, DebitedFunds: in.DebitedFunds, Fees: in.Fees,
		CreditedFunds: money{Currency: in.DebitedFunds.Currency, Amount: in.DebitedFunds.Amount - in.Fees.Amount},
		Type:          "PAYIN", Nature: "REGULAR", PaymentType: "DIRECT_DEBIT", ExecutionType: "DIRECT",
		MandateID: m.ID, ChargeDate: &charge, StatementDescriptor: in.StatementDescriptor, CreationDate: s.now(), Tag: in.Tag,
	}
	s.payIns[p.ID] = p
	s.created["payins"]++
	s.event("PAYIN_NORMAL_CREATED", p.ID)
	switch {
	case m.UserID != in.AuthorID:
		s.finishPayIn(p, "001024", "Author is not the Mandate owner")
	case m.Status != "SUBMITTED" && m.Status != "ACTIVE":
		s.finishPayIn(p, "001833", "The Status of this Mandate does not allow for payments")
	}
	return created(p)
}

// SettleDirectDebit settles a CREATED direct-debit pay-in: an empty or "000000" result code
// succeeds (and activates a SUBMITTED mandate), any other fails it (001830 insufficient funds,
// 001801 account closed...).
func (s *Server) SettleDirectDebit(payInID, resultCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.payIns[payInID]
	if !found || p.PaymentType != "DIRECT_DEBIT" || p.Status != "CREATED" {
		return fmt.Errorf("mangopaytest: pay-in %s is not a pending direct debit", payInID)
	}
	if resultCode == "" {
		resultCode = "000000"
	}
	s.finishPayIn(p, resultCode, "")
	return nil
}

// Repudiate takes back a SUCCEEDED pay-in (a SEPA late failure or a chargeback) and returns the
// repudiation's id.
func (s *Server) Repudiate(payInID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.payIns[payInID]
	if !found || p.Status != "SUCCEEDED" {
		return "", fmt.Errorf("mangopaytest: pay-in %s has not succeeded", payInID)
	}
	r := &repudiation{
		ID: s.newID("repu_m_"), Status: "SUCCEEDED", ResultCode: "000000", AuthorID: p.AuthorID,
		DebitedFunds: p.DebitedFunds, InitialTransactionID: p.ID, InitialTransactionType: "PAYIN",
		Type: "PAYOUT", Nature: "REPUDIATION", CreationDate: s.now(),
	}
	s.repudiations[r.ID] = r
	s.created["repudiations"]++
	s.event("PAYIN_REPUDIATION_CREATED", r.ID)
	s.event("PAYIN_REPUDIATION_SUCCEEDED", r.ID)
	return r.ID, nil
}

func (s *Server) getRepudiation(p params, _ []byte) reply {
	r, found := s.repudiations[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(r)
}

// Refunds.

type refundRequest struct {
	AuthorID     string `json:"AuthorId"`
	DebitedFunds *money `json:"DebitedFunds"`
	Fees         *money `json:"Fees"`
	Tag          string `json:"Tag"`
}

// refundAmounts applies MangoPay's refund rules on DebitedFunds and Fees (Mangopay/docs
// snippets/p-body of api-reference/refunds/create-refund-payin.mdx and create-refund-transfer.mdx:
// "DebitedFunds … Required if the Fees parameter is included", "Fees … Required if the
// DebitedFunds parameter is included"; both absent: the initial transaction's amounts, the fee
// given back). debited is what the credited wallet of the initial transaction gives back, fees
// the fee moved (negative: given back from the fees wallet, guides/refunds.mdx "Handling fees");
// the payer receives debited − fees.
func (s *Server) refundAmounts(in refundRequest, initialCredited, initialFees money) (debited, fees money, errs map[string]string) {
	switch {
	case in.DebitedFunds != nil && in.Fees == nil:
		return money{}, money{}, map[string]string{"Fees": "The Fees field is required when DebitedFunds is given."}
	case in.Fees != nil && in.DebitedFunds == nil:
		return money{}, money{}, map[string]string{"DebitedFunds": "The DebitedFunds field is required when Fees is given."}
	case in.DebitedFunds == nil:
		return initialCredited, money{Currency: initialFees.Currency, Amount: -initialFees.Amount}, nil
	}
	if in.DebitedFunds.Amount < 1 {
		return money{}, money{}, map[string]string{"DebitedFunds.Amount": "The debited funds amount must be 1 or more."}
	}
	if in.DebitedFunds.Currency != initialCredited.Currency || in.Fees.Currency != initialCredited.Currency {
		return money{}, money{}, map[string]string{"DebitedFunds.Currency": "The currency must be the initial transaction's."}
	}
	return *in.DebitedFunds, *in.Fees, nil
}

// createPayInRefund serves POST /payins/{id}/refunds (Mangopay/docs api-reference/refunds/
// create-refund-payin.mdx; result codes errors/codes/0014xx, 0054xx, 001001; a card pay-in is
// refundable for 11 months, 001403).
func (s *Server) createPayInRefund(p params, body []byte) reply {
	pi, found := s.payIns[p[0]]
	if !found {
		return s.notFound()
	}
	in := decode[refundRequest](body)
	if in.AuthorID != pi.AuthorID {
		return s.paramError(map[string]string{"AuthorId": "The AuthorId must be the author of the initial transaction."})
	}
	if pi.Status != "SUCCEEDED" {
		return s.paramError(map[string]string{"PayInId": "The initial transaction has not succeeded."})
	}
	debited, fees, errs := s.refundAmounts(in, pi.CreditedFunds, pi.Fees)
	if errs != nil {
		return s.paramError(errs)
	}
	r := &refund{
		ID: s.newID("refund_m_"), Status: "CREATED", AuthorID: pi.AuthorID,
		DebitedFunds: debited, Fees: fees, CreditedFunds: money{Currency: debited.Currency, Amount: debited.Amount - fees.Amount},
		DebitedWalletID: pi.CreditedWalletID, InitialTransactionID: pi.ID, InitialTransactionType: "PAYIN", Type: "PAYOUT", Nature: "REFUND",
		Tag: in.Tag, CreationDate: s.now(),
	}
	s.refunds[r.ID] = r
	s.created["refunds"]++
	s.event("PAYIN_REFUND_CREATED", r.ID)
	now := s.clock.Now()
	last, refundedBefore := pi.refundDates[debited.Amount]
	switch {
	case pi.refunded >= pi.CreditedFunds.Amount:
		r.fail("001401", "Transaction has already been successfully refunded")
	case pi.refunded+debited.Amount > pi.CreditedFunds.Amount:
		r.fail("005403", "The refund cannot exceed initial transaction amount")
	case pi.refundedFees-fees.Amount > pi.Fees.Amount:
		r.fail("005404", "The refunded fees cannot exceed initial fee amount")
	case s.disputed(pi.ID):
		r.fail("005408", "Due to repudiations against this transaction, you can not refund this amount.")
	case refundedBefore && now.Sub(last) < 24*time.Hour:
		r.fail("005407", "Duplicated operation: you cannot reimburse the same amount more than once for a transaction during the same day.")
	case pi.PaymentType == "CARD" && now.After(time.Unix(pi.CreationDate, 0).AddDate(0, 11, 0)):
		r.fail("001403", "The transaction cannot be refunded (max 11 months)")
	case pi.PaymentType == "DIRECT_DEBIT" && now.Sub(time.Unix(pi.CreationDate, 0)) < 7*24*time.Hour && in.Tag != "ignore_mindate":
		r.fail("001405", "The initial transaction occured less than 7 days ago")
	case s.balance(pi.CreditedWalletID) < debited.Amount:
		r.fail("001001", "Unsufficient wallet balance")
	default:
		r.succeed(now)
		pi.refunded += debited.Amount
		pi.refundedFees -= fees.Amount
		if pi.refundDates == nil {
			pi.refundDates = map[int64]time.Time{}
		}
		pi.refundDates[debited.Amount] = now
		s.credit(pi.CreditedWalletID, -debited.Amount)
		s.credit(feesWalletID, fees.Amount)
	}
	s.event("PAYIN_REFUND_"+r.Status, r.ID)
	return created(r)
}

func (r *refund) fail(code, message string) {
	r.Status, r.ResultCode, r.ResultMessage = "FAILED", code, message
}

func (r *refund) succeed(at time.Time) {
	r.Status, r.ResultCode, r.ResultMessage = "SUCCEEDED", "000000", "Success"
	r.ExecutionDate = ptr(at.Unix())
}

func (s *Server) getRefund(p params, _ []byte) reply {
	r, found := s.refunds[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(r)
}

// Inspection helpers for tests.

// PayInStatus returns a pay-in's MangoPay Status and ResultCode.
func (s *Server) PayInStatus(id string) (status, resultCode string, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.payIns[id]
	if !found {
		return "", "", false
	}
	return p.Status, p.ResultCode, true
}

// PayIn is what PayIns tells of a pay-in.
type PayIn struct {
	ID          string
	PaymentType string // "CARD" or "DIRECT_DEBIT"
	Status      string
	AuthorID    string
	MandateID   string
	Amount      int64 // DebitedFunds, cents
	Tag         string
	// StatementDescriptor is the text shown on the payer's bank statement.
	StatementDescriptor string
}

// PayIns lists every pay-in created, in no particular order.
func (s *Server) PayIns() []PayIn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PayIn, 0, len(s.payIns))
	for _, p := range s.payIns {
		out = append(out, PayIn{ID: p.ID, PaymentType: p.PaymentType, Status: p.Status, AuthorID: p.AuthorID,
			MandateID: p.MandateID, Amount: p.DebitedFunds.Amount, Tag: p.Tag, StatementDescriptor: p.StatementDescriptor})
	}
	return out
}

// MandateStatus returns a mandate's MangoPay Status.
func (s *Server) MandateStatus(id string) (status string, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, found := s.mandates[id]
	if !found {
		return "", false
	}
	return m.Status, true
}

// WalletBalance returns a wallet's balance in cents.
func (s *Server) WalletBalance(id string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, found := s.wallets[id]
	if !found {
		return 0, false
	}
	return w.Balance.Amount, true
}

func parseForm(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }
