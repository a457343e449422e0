package mangopaytest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Money out: transfers, recipients, payouts, disputes and their documents, settlements.

// transfer is a transfer or a settlement transfer (Mangopay/docs
// api-reference/transfers/transfer-object.mdx, dispute-settlement/settlement-transfer-object.mdx).
type transfer struct {
	ID                string             `json:"Id"`
	Status            string             `json:"Status"`
	ResultCode        string             `json:"ResultCode"`
	ResultMessage     string             `json:"ResultMessage"`
	AuthorID          string             `json:"AuthorId"`
	CreditedUserID    *string            `json:"CreditedUserId"`
	DebitedFunds      money              `json:"DebitedFunds"`
	Fees              money              `json:"Fees"`
	CreditedFunds     money              `json:"CreditedFunds"`
	DebitedWalletID   string             `json:"DebitedWalletId"`
	CreditedWalletID  string             `json:"CreditedWalletId"`
	Type              string             `json:"Type"`
	Nature            string             `json:"Nature"`
	ScaContext        *string            `json:"ScaContext,omitempty"`
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
	RepudiationID     string             `json:"RepudiationId,omitempty"`
	ExecutionDate     *int64             `json:"ExecutionDate"`
	CreationDate      int64              `json:"CreationDate"`
	Tag               string             `json:"Tag"`

	refunded     int64 // DebitedFunds refunded so far
	refundedFees int64 // fees given back so far
}

func (t *transfer) fail(code, message string) {
	t.Status, t.ResultCode, t.ResultMessage = "FAILED", code, message
}

type transferRequest struct {
	AuthorID         string `json:"AuthorId"`
	DebitedFunds     money  `json:"DebitedFunds"`
	Fees             money  `json:"Fees"`
	DebitedWalletID  string `json:"DebitedWalletId"`
	CreditedWalletID string `json:"CreditedWalletId"`
	ScaContext       string `json:"ScaContext"`
	Tag              string `json:"Tag"`
}

// createTransfer serves POST /transfers (api-reference/transfers/create-transfer.mdx). Refusals
// are FAILED transfers with MangoPay's result codes (errors/codes/*.mdx): 001002 author is not the
// debited wallet's owner, 101108 same wallets, 002701 PAYER to PAYER, 002702 OWNER to PAYER,
// 002704 author PENDING_USER_ACTION, 001014 nothing credited, 001001 insufficient balance. An
// OWNER-to-OWNER transfer with ScaContext USER_PRESENT (the default from 15 December 2025) waits
// CREATED for the author's SCA (guides/sca/transfers.mdx).
func (s *Server) createTransfer(_ params, body []byte) reply {
	in := decode[transferRequest](body)
	debited, credited := s.wallets[in.DebitedWalletID], s.wallets[in.CreditedWalletID]
	errs := map[string]string{}
	if debited == nil {
		errs["DebitedWalletId"] = "The wallet does not exist."
	}
	if credited == nil {
		errs["CreditedWalletId"] = "The wallet does not exist."
	}
	if _, found := s.users[in.AuthorID]; !found {
		errs["AuthorId"] = "The user does not exist."
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	if in.DebitedFunds.Currency != debited.Currency || in.Fees.Currency != debited.Currency || credited.Currency != debited.Currency {
		return s.apiError(http.StatusBadRequest, "currency_incompatibility", "The currency of the funds and the wallets must be the same", nil)
	}
	from, to := s.ownerOf(debited), s.ownerOf(credited)
	t := &transfer{
		ID: s.newID("tr_m_"), Status: "CREATED", AuthorID: in.AuthorID, DebitedFunds: in.DebitedFunds, Fees: in.Fees,
		CreditedFunds:   money{Currency: in.DebitedFunds.Currency, Amount: in.DebitedFunds.Amount - in.Fees.Amount},
		DebitedWalletID: debited.ID, CreditedWalletID: credited.ID, Type: "TRANSFER", Nature: "REGULAR",
		CreationDate: s.now(), Tag: in.Tag,
	}
	if to != nil {
		t.CreditedUserID = ptr(to.ID)
	}
	s.transfers[t.ID] = t
	s.created["transfers"]++
	s.event("TRANSFER_NORMAL_CREATED", t.ID)
	author := s.users[in.AuthorID]
	switch {
	case from == nil || from.ID != in.AuthorID:
		t.fail("001002", "Author is not the wallet owner")
	case debited.ID == credited.ID:
		t.fail("101108", "Transaction refused: the Debited Wallet and the Credited Wallet must be different")
	case to != nil && from.UserCategory == "PAYER" && to.UserCategory == "PAYER":
		t.fail("002701", "Users with category PAYER cannot make transfers to other users with category PAYER.")
	case to != nil && from.UserCategory == "OWNER" && to.UserCategory == "PAYER":
		t.fail("002702", "Users with category PAYER cannot receive transfers from users with category OWNER.")
	case author.UserStatus == "PENDING_USER_ACTION":
		t.fail("002704", "Users in PENDING_USER_ACTION status cannot create transfers")
	case in.DebitedFunds.Amount <= in.Fees.Amount:
		t.fail("001014", "CreditedFunds must be more than 0 (DebitedFunds can not equal Fees)")
	case debited.Balance.Amount < in.DebitedFunds.Amount:
		t.fail("001001", "Unsufficient wallet balance")
	case from.UserCategory == "OWNER" && to != nil && to.UserCategory == "OWNER" && in.ScaContext != "USER_NOT_PRESENT":
		t.ScaContext = ptr("USER_PRESENT")
		t.PendingUserAction = s.session("transfer", t.ID)
		return created(t)
	default:
		s.settleTransfer(t)
	}
	if t.Status == "FAILED" {
		s.event("TRANSFER_NORMAL_FAILED", t.ID)
	}
	return created(t)
}

// settleTransfer moves a transfer's money; callers hold mu.
func (s *Server) settleTransfer(t *transfer) {
	s.credit(t.DebitedWalletID, -t.DebitedFunds.Amount)
	s.credit(t.CreditedWalletID, t.CreditedFunds.Amount)
	s.credit(feesWalletID, t.Fees.Amount)
	t.Status, t.ResultCode, t.ResultMessage, t.ExecutionDate = "SUCCEEDED", "000000", "Success", ptr(s.now())
	s.event("TRANSFER_NORMAL_SUCCEEDED", t.ID)
}

func (s *Server) getTransfer(p params, _ []byte) reply {
	t, found := s.transfers[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(t)
}

// createTransferRefund serves POST /transfers/{id}/refunds (api-reference/refunds/
// create-refund-transfer.mdx; guides/refunds.mdx): the credited wallet gives back DebitedFunds,
// the fees wallet −Fees, the debited wallet receives DebitedFunds − Fees. Both amounts or neither
// (then the whole transfer, fee included). Refusals: 005403 more than transferred, 005404 more
// fees than taken, 001001 the credited wallet's balance.
func (s *Server) createTransferRefund(p params, body []byte) reply {
	t, found := s.transfers[p[0]]
	if !found || t.Nature != "REGULAR" {
		return s.notFound()
	}
	in := decode[refundRequest](body)
	if in.AuthorID != t.AuthorID {
		return s.paramError(map[string]string{"AuthorId": "The AuthorId must be the author of the initial transaction."})
	}
	if t.Status != "SUCCEEDED" {
		return s.paramError(map[string]string{"TransferId": "The initial transaction has not succeeded."})
	}
	debited, fees, errs := s.refundAmounts(in, t.CreditedFunds, t.Fees)
	if errs != nil {
		return s.paramError(errs)
	}
	r := &refund{
		ID: s.newID("refund_m_"), Status: "CREATED", AuthorID: t.AuthorID, DebitedFunds: debited, Fees: fees,
		CreditedFunds:   money{Currency: debited.Currency, Amount: debited.Amount - fees.Amount},
		DebitedWalletID: t.CreditedWalletID, CreditedWalletID: t.DebitedWalletID,
		InitialTransactionID: t.ID, InitialTransactionType: "TRANSFER", Type: "TRANSFER", Nature: "REFUND",
		Tag: in.Tag, CreationDate: s.now(),
	}
	s.refunds[r.ID] = r
	s.created["refunds"]++
	s.event("TRANSFER_REFUND_CREATED", r.ID)
	switch {
	case t.refunded+debited.Amount > t.CreditedFunds.Amount:
		r.fail("005403", "The refund cannot exceed initial transaction amount")
	case t.refundedFees-fees.Amount > t.Fees.Amount:
		r.fail("005404", "The refunded fees cannot exceed initial fee amount")
	case s.balance(t.CreditedWalletID) < debited.Amount:
		r.fail("001001", "Unsufficient wallet balance")
	default:
		r.succeed(s.clock.Now())
		t.refunded += debited.Amount
		t.refundedFees -= fees.Amount
		s.credit(t.CreditedWalletID, -debited.Amount)
		s.credit(feesWalletID, fees.Amount)
		s.credit(t.DebitedWalletID, debited.Amount-fees.Amount)
	}
	s.event("TRANSFER_REFUND_"+r.Status, r.ID)
	return created(r)
}

// recipient is a payout recipient (api-reference/recipients/recipient-object.mdx).
type recipient struct {
	ID                  string             `json:"Id"`
	Status              string             `json:"Status"`
	CreationDate        int64              `json:"CreationDate"`
	DisplayName         string             `json:"DisplayName"`
	PayoutMethodType    string             `json:"PayoutMethodType"`
	RecipientType       string             `json:"RecipientType"`
	Currency            string             `json:"Currency"`
	Country             string             `json:"Country"`
	UserID              string             `json:"UserId"`
	RecipientScope      string             `json:"RecipientScope"`
	Tag                 string             `json:"Tag"`
	BusinessRecipient   *businessRecipient `json:"BusinessRecipient,omitempty"`
	IndividualRecipient *struct {
		FirstName string  `json:"FirstName"`
		LastName  string  `json:"LastName"`
		Address   address `json:"Address"`
	} `json:"IndividualRecipient,omitempty"`
	LocalBankTransfer *struct {
		EUR *struct {
			IBAN string `json:"IBAN"`
			BIC  string `json:"BIC,omitempty"`
		} `json:"EUR"`
	} `json:"LocalBankTransfer,omitempty"`
	InternationalBankTransfer *struct {
		AccountNumber string `json:"AccountNumber"`
		BIC           string `json:"BIC,omitempty"`
	} `json:"InternationalBankTransfer,omitempty"`
	PendingUserAction *pendingUserAction `json:"PendingUserAction"`
}

type businessRecipient struct {
	BusinessName string  `json:"BusinessName"`
	Address      address `json:"Address"`
}

// createRecipient serves POST /users/{id}/recipients (api-reference/recipients/
// create-recipient.mdx, guides/sca/recipients.mdx), answering 201. The RecipientType's object
// and the PayoutMethodType's object are required (Business → BusinessRecipient, Individual →
// IndividualRecipient; LocalBankTransfer → LocalBankTransfer.{Currency}, International… →
// InternationalBankTransfer); scope PAYOUT (the default) is for OWNER users and waits PENDING for
// the owner's SCA; the IBAN must be a real one.
func (s *Server) createRecipient(p params, body []byte) reply {
	u, found := s.users[p[0]]
	if !found {
		return s.notFound()
	}
	rc := decode[recipient](body)
	if rc.RecipientScope == "" {
		rc.RecipientScope = "PAYOUT"
	}
	errs := map[string]string{}
	switch rc.RecipientType {
	case "Business":
		if rc.BusinessRecipient == nil || rc.IndividualRecipient != nil {
			errs["BusinessRecipient"] = "The BusinessRecipient field is required (and only it) for a Business recipient."
		}
	case "Individual":
		if rc.IndividualRecipient == nil || rc.BusinessRecipient != nil {
			errs["IndividualRecipient"] = "The IndividualRecipient field is required (and only it) for an Individual recipient."
		}
	}
	iban := ""
	switch rc.PayoutMethodType {
	case "LocalBankTransfer":
		if rc.Currency != "EUR" || rc.LocalBankTransfer == nil || rc.LocalBankTransfer.EUR == nil || rc.InternationalBankTransfer != nil {
			errs["LocalBankTransfer"] = "The LocalBankTransfer." + rc.Currency + " field is required."
		} else {
			iban = rc.LocalBankTransfer.EUR.IBAN
		}
	case "InternationalBankTransfer":
		if rc.InternationalBankTransfer == nil || rc.LocalBankTransfer != nil {
			errs["InternationalBankTransfer"] = "The InternationalBankTransfer field is required."
		} else {
			iban = rc.InternationalBankTransfer.AccountNumber
		}
	}
	if iban != "" && !validIBAN(iban) {
		errs["IBAN"] = "The IBAN is not valid."
	}
	if rc.RecipientScope == "PAYOUT" && u.UserCategory != "OWNER" {
		errs["RecipientScope"] = "Recipients of scope PAYOUT are for OWNER users."
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	rc.ID, rc.UserID, rc.CreationDate, rc.Status = s.newID("rec_"), u.ID, s.now(), "ACTIVE"
	if rc.RecipientScope == "PAYOUT" {
		rc.Status, rc.PendingUserAction = "PENDING", s.session("recipient", rc.ID)
	}
	s.recipients[rc.ID] = &rc
	s.created["recipients"]++
	return reply{status: http.StatusCreated, body: &rc}
}

func (s *Server) getRecipient(p params, _ []byte) reply {
	rc, found := s.recipients[p[0]]
	if !found {
		return s.notFound()
	}
	out := *rc
	out.PendingUserAction = nil
	return ok(out)
}

// updateRecipient serves PUT /recipients/{id} {"Status": "DEACTIVATED"}
// (api-reference/recipients/deactivate-recipient.mdx).
func (s *Server) updateRecipient(p params, _ []byte) reply {
	rc, found := s.recipients[p[0]]
	if !found {
		return s.notFound()
	}
	if rc.Status == "DEACTIVATED" || rc.Status == "CANCELED" {
		return s.paramError(map[string]string{"Status": "The recipient is already " + rc.Status + "."})
	}
	rc.Status, rc.PendingUserAction = "DEACTIVATED", nil
	s.event("RECIPIENT_DEACTIVATED", rc.ID)
	return ok(rc)
}

// payout is a bank-wire payout (api-reference/payouts/payout-object.mdx).
type payout struct {
	ID              string  `json:"Id"`
	Status          string  `json:"Status"`
	ResultCode      string  `json:"ResultCode"`
	ResultMessage   string  `json:"ResultMessage"`
	AuthorID        string  `json:"AuthorId"`
	CreditedUserID  *string `json:"CreditedUserId"`
	DebitedFunds    money   `json:"DebitedFunds"`
	Fees            money   `json:"Fees"`
	CreditedFunds   money   `json:"CreditedFunds"`
	DebitedWalletID string  `json:"DebitedWalletId"`
	BankAccountID   string  `json:"BankAccountId"`
	BankWireRef     string  `json:"BankWireRef"`
	ModeRequested   string  `json:"ModeRequested"`
	ModeApplied     string  `json:"ModeApplied"`
	Type            string  `json:"Type"`
	Nature          string  `json:"Nature"`
	PaymentType     string  `json:"PaymentType"`
	ExecutionDate   *int64  `json:"ExecutionDate"`
	CreationDate    int64   `json:"CreationDate"`
	Tag             string  `json:"Tag"`
}

type payoutRequest struct {
	AuthorID            string `json:"AuthorId"`
	DebitedFunds        money  `json:"DebitedFunds"`
	Fees                money  `json:"Fees"`
	DebitedWalletID     string `json:"DebitedWalletId"`
	BankAccountID       string `json:"BankAccountId"`
	BankWireRef         string `json:"BankWireRef"`
	PayoutModeRequested string `json:"PayoutModeRequested"`
	Tag                 string `json:"Tag"`
}

// createPayout serves POST /payouts/bankwire (api-reference/payouts/create-payout.mdx) to a
// recipient (guides/payouts.mdx: BankAccountId is a Recipient's Id, or a legacy bank account's).
// The wallet is debited at once; the payout stays CREATED until SettlePayout. Refusals are FAILED
// payouts (errors/codes/121*.mdx, 00299x.mdx): 121002 author is not the wallet's owner, 121006 the
// account is not active, 121007 author is not the account's owner, 002999 the author's KYC
// (payouts need KYCLevel REGULAR), 121003 insufficient balance.
func (s *Server) createPayout(_ params, body []byte) reply {
	in := decode[payoutRequest](body)
	w := s.wallets[in.DebitedWalletID]
	errs := map[string]string{}
	if w == nil {
		errs["DebitedWalletId"] = "The wallet does not exist."
	}
	author, found := s.users[in.AuthorID]
	if !found {
		errs["AuthorId"] = "The user does not exist."
	}
	accountOwner, active := "", false
	if rc, found := s.recipients[in.BankAccountID]; found {
		accountOwner, active = rc.UserID, rc.Status == "ACTIVE"
	} else if ba, found := s.bankAccounts[in.BankAccountID]; found {
		accountOwner, active = ba.UserID, ba.Active
	} else {
		errs["BankAccountId"] = "The bank account does not exist."
	}
	if len(errs) > 0 {
		return s.paramError(errs)
	}
	if in.DebitedFunds.Currency != w.Currency || in.Fees.Currency != w.Currency {
		return s.apiError(http.StatusBadRequest, "currency_incompatibility", "The currency of the funds and the wallet must be the same", nil)
	}
	mode := in.PayoutModeRequested
	if mode == "" {
		mode = "STANDARD"
	}
	po := &payout{
		ID: s.newID("po_m_"), Status: "CREATED", AuthorID: in.AuthorID, CreditedUserID: ptr(accountOwner),
		DebitedFunds: in.DebitedFunds, Fees: in.Fees,
		CreditedFunds:   money{Currency: in.DebitedFunds.Currency, Amount: in.DebitedFunds.Amount - in.Fees.Amount},
		DebitedWalletID: w.ID, BankAccountID: in.BankAccountID, BankWireRef: in.BankWireRef, ModeRequested: mode,
		ModeApplied: "STANDARD", Type: "PAYOUT", Nature: "REGULAR", PaymentType: "BANK_WIRE", CreationDate: s.now(), Tag: in.Tag,
	}
	s.payouts[po.ID] = po
	s.created["payouts"]++
	s.event("PAYOUT_NORMAL_CREATED", po.ID)
	owner := s.ownerOf(w)
	switch {
	case owner == nil || owner.ID != in.AuthorID:
		po.fail("121002", "The author is not the wallet owner")
	case !active:
		po.fail("121006", "The associated bank account is not active")
	case accountOwner != in.AuthorID:
		po.fail("121007", "The author is not the bank account owner")
	case author.KYCLevel != "REGULAR":
		po.fail("002999", "Blocked due to a Debited User's KYC limitations (maximum debited or credited amount reached)")
	case w.Balance.Amount < in.DebitedFunds.Amount:
		po.fail("121003", "Insufficient wallet balance")
	default:
		s.credit(w.ID, -in.DebitedFunds.Amount)
		s.credit(feesWalletID, in.Fees.Amount)
		return created(po)
	}
	s.event("PAYOUT_NORMAL_FAILED", po.ID)
	return created(po)
}

func (po *payout) fail(code, message string) {
	po.Status, po.ResultCode, po.ResultMessage = "FAILED", code, message
}

func (s *Server) getPayout(p params, _ []byte) reply {
	po, found := s.payouts[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(po)
}

// SettlePayout is the bank's answer to a CREATED payout: an empty or "000000" result code
// succeeds, any other (121001 refused...) fails it and credits the wallet back.
func (s *Server) SettlePayout(payoutID, resultCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	po, found := s.payouts[payoutID]
	if !found || po.Status != "CREATED" {
		return fmt.Errorf("mangopaytest: payout %s is not pending", payoutID)
	}
	if resultCode == "" || resultCode == "000000" {
		po.Status, po.ResultCode, po.ResultMessage, po.ExecutionDate = "SUCCEEDED", "000000", "Success", ptr(s.now())
		s.event("PAYOUT_NORMAL_SUCCEEDED", po.ID)
		return nil
	}
	po.fail(resultCode, "The bank wire has been refused")
	s.credit(po.DebitedWalletID, po.DebitedFunds.Amount)
	s.credit(feesWalletID, -po.Fees.Amount)
	s.event("PAYOUT_NORMAL_FAILED", po.ID)
	return nil
}

// ReturnPayout is the bank sending back a SUCCEEDED payout: MangoPay creates a refund of it
// (InitialTransactionType PAYOUT) crediting the wallet (guides/payouts/rejects-returns.mdx). It
// returns the refund's id.
func (s *Server) ReturnPayout(payoutID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	po, found := s.payouts[payoutID]
	if !found || po.Status != "SUCCEEDED" {
		return "", fmt.Errorf("mangopaytest: payout %s has not succeeded", payoutID)
	}
	r := &refund{
		ID: s.newID("refund_m_"), AuthorID: po.AuthorID, DebitedFunds: po.DebitedFunds, Fees: money{Currency: po.Fees.Currency},
		CreditedFunds: po.DebitedFunds, CreditedWalletID: po.DebitedWalletID, InitialTransactionID: po.ID,
		InitialTransactionType: "PAYOUT", Type: "PAYIN", Nature: "REFUND", CreationDate: s.now(),
	}
	r.succeed(s.clock.Now())
	s.refunds[r.ID] = r
	s.created["refunds"]++
	s.credit(po.DebitedWalletID, po.DebitedFunds.Amount)
	s.event("PAYOUT_REFUND_CREATED", r.ID)
	s.event("PAYOUT_REFUND_SUCCEEDED", r.ID)
	return r.ID, nil
}

// dispute is a dispute (api-reference/disputes/dispute-object.mdx).
type dispute struct {
	ID                     string  `json:"Id"`
	InitialTransactionID   string  `json:"InitialTransactionId"`
	InitialTransactionType string  `json:"InitialTransactionType"`
	DisputeType            string  `json:"DisputeType"`
	Status                 string  `json:"Status"`
	StatusMessage          *string `json:"StatusMessage"`
	ResultCode             *string `json:"ResultCode"`
	ResultMessage          *string `json:"ResultMessage"`
	DisputedFunds          money   `json:"DisputedFunds"`
	ContestedFunds         *money  `json:"ContestedFunds"`
	ContestDeadlineDate    *int64  `json:"ContestDeadlineDate"`
	ClosedDate             *int64  `json:"ClosedDate"`
	RepudiationID          string  `json:"RepudiationId"`
	DisputeReason          struct {
		DisputeReasonType    string  `json:"DisputeReasonType"`
		DisputeReasonMessage *string `json:"DisputeReasonMessage"`
	} `json:"DisputeReason"`
	CreationDate int64  `json:"CreationDate"`
	Tag          string `json:"Tag"`
}

// disputeReasons are DisputeReason.DisputeReasonType's values (Node SDK
// typings/models/dispute.d.ts).
var disputeReasons = map[string]bool{
	"DUPLICATE": true, "FRAUD": true, "PRODUCT_UNACCEPTABLE": true, "UNKNOWN": true, "OTHER": true,
	"REFUND_CONVERSION_RATE": true, "LATE_FAILURE_INSUFFICIENT_FUNDS": true, "LATE_FAILURE_CONTACT_USER": true,
	"LATE_FAILURE_BANKACCOUNT_CLOSED": true, "LATE_FAILURE_BANKACCOUNT_INCOMPATIBLE": true,
	"LATE_FAILURE_BANKACCOUNT_INCORRECT": true, "AUTHORISATION_DISPUTED": true, "TRANSACTION_NOT_RECOGNIZED": true,
	"PRODUCT_NOT_PROVIDED": true, "CANCELED_REOCCURING_TRANSACTION": true, "REFUND_NOT_PROCESSED": true,
}

// contestDays is how long a platform has to contest (guides/disputes.mdx: 7 to 18 days).
const contestDays = 7

// OpenDispute is the buyer's bank disputing a SUCCEEDED pay-in for its whole amount: a dispute
// (CONTESTABLE: PENDING_CLIENT_ACTION until ContestDeadlineDate; otherwise CLOSED, LOST) and its
// repudiation, which takes the amount from the client's repudiation wallet (guides/disputes.mdx).
// reason is a DisputeReasonType ("FRAUD"...). It returns the dispute's id.
func (s *Server) OpenDispute(payInID, reason string, contestable bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, found := s.payIns[payInID]
	if !found || pi.Status != "SUCCEEDED" {
		return "", fmt.Errorf("mangopaytest: pay-in %s has not succeeded", payInID)
	}
	if !disputeReasons[reason] {
		return "", fmt.Errorf("mangopaytest: unknown dispute reason %q", reason)
	}
	r := &repudiation{
		ID: s.newID("repu_m_"), Status: "SUCCEEDED", ResultCode: "000000", AuthorID: pi.AuthorID,
		DebitedFunds: pi.DebitedFunds, InitialTransactionID: pi.ID, InitialTransactionType: "PAYIN",
		Type: "PAYOUT", Nature: "REPUDIATION", CreationDate: s.now(),
	}
	s.repudiations[r.ID] = r
	s.created["repudiations"]++
	s.credit(repudiationWallet, -pi.DebitedFunds.Amount)
	d := &dispute{
		ID: s.newID("dispute_m_"), InitialTransactionID: pi.ID, InitialTransactionType: "PAYIN", DisputeType: "CONTESTABLE",
		Status: "PENDING_CLIENT_ACTION", DisputedFunds: pi.DebitedFunds, RepudiationID: r.ID, CreationDate: s.now(),
		ContestDeadlineDate: ptr(s.clock.Now().Add(contestDays * 24 * time.Hour).Unix()),
	}
	d.DisputeReason.DisputeReasonType = reason
	s.disputes[d.ID] = d
	s.created["disputes"]++
	s.event("DISPUTE_CREATED", d.ID)
	s.event("PAYIN_REPUDIATION_CREATED", r.ID)
	s.event("PAYIN_REPUDIATION_SUCCEEDED", r.ID)
	if !contestable {
		d.DisputeType, d.ContestDeadlineDate = "NOT_CONTESTABLE", nil
		s.closeDisputeAs(d, "LOST")
	}
	return d.ID, nil
}

// DecideDispute is the bank's decision on a SUBMITTED dispute: won gives the amount back to the
// repudiation wallet.
func (s *Server) DecideDispute(disputeID string, won bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.disputes[disputeID]
	if !found || d.Status != "SUBMITTED" {
		return fmt.Errorf("mangopaytest: dispute %s is not submitted", disputeID)
	}
	if won {
		s.credit(repudiationWallet, d.DisputedFunds.Amount)
		s.closeDisputeAs(d, "WON")
		return nil
	}
	s.closeDisputeAs(d, "LOST")
	return nil
}

// ReopenDispute is the bank asking for more evidence on a SUBMITTED dispute:
// REOPENED_PENDING_CLIENT_ACTION with a new ContestDeadlineDate (DISPUTE_FURTHER_ACTION_REQUIRED).
func (s *Server) ReopenDispute(disputeID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.disputes[disputeID]
	if !found || d.Status != "SUBMITTED" {
		return fmt.Errorf("mangopaytest: dispute %s is not submitted", disputeID)
	}
	d.Status, d.ContestDeadlineDate = "REOPENED_PENDING_CLIENT_ACTION", ptr(s.clock.Now().Add(contestDays*24*time.Hour).Unix())
	s.event("DISPUTE_FURTHER_ACTION_REQUIRED", d.ID)
	return nil
}

// closeDisputeAs closes a dispute with a result; callers hold mu.
func (s *Server) closeDisputeAs(d *dispute, result string) {
	d.Status, d.ResultCode, d.ClosedDate = "CLOSED", ptr(result), ptr(s.now())
	s.event("DISPUTE_CLOSED", d.ID)
}

// disputed reports whether a pay-in has a dispute; callers hold mu.
func (s *Server) disputed(payInID string) bool {
	for _, d := range s.disputes {
		if d.InitialTransactionID == payInID {
			return true
		}
	}
	return false
}

func (s *Server) getDispute(p params, _ []byte) reply {
	d, found := s.disputes[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(d)
}

// listDisputes serves GET /disputes (api-reference/disputes/list-disputes.mdx: AfterDate,
// BeforeDate, Status, DisputeType; overview/pagination.mdx: page from 1, per_page at most 100,
// headers x-number-of-pages and x-number-of-items), oldest first.
func (s *Server) listDisputes(_ params, q url.Values) reply {
	lq, refused, bad := s.listQuery(q)
	if bad {
		return refused
	}
	var all []*dispute
	for _, d := range s.disputes {
		if !lq.within(d.CreationDate) || (q.Get("Status") != "" && q.Get("Status") != d.Status) ||
			(q.Get("DisputeType") != "" && q.Get("DisputeType") != d.DisputeType) {
			continue
		}
		all = append(all, d)
	}
	sortByID(all, func(d *dispute) string { return d.ID })
	return paged(lq, all)
}

// listPayInDisputes serves GET /payins/{id}/disputes (api-reference/disputes/
// list-disputes-payin.mdx: the disputes of a pay-in; AfterDate, BeforeDate, Status, DisputeType
// and the pagination as for GET /disputes),
// oldest first; an unknown pay-in is a 404.
func (s *Server) listPayInDisputes(p params, q url.Values) reply {
	if _, found := s.payIns[p[0]]; !found {
		return s.notFound()
	}
	lq, refused, bad := s.listQuery(q)
	if bad {
		return refused
	}
	var all []*dispute
	for _, d := range s.disputes {
		if d.InitialTransactionID == p[0] && lq.within(d.CreationDate) && (q.Get("Status") == "" || q.Get("Status") == d.Status) &&
			(q.Get("DisputeType") == "" || q.Get("DisputeType") == d.DisputeType) {
			all = append(all, d)
		}
	}
	sortByID(all, func(d *dispute) string { return d.ID })
	return paged(lq, all)
}

// listQuery is a list's page and date window (overview/pagination.mdx: page from 1, per_page at
// most 100; AfterDate and BeforeDate in Unix seconds, exclusive; -1 when absent).
type listQuery struct {
	page, perPage int
	after, before int64
}

// within reports whether a date (Unix seconds) is inside the window.
func (lq listQuery) within(date int64) bool {
	return (lq.after < 0 || date > lq.after) && (lq.before < 0 || date < lq.before)
}

// listQuery reads page, per_page, AfterDate and BeforeDate; bad is true, with the answer, when one
// is malformed.
func (s *Server) listQuery(q url.Values) (lq listQuery, refused reply, bad bool) {
	lq = listQuery{page: 1, perPage: 10, after: -1, before: -1}
	for name, target := range map[string]*int{"page": &lq.page, "per_page": &lq.perPage} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "per_page" && n > 100) {
				return lq, s.paramError(map[string]string{name: "The " + name + " parameter is invalid."}), true
			}
			*target = n
		}
	}
	for name, target := range map[string]*int64{"AfterDate": &lq.after, "BeforeDate": &lq.before} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return lq, s.paramError(map[string]string{name: "The " + name + " parameter must be a Unix time."}), true
			}
			*target = n
		}
	}
	return lq, reply{}, false
}

// paged answers one page of all, with the headers x-number-of-pages and x-number-of-items.
func paged[T any](lq listQuery, all []T) reply {
	pages := (len(all) + lq.perPage - 1) / lq.perPage
	out := []T{}
	if start := (lq.page - 1) * lq.perPage; start < len(all) {
		out = all[start:min(start+lq.perPage, len(all))]
	}
	rep := ok(out)
	rep.header = http.Header{"X-Number-Of-Pages": {strconv.Itoa(pages)}, "X-Number-Of-Items": {strconv.Itoa(len(all))}}
	return rep
}

// openForEvidence reports whether a dispute waits for the platform (PENDING_CLIENT_ACTION or
// REOPENED_PENDING_CLIENT_ACTION; api-reference/disputes/dispute-object.mdx).
func openForEvidence(d *dispute) bool {
	return d.Status == "PENDING_CLIENT_ACTION" || d.Status == "REOPENED_PENDING_CLIENT_ACTION"
}

// submitDispute serves PUT /disputes/{id}/submit {ContestedFunds} (api-reference/disputes/
// submit-dispute.mdx): at most the disputed amount, in its currency, before the deadline.
func (s *Server) submitDispute(p params, body []byte) reply {
	d, found := s.disputes[p[0]]
	if !found {
		return s.notFound()
	}
	in := decode[struct {
		ContestedFunds money `json:"ContestedFunds"`
	}](body)
	switch {
	case !openForEvidence(d):
		return s.paramError(map[string]string{"Status": "The dispute cannot be submitted in status " + d.Status + "."})
	case d.ContestDeadlineDate != nil && s.now() > *d.ContestDeadlineDate:
		return s.paramError(map[string]string{"ContestDeadlineDate": "The contest deadline has passed."})
	case in.ContestedFunds.Currency != d.DisputedFunds.Currency || in.ContestedFunds.Amount < 1 || in.ContestedFunds.Amount > d.DisputedFunds.Amount:
		return s.paramError(map[string]string{"ContestedFunds": "The contested funds must be 1 to the disputed amount, in its currency."})
	}
	d.Status, d.ContestedFunds = "SUBMITTED", &in.ContestedFunds
	s.event("DISPUTE_SUBMITTED", d.ID)
	return ok(d)
}

// closeDispute serves PUT /disputes/{id}/close with an empty body (api-reference/disputes/
// close-dispute.mdx): the platform accepts the loss of a dispute waiting for it.
func (s *Server) closeDispute(p params, _ []byte) reply {
	d, found := s.disputes[p[0]]
	if !found {
		return s.notFound()
	}
	if !openForEvidence(d) {
		return s.paramError(map[string]string{"Status": "The dispute cannot be closed in status " + d.Status + "."})
	}
	s.closeDisputeAs(d, "LOST")
	return ok(d)
}

// disputeDocument is a dispute document (api-reference/dispute-documents/dispute-document-object.mdx).
type disputeDocument struct {
	ID                   string  `json:"Id"`
	Type                 string  `json:"Type"`
	DisputeID            string  `json:"DisputeId"`
	Status               string  `json:"Status"`
	RefusedReasonType    *string `json:"RefusedReasonType"`
	RefusedReasonMessage *string `json:"RefusedReasonMessage"`
	ProcessedDate        *int64  `json:"ProcessedDate"`
	CreationDate         int64   `json:"CreationDate"`
	Tag                  string  `json:"Tag"`

	pages [][]byte
}

// createDisputeDocument serves POST /disputes/{id}/documents {Type, Tag} for a dispute waiting
// for evidence.
func (s *Server) createDisputeDocument(p params, body []byte) reply {
	d, found := s.disputes[p[0]]
	if !found {
		return s.notFound()
	}
	if !openForEvidence(d) {
		return s.paramError(map[string]string{"Status": "The dispute does not accept documents in status " + d.Status + "."})
	}
	doc := decode[disputeDocument](body)
	doc.ID, doc.DisputeID, doc.Status, doc.CreationDate = s.newID("dispdoc_m_"), d.ID, "CREATED", s.now()
	s.documents[doc.ID] = &doc
	s.created["disputedocuments"]++
	s.event("DISPUTE_DOCUMENT_CREATED", doc.ID)
	return created(&doc)
}

func (s *Server) getDisputeDocument(p params, _ []byte) reply {
	doc, found := s.documents[p[0]]
	if !found {
		return s.notFound()
	}
	return ok(doc)
}

// maxPageBytes is a page's size limit (create-dispute-document-page.mdx: "a maximum size of 10MB").
const maxPageBytes = 10 << 20

// documentOf finds the document p[1] of dispute p[0]; callers hold mu.
func (s *Server) documentOf(p params) (*disputeDocument, bool) {
	doc, found := s.documents[p[1]]
	if !found || doc.DisputeID != p[0] {
		return nil, false
	}
	return doc, true
}

// createDisputeDocumentPage serves POST /disputes/{id}/documents/{id}/pages {File}
// (api-reference/dispute-documents/create-dispute-document-page.mdx): the document must be
// CREATED and File a base64-encoded file of at most 10 MB; MangoPay answers 204 without a body.
func (s *Server) createDisputeDocumentPage(p params, body []byte) reply {
	doc, found := s.documentOf(p)
	if !found {
		return s.notFound()
	}
	if doc.Status != "CREATED" {
		return s.paramError(map[string]string{"Status": "Pages can only be added to a CREATED document."})
	}
	file, err := base64.StdEncoding.DecodeString(decode[struct{ File string }](body).File)
	if err != nil || len(file) == 0 || len(file) > maxPageBytes {
		return s.paramError(map[string]string{"File": "The File must be a base64 encoded file of at most 10MB."})
	}
	doc.pages = append(doc.pages, file)
	s.created["disputepages"]++
	return noContent()
}

// submitDisputeDocument serves PUT /disputes/{id}/documents/{id} {"Status": "VALIDATION_ASKED"}
// (api-reference/dispute-documents/submit-dispute-document.mdx) for a CREATED document.
func (s *Server) submitDisputeDocument(p params, body []byte) reply {
	doc, found := s.documentOf(p)
	if !found {
		return s.notFound()
	}
	if doc.Status != "CREATED" {
		return s.paramError(map[string]string{"Status": "The document has already been submitted."})
	}
	if t := decode[struct{ Tag *string }](body).Tag; t != nil {
		doc.Tag = *t
	}
	doc.Status = "VALIDATION_ASKED"
	s.event("DISPUTE_DOCUMENT_VALIDATION_ASKED", doc.ID)
	return ok(doc)
}

// DisputeDocuments returns the documents of a dispute: their Type, Status and pages.
func (s *Server) DisputeDocuments(disputeID string) []DisputeDocument {
	s.mu.Lock()
	defer s.mu.Unlock()
	var docs []*disputeDocument
	for _, doc := range s.documents {
		if doc.DisputeID == disputeID {
			docs = append(docs, doc)
		}
	}
	sortByID(docs, func(d *disputeDocument) string { return d.ID })
	out := make([]DisputeDocument, len(docs))
	for i, doc := range docs {
		out[i] = DisputeDocument{ID: doc.ID, Type: doc.Type, Status: doc.Status, Pages: append([][]byte(nil), doc.pages...)}
	}
	return out
}

// DisputeDocument is what DisputeDocuments tells of a document.
type DisputeDocument struct {
	ID     string
	Type   string // "DELIVERY_PROOF"...
	Status string // "CREATED", "VALIDATION_ASKED"
	Pages  [][]byte
}

type settlementRequest struct {
	AuthorID     string `json:"AuthorId"`
	DebitedFunds money  `json:"DebitedFunds"`
	Fees         money  `json:"Fees"`
	Tag          string `json:"Tag"`
}

// createSettlement serves POST /repudiations/{id}/settlementtransfer
// (api-reference/dispute-settlement/create-settlement-transfer.mdx): from the wallet the disputed
// pay-in credited to the repudiation wallet (CREDIT_EUR); AuthorId is the pay-in's author. Refusals
// are FAILED settlements: 003012 already settled, 003010 more than the repudiation, 003011 more
// fees, 001001 insufficient balance.
func (s *Server) createSettlement(p params, body []byte) reply {
	r, found := s.repudiations[p[0]]
	if !found {
		return s.notFound()
	}
	in := decode[settlementRequest](body)
	if in.AuthorID != r.AuthorID {
		return s.paramError(map[string]string{"AuthorId": "The AuthorId must be the author of the initial transaction."})
	}
	if in.DebitedFunds.Currency != r.DebitedFunds.Currency || in.Fees.Currency != r.DebitedFunds.Currency {
		return s.apiError(http.StatusBadRequest, "currency_incompatibility", "The currency must be the initial transaction's", nil)
	}
	pi := s.payIns[r.InitialTransactionID]
	t := &transfer{
		ID: s.newID("settle_m_"), Status: "CREATED", AuthorID: in.AuthorID, DebitedFunds: in.DebitedFunds, Fees: in.Fees,
		CreditedFunds:   money{Currency: in.DebitedFunds.Currency, Amount: in.DebitedFunds.Amount - in.Fees.Amount},
		DebitedWalletID: pi.CreditedWalletID, CreditedWalletID: repudiationWallet, Type: "TRANSFER", Nature: "SETTLEMENT",
		RepudiationID: r.ID, CreationDate: s.now(), Tag: in.Tag,
	}
	s.transfers[t.ID] = t
	s.created["settlements"]++
	s.event("TRANSFER_SETTLEMENT_CREATED", t.ID)
	switch {
	case r.settled >= r.DebitedFunds.Amount:
		t.fail("003012", "The repudiation has already been successfully settled")
	case r.settled+in.DebitedFunds.Amount > r.DebitedFunds.Amount:
		t.fail("003010", "The total DebitedFunds settled cannot exceed the initial transaction DebitedFunds available for settlement")
	case in.Fees.Amount > pi.Fees.Amount:
		t.fail("003011", "The total Fees settled cannot exceed the initial transaction Fees available for settlement")
	case s.balance(t.DebitedWalletID) < in.DebitedFunds.Amount:
		t.fail("001001", "Unsufficient wallet balance")
	default:
		r.settled += in.DebitedFunds.Amount
		s.credit(t.DebitedWalletID, -in.DebitedFunds.Amount)
		s.credit(repudiationWallet, t.CreditedFunds.Amount)
		s.credit(feesWalletID, in.Fees.Amount)
		t.Status, t.ResultCode, t.ResultMessage, t.ExecutionDate = "SUCCEEDED", "000000", "Success", ptr(s.now())
	}
	s.event("TRANSFER_SETTLEMENT_"+t.Status, t.ID)
	return created(t)
}

func (s *Server) getSettlement(p params, _ []byte) reply {
	t, found := s.transfers[p[0]]
	if !found || t.Nature != "SETTLEMENT" {
		return s.notFound()
	}
	return ok(t)
}
