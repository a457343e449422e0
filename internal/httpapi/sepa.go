package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payouts"
	"github.com/vhupay/vhupay/internal/scoring"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/validation"
)

// SandboxScores sets the sandbox score partner's answers (sandbox mode only); app adapts the
// sandbox partner to it. Errors: scoring.ErrInvalidScore.
type SandboxScores interface {
	Set(ctx context.Context, siren string, a SandboxAnswer) (SandboxAnswer, error)
}

// SandboxAnswer is what the sandbox score partner answers for a SIREN: a score, or unavailable.
type SandboxAnswer struct {
	Value       int
	Unavailable bool
}

var sepaErrors = []errorMapping{
	{sepa.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{sepa.ErrBankAccountExists, http.StatusConflict, "bank_account_exists", "Bank account exists"},
	{sepa.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
	{sepa.ErrRateLimited, http.StatusTooManyRequests, "rate_limited", "Rate limited"},
	{sepa.ErrScoreUnavailable, http.StatusBadGateway, "score_unavailable", "Score unavailable"},
	{sepa.ErrCompanyUnknown, http.StatusBadGateway, "score_unavailable", "Score unavailable"},
	{scoring.ErrInvalidScore, http.StatusUnprocessableEntity, "validation_failed", "Validation failed"},
}

// routeSEPA registers bank accounts, mandates, the SEPA profile, its ceiling and score checks.
func (s *Server) routeSEPA(v1 *gin.RouterGroup) {
	buyer := s.allow(auth.RoleBuyer)
	buyerOrAdmin := s.allow(auth.RoleBuyer, auth.RoleAdmin)
	admin := s.allow(auth.RoleAdmin)
	// A centre's bank account is its payout account (payouts.go).
	accountHolder := s.allow(auth.RoleBuyer, auth.RoleCenter)
	v1.POST("/bank-accounts", accountHolder, s.createBankAccount)
	v1.GET("/bank-accounts", s.allow(auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin), s.listBankAccounts)
	v1.GET("/bank-accounts/:id", s.allow(auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin), s.getBankAccount)
	v1.POST("/bank-accounts/:id/default", buyer, s.setDefaultBankAccount)
	v1.DELETE("/bank-accounts/:id", buyer, s.deleteBankAccount)
	v1.POST("/bank-accounts/:id/mandates", buyer, s.createMandate)
	v1.GET("/mandates", buyerOrAdmin, s.listMandates)
	v1.GET("/mandates/:id", buyerOrAdmin, s.getMandate)
	v1.POST("/mandates/:id/cancel", buyerOrAdmin, s.cancelMandate)

	v1.GET("/sepa", buyer, s.getOwnSEPAProfile)
	v1.GET("/buyers/:id/sepa", s.allow(auth.RoleAdmin, auth.RoleService), s.getSEPAProfile)
	v1.GET("/sepa/ceiling-changes", buyer, s.listOwnCeilingChanges)
	v1.GET("/buyers/:id/sepa/ceiling-changes", admin, s.listCeilingChanges)
	v1.PUT("/admin/buyers/:id/sepa-ceiling", admin, s.setSEPACeiling)
	v1.POST("/admin/buyers/:id/sepa-reinstatement", admin, s.reinstateSEPA)
	v1.POST("/sepa/score-checks", s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService), s.createScoreCheck)
	if s.sandboxScores != nil {
		v1.PUT("/sandbox/scores/:siren", admin, s.putSandboxScore)
	}
}

// BankAccountRequest adds a bank account.
type BankAccountRequest struct {
	OwnerName    string  `json:"owner_name" binding:"required" validate:"required,min=1,max=100" example:"Garage Martin SARL"`
	OwnerAddress Address `json:"owner_address" binding:"required" validate:"required"`
	// IBAN of a SEPA country, spaces allowed; sent to the payment provider, never stored.
	IBAN string `json:"iban" binding:"required" validate:"required,max=128" example:"FR76 3000 6000 0112 3456 7890 189"`
	BIC  string `json:"bic,omitempty" validate:"max=20" example:"AGRIFRPP"`
} //	@name	BankAccountRequest

// BankAccount is a buyer's bank account, or a centre's payout account (its active one is its
// default); the full IBAN is never returned.
type BankAccount struct {
	ID         string    `json:"id" binding:"required" example:"ba_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	OwnerName  string    `json:"owner_name" binding:"required"`
	Country    string    `json:"country" binding:"required" example:"FR"`
	IBANLast4  string    `json:"iban_last4" binding:"required" example:"0189"`
	MaskedIBAN string    `json:"masked_iban" binding:"required" example:"FR76 **** **** **** **** ***0 189"`
	BIC        *string   `json:"bic" binding:"required" extensions:"x-nullable" example:"AGRIFRPP"`
	Status     string    `json:"status" binding:"required" enums:"active,inactive"`
	IsDefault  bool      `json:"is_default" binding:"required"`
	CreatedAt  time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	BankAccount

// BankAccountList is a page of bank accounts.
type BankAccountList struct {
	Data []BankAccount `json:"data" binding:"required"`
	listMeta
} //	@name	BankAccountList

// MandateRequest starts a mandate.
type MandateRequest struct {
	// ReturnURL is where the provider sends the browser back, with mandate_id=<id> added:
	// https, or http on localhost/127.0.0.1; no fragment; at most 170 characters.
	ReturnURL string `json:"return_url" binding:"required" validate:"required" example:"https://shop.example/sepa/return"`
} //	@name	MandateRequest

// Mandate is a SEPA direct-debit mandate on a bank account.
type Mandate struct {
	ID            string `json:"id" binding:"required" example:"mdt_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	BankAccountID string `json:"bank_account_id" binding:"required"`
	Status        string `json:"status" binding:"required" enums:"pending_signature,submitted,active,failed,expired,cancelled"`
	// Reference is the bank's mandate reference (RUM), null until the provider gives one.
	Reference *string `json:"reference" binding:"required" extensions:"x-nullable"`
	// SignatureURL is the provider's e-signature page.
	SignatureURL string    `json:"signature_url" binding:"required"`
	ReturnURL    string    `json:"return_url" binding:"required"`
	CreatedAt    time.Time `json:"created_at" binding:"required" format:"date-time"`
	UpdatedAt    time.Time `json:"updated_at" binding:"required" format:"date-time"`
} //	@name	Mandate

// MandateList is a page of mandates.
type MandateList struct {
	Data []Mandate `json:"data" binding:"required"`
	listMeta
} //	@name	MandateList

// SEPAScore is the buyer's latest financial score.
type SEPAScore struct {
	Value     int       `json:"value" binding:"required" example:"14"`
	Scale     int       `json:"scale" binding:"required" example:"20"`
	Minimum   int       `json:"minimum" binding:"required" example:"10"`
	CheckedAt time.Time `json:"checked_at" binding:"required" format:"date-time"`
} //	@name	SEPAScore

// SEPAProfile is a buyer's SEPA standing ("Gestion des prélèvements").
type SEPAProfile struct {
	// Enabled is true exactly when reasons is empty.
	Enabled bool `json:"enabled" binding:"required"`
	// Reasons why SEPA is refused, in this order: no_bank_account, no_active_mandate, no_score,
	// score_below_minimum, score_unavailable, unpaid_debit.
	Reasons []string `json:"reasons" binding:"required" enums:"no_bank_account,no_active_mandate,no_score,score_below_minimum,score_unavailable,unpaid_debit"`
	// Ceiling of the SEPA payments of a month, in cents.
	Ceiling int64 `json:"ceiling" binding:"required" example:"25000"`
	// Outstanding is the sum of the SEPA payments accepted this month (the "encours"), in cents.
	Outstanding int64 `json:"outstanding" binding:"required" example:"0"`
	// Available is ceiling − outstanding, never below 0 (the "solde"), in cents.
	Available int64  `json:"available" binding:"required" example:"25000"`
	Currency  string `json:"currency" binding:"required" example:"EUR"`
	// Month is the current Europe/Paris month.
	Month string     `json:"month" binding:"required" example:"2026-11"`
	Score *SEPAScore `json:"score" binding:"required" extensions:"x-nullable"`
	// DefaultMandateID is the mandate SEPA payments use: the newest submitted or active mandate
	// of the default bank account.
	DefaultMandateID *string `json:"default_mandate_id" binding:"required" extensions:"x-nullable"`
	Suspended        bool    `json:"suspended" binding:"required"`
	// ProbationUntil ends the probation (3 months from the first signed mandate or the last
	// reinstatement); null before any signed mandate.
	ProbationUntil *time.Time `json:"probation_until" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	SEPAProfile

// CeilingChange is one change of a buyer's SEPA ceiling.
type CeilingChange struct {
	From      int64     `json:"from" binding:"required" example:"0"`
	To        int64     `json:"to" binding:"required" example:"25000"`
	Reason    string    `json:"reason" binding:"required" enums:"initial,monthly_review,unpaid_reset,manual"`
	Note      string    `json:"note" binding:"required"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	CeilingChange

// CeilingChangeList is a page of ceiling changes, newest first.
type CeilingChangeList struct {
	Data []CeilingChange `json:"data" binding:"required"`
	listMeta
} //	@name	CeilingChangeList

// CeilingRequest is an operator's override of a buyer's SEPA ceiling.
type CeilingRequest struct {
	// Amount is the new ceiling in cents, 0 to 100,000,000.
	Amount *int64 `json:"amount" binding:"required" validate:"required" example:"50000"`
	// Note says why (kept with the change).
	Note string `json:"note" binding:"required" validate:"required,min=1,max=500" example:"Bank guarantee received"`
} //	@name	CeilingRequest

// ScoreCheckRequest asks for a score check. A buyer sends {} (or no body); an operator or a
// service names the buyer.
type ScoreCheckRequest struct {
	BuyerID string `json:"buyer_id,omitempty" validate:"max=64" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
} //	@name	ScoreCheckRequest

// ScoreCheck is the result of a score check.
type ScoreCheck struct {
	Value     int       `json:"value" binding:"required" example:"14"`
	Scale     int       `json:"scale" binding:"required" example:"20"`
	CheckedAt time.Time `json:"checked_at" binding:"required" format:"date-time"`
} //	@name	ScoreCheck

// SandboxScoreRequest sets what the sandbox score partner answers for a SIREN: a value, or
// unavailable.
type SandboxScoreRequest struct {
	Value       *int `json:"value,omitempty" validate:"omitempty,min=0,max=20" example:"8"`
	Unavailable bool `json:"unavailable,omitempty"`
} //	@name	SandboxScoreRequest

// SandboxScore is what the sandbox score partner will answer for a SIREN.
type SandboxScore struct {
	SIREN string `json:"siren" binding:"required" example:"812345676"`
	// Value is null when the partner is made unavailable.
	Value       *int `json:"value" binding:"required" extensions:"x-nullable" example:"8"`
	Unavailable bool `json:"unavailable" binding:"required"`
} //	@name	SandboxScore

func toBankAccount(a sepa.BankAccount) BankAccount {
	out := BankAccount{ID: a.ID, OwnerName: a.OwnerName, Country: a.Country, IBANLast4: a.Last4, MaskedIBAN: a.MaskedIBAN,
		Status: "inactive", IsDefault: a.IsDefault, CreatedAt: a.CreatedAt}
	if a.Active {
		out.Status = "active"
	}
	if a.BIC != "" {
		bic := a.BIC
		out.BIC = &bic
	}
	return out
}

func toMandate(m sepa.Mandate) Mandate {
	out := Mandate{ID: m.ID, BankAccountID: m.BankAccountID, Status: string(m.Status), SignatureURL: m.SignatureURL,
		ReturnURL: m.ReturnURL, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.Reference != "" {
		ref := m.Reference
		out.Reference = &ref
	}
	return out
}

func toSEPAProfile(e sepa.Eligibility) SEPAProfile {
	out := SEPAProfile{Enabled: e.Enabled(), Reasons: e.Reasons, Ceiling: e.Ceiling, Outstanding: e.Outstanding,
		Available: e.Available, Currency: "EUR", Month: e.Month, Suspended: e.Suspended}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if e.Score != nil {
		out.Score = &SEPAScore{Value: e.Score.Value, Scale: scoring.Scale, Minimum: e.ScoreMinimum, CheckedAt: e.Score.CheckedAt}
	}
	if e.DefaultMandateID != "" {
		id := e.DefaultMandateID
		out.DefaultMandateID = &id
	}
	if !e.ProbationUntil.IsZero() {
		t := e.ProbationUntil
		out.ProbationUntil = &t
	}
	return out
}

// createBankAccount godoc
//
//	@Summary		Add a bank account
//	@ID			createBankAccount
//	@Description	Buyer or centre. The IBAN is checked (SEPA country, length per country, mod 97: 422 on `iban` with the reason; a BIC, when given, on `bic`), registered at the payment provider and never stored, logged or returned. A buyer's account: the same IBAN as one of the buyer's active accounts answers 409 bank_account_exists (a deleted account's IBAN may be added again); the buyer's first active account becomes its default; a mandate must then be signed on it. A centre's account is its payout account, with no mandate: a centre has at most one active account, and adding another makes the previous one inactive (the same IBAN as the active one answers 409 bank_account_exists); the sandbox enables the centre's payouts (payouts_enabled) with it. With the MangoPay provider the legal representative must be set first (PATCH /v1/buyers/{id} or /v1/centers/{id}): 409 legal_representative_required otherwise.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		BankAccountRequest	true	"The bank account"
//	@Success		201				{object}	BankAccount
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,404,409,413,422,502	{object}	Problem
//	@Router			/v1/bank-accounts [post]
func (s *Server) createBankAccount(c *gin.Context) {
	var req BankAccountRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	if principal(c).Role == auth.RoleCenter {
		a, err := s.payouts.AddAccount(c.Request.Context(), principal(c), payouts.NewAccount{
			OwnerName: req.OwnerName, OwnerAddress: fromAddress(req.OwnerAddress), IBAN: req.IBAN, BIC: req.BIC,
		})
		if err != nil {
			s.writeError(c, err)
			return
		}
		created(c, "/v1/bank-accounts/"+a.ID, toPayoutAccount(a))
		return
	}
	a, err := s.sepa.AddBankAccount(c.Request.Context(), principal(c), sepa.NewBankAccount{
		OwnerName: req.OwnerName, OwnerAddress: fromAddress(req.OwnerAddress), IBAN: req.IBAN, BIC: req.BIC,
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/bank-accounts/"+a.ID, toBankAccount(a))
}

// listBankAccounts godoc
//
//	@Summary		List bank accounts
//	@ID			listBankAccounts
//	@Description	Newest first, deleted (inactive) ones included. A buyer sees its own, a centre its payout accounts; an admin those of `buyer_id`, the payout accounts of `center_id`, or every buyer's without either.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			buyer_id	query		string	false	"Operators: the buyer whose accounts to list"
//	@Param			center_id	query		string	false	"Operators: the centre whose payout accounts to list"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	BankAccountList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/bank-accounts [get]
func (s *Server) listBankAccounts(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if who := principal(c); who.Role == auth.RoleCenter || (who.Privileged() && c.Query("center_id") != "") {
		res, err := s.payouts.Accounts(c.Request.Context(), who, c.Query("center_id"), p)
		if err != nil {
			s.writeError(c, err)
			return
		}
		out := BankAccountList{Data: make([]BankAccount, len(res.Items)), listMeta: metaOf(res)}
		for i, a := range res.Items {
			out.Data[i] = toPayoutAccount(a)
		}
		c.JSON(http.StatusOK, out)
		return
	}
	res, err := s.sepa.BankAccounts(c.Request.Context(), principal(c), c.Query("buyer_id"), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := BankAccountList{Data: make([]BankAccount, len(res.Items)), listMeta: metaOf(res)}
	for i, a := range res.Items {
		out.Data[i] = toBankAccount(a)
	}
	c.JSON(http.StatusOK, out)
}

// getBankAccount godoc
//
//	@Summary	Get a bank account
//	@ID		getBankAccount
//	@Description	The full IBAN is never returned: masked_iban and iban_last4 only. A buyer reads its own accounts, a centre its payout accounts (another's answers 404); an admin any.
//	@Tags		bank accounts
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		string	true	"Bank account id"
//	@Success	200	{object}	BankAccount
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/bank-accounts/{id} [get]
func (s *Server) getBankAccount(c *gin.Context) {
	who := principal(c)
	if who.Role != auth.RoleBuyer {
		pa, err := s.payouts.Account(c.Request.Context(), who, c.Param("id"))
		if err == nil {
			c.JSON(http.StatusOK, toPayoutAccount(pa))
			return
		}
		if who.Role == auth.RoleCenter || !errors.Is(err, payouts.ErrNotFound) {
			s.writeError(c, err)
			return
		}
	}
	a, err := s.sepa.BankAccount(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBankAccount(a))
}

// setDefaultBankAccount godoc
//
//	@Summary		Make a bank account the default
//	@ID			setDefaultBankAccount
//	@Description	Buyer only. The account becomes the buyer's only default, atomically; SEPA payments use its mandate. A deleted account answers 409 invalid_transition.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Bank account id"
//	@Success		200				{object}	BankAccount
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/bank-accounts/{id}/default [post]
func (s *Server) setDefaultBankAccount(c *gin.Context) {
	a, err := s.sepa.SetDefaultBankAccount(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBankAccount(a))
}

// deleteBankAccount godoc
//
//	@Summary		Delete a bank account
//	@ID			deleteBankAccount
//	@Description	Buyer only. Its signed mandates are cancelled at the provider, the account is deactivated there, then it becomes `inactive` here with its mandates `cancelled`. When it was the default, the newest other active account becomes the default. Deleting a deleted account answers 204 again. A provider outage answers 502 and changes nothing here.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		application/problem+json
//	@Param			id	path	string	true	"Bank account id"
//	@Success		204
//	@Failure		401,403,404,413,502	{object}	Problem
//	@Router			/v1/bank-accounts/{id} [delete]
func (s *Server) deleteBankAccount(c *gin.Context) {
	if err := s.sepa.DeleteBankAccount(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// createMandate godoc
//
//	@Summary		Start a mandate on a bank account
//	@ID			createMandate
//	@Description	Buyer only. Answers the mandate `pending_signature` with `signature_url`, the provider's e-signature page, where the browser goes; the provider then returns it to `return_url` with `mandate_id=<id>` added to its query. A deleted account answers 409 invalid_transition.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string			true	"Bank account id"
//	@Param			body			body		MandateRequest	true	"Where to return"
//	@Success		201				{object}	Mandate
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,404,409,413,422,502	{object}	Problem
//	@Router			/v1/bank-accounts/{id}/mandates [post]
func (s *Server) createMandate(c *gin.Context) {
	var req MandateRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	if err := s.checkReturnURL("return_url", req.ReturnURL); err != nil {
		s.writeError(c, err)
		return
	}
	m, err := s.sepa.CreateMandate(c.Request.Context(), principal(c), c.Param("id"), req.ReturnURL)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/mandates/"+m.ID, toMandate(m))
}

// listMandates godoc
//
//	@Summary		List mandates
//	@ID			listMandates
//	@Description	Newest first. A buyer sees its own; an operator those of `buyer_id`, or every buyer's without it. Mandates waiting for their signature are refreshed from the provider first.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			buyer_id	query		string	false	"Operators: the buyer whose mandates to list"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	MandateList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/mandates [get]
func (s *Server) listMandates(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.sepa.Mandates(c.Request.Context(), principal(c), c.Query("buyer_id"), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := MandateList{Data: make([]Mandate, len(res.Items)), listMeta: metaOf(res)}
	for i, m := range res.Items {
		out.Data[i] = toMandate(m)
	}
	c.JSON(http.StatusOK, out)
}

// getMandate godoc
//
//	@Summary		Get a mandate
//	@ID			getMandate
//	@Description	A mandate waiting for its signature is refreshed from the provider first (its stored state is answered when the provider does not answer).
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Mandate id"
//	@Success		200	{object}	Mandate
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/mandates/{id} [get]
func (s *Server) getMandate(c *gin.Context) {
	m, err := s.sepa.Mandate(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toMandate(m))
}

// cancelMandate godoc
//
//	@Summary		Cancel a mandate
//	@ID			cancelMandate
//	@Description	A signed mandate is cancelled at the provider first. Answers the mandate `cancelled` (also when it already was); a mandate that failed or expired answers 409 invalid_transition.
//	@Tags			bank accounts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Mandate id"
//	@Success		200				{object}	Mandate
//	@Failure		401,403,404,409,413,422,502	{object}	Problem
//	@Router			/v1/mandates/{id}/cancel [post]
func (s *Server) cancelMandate(c *gin.Context) {
	m, err := s.sepa.CancelMandate(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toMandate(m))
}

// getOwnSEPAProfile godoc
//
//	@Summary		The caller's SEPA profile
//	@ID			getSepaProfile
//	@Description	Buyer only. Whether the buyer may pay by SEPA (`enabled`, else `reasons`), its ceiling, this month's outstanding and what is available, its score, the mandate used and its suspension and probation. The profile starts, with the initial ceiling, at its first use.
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Success		200	{object}	SEPAProfile
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/sepa [get]
func (s *Server) getOwnSEPAProfile(c *gin.Context) {
	s.writeSEPAProfile(c, "")
}

// getSEPAProfile godoc
//
//	@Summary	A buyer's SEPA profile
//	@ID		getBuyerSepaProfile
//	@Description	Admin and service: the SEPA profile of buyer {id}, as GET /v1/sepa shows it to the buyer.
//	@Tags		sepa
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		string	true	"Buyer id"
//	@Success	200	{object}	SEPAProfile
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/buyers/{id}/sepa [get]
func (s *Server) getSEPAProfile(c *gin.Context) {
	s.writeSEPAProfile(c, c.Param("id"))
}

func (s *Server) writeSEPAProfile(c *gin.Context, buyerID string) {
	e, err := s.sepa.Profile(c.Request.Context(), principal(c), buyerID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toSEPAProfile(e))
}

// listOwnCeilingChanges godoc
//
//	@Summary	The caller's SEPA ceiling changes
//	@ID		listSepaCeilingChanges
//	@Description	Buyer: every change of its SEPA ceiling with its reason (initial, monthly_review, unpaid_reset, manual), newest first.
//	@Tags		sepa
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	CeilingChangeList
//	@Failure	401,403,404,422	{object}	Problem
//	@Router		/v1/sepa/ceiling-changes [get]
func (s *Server) listOwnCeilingChanges(c *gin.Context) {
	s.writeCeilingChanges(c, "")
}

// listCeilingChanges godoc
//
//	@Summary	A buyer's SEPA ceiling changes
//	@ID		listBuyerSepaCeilingChanges
//	@Description	Admin: the ceiling changes of buyer {id}, newest first.
//	@Tags		sepa
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id		path		string	true	"Buyer id"
//	@Param		limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	CeilingChangeList
//	@Failure	401,403,404,422	{object}	Problem
//	@Router		/v1/buyers/{id}/sepa/ceiling-changes [get]
func (s *Server) listCeilingChanges(c *gin.Context) {
	s.writeCeilingChanges(c, c.Param("id"))
}

func (s *Server) writeCeilingChanges(c *gin.Context, buyerID string) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.sepa.CeilingChanges(c.Request.Context(), principal(c), buyerID, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := CeilingChangeList{Data: make([]CeilingChange, len(res.Items)), listMeta: metaOf(res)}
	for i, ch := range res.Items {
		out.Data[i] = CeilingChange{From: ch.From, To: ch.To, Reason: ch.Reason, Note: ch.Note, CreatedAt: ch.CreatedAt}
	}
	c.JSON(http.StatusOK, out)
}

// setSEPACeiling godoc
//
//	@Summary		Override a buyer's SEPA ceiling
//	@ID			setSepaCeiling
//	@Description	Admin only. Sets the ceiling (0 to 100,000,000 cents) and records a change with reason `manual` and the note. Answers the SEPA profile. Audited (sepa.ceiling_override, see GET /v1/admin/audit-events).
//	@Tags			sepa
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string			true	"Buyer id"
//	@Param			body	body		CeilingRequest	true	"The new ceiling"
//	@Success		200		{object}	SEPAProfile
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/admin/buyers/{id}/sepa-ceiling [put]
func (s *Server) setSEPACeiling(c *gin.Context) {
	var req CeilingRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	e, err := s.sepa.SetCeiling(ctx, principal(c), c.Param("id"), *req.Amount, req.Note)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toSEPAProfile(e))
}

// reinstateSEPA godoc
//
//	@Summary		Lift a buyer's unpaid-debit suspension
//	@ID			reinstateSepa
//	@Description	Admin only, once the debt is settled. The ceiling goes back to the initial value (a change with reason `unpaid_reset` is recorded even when it already had that value) and a new probation starts. A buyer that is not suspended answers 409 invalid_transition. Audited (sepa.reinstatement, see GET /v1/admin/audit-events).
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Buyer id"
//	@Success		200				{object}	SEPAProfile
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/admin/buyers/{id}/sepa-reinstatement [post]
func (s *Server) reinstateSEPA(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	e, err := s.sepa.Reinstate(ctx, principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toSEPAProfile(e))
}

// createScoreCheck godoc
//
//	@Summary		Run a score check now
//	@ID			createScoreCheck
//	@Description	A buyer checks its own score (body `{}` or none) and may obtain one score per rolling 24 hours: before that, 429 rate_limited with `Retry-After` (seconds); a check the partner could not answer does not count. An operator or a service names the buyer (`buyer_id`) and is not limited. When the partner cannot answer: 502 score_unavailable, and the attempt is recorded (it extends the last score's grace period to 45 days).
//	@Tags			sepa
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		ScoreCheckRequest	false	"The buyer (operators and services)"
//	@Success		201				{object}	ScoreCheck
//	@Failure		401,403,404,409,413,422,502	{object}	Problem
//	@Failure		429				{object}	Problem
//	@Header			429				{integer}	Retry-After	"Seconds to wait"
//	@Router			/v1/sepa/score-checks [post]
func (s *Server) createScoreCheck(c *gin.Context) {
	var req ScoreCheckRequest
	if len(bodyOf(c)) > 0 {
		if err := s.bind(c, &req); err != nil {
			s.writeError(c, err)
			return
		}
	}
	who := principal(c)
	if who.Role != auth.RoleBuyer && req.BuyerID == "" {
		s.writeError(c, validation.Field("buyer_id", "required", "is required for operators and services"))
		return
	}
	sc, err := s.sepa.RequestScoreCheck(c.Request.Context(), who, req.BuyerID)
	var limited *sepa.RateLimitedError
	if errors.As(err, &limited) {
		c.Header("Retry-After", strconv.FormatInt(int64(math.Ceil(limited.RetryAfter.Seconds())), 10))
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "", ScoreCheck{Value: sc.Value, Scale: scoring.Scale, CheckedAt: sc.CheckedAt})
}

// putSandboxScore godoc
//
//	@Summary		Set the sandbox score partner's answer for a SIREN
//	@ID			setSandboxScore
//	@Description	Admin only, sandbox mode only (404 otherwise). `{"value": 8}` sets the score it answers; `{"unavailable": true}` makes it fail for that SIREN (as an outage). Without a setting it answers 14.
//	@Tags			sandbox
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			siren	path		string				true	"SIREN (9 digits)"
//	@Param			body	body		SandboxScoreRequest	true	"The answer"
//	@Success		200		{object}	SandboxScore
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/sandbox/scores/{siren} [put]
func (s *Server) putSandboxScore(c *gin.Context) {
	var req SandboxScoreRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	siren := c.Param("siren")
	switch {
	case !parties.ValidSIREN(siren):
		s.writeError(c, validation.Field("siren", "siren", "must be 9 digits with a valid Luhn check digit"))
		return
	case req.Unavailable == (req.Value != nil):
		s.writeError(c, validation.Field("body", "oneof", `give either "value" (0 to 20) or "unavailable": true`))
		return
	}
	in := SandboxAnswer{Unavailable: req.Unavailable}
	if req.Value != nil {
		in.Value = *req.Value
	}
	a, err := s.sandboxScores.Set(c.Request.Context(), siren, in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := SandboxScore{SIREN: siren, Unavailable: a.Unavailable}
	if !a.Unavailable {
		v := a.Value
		out.Value = &v
	}
	c.JSON(http.StatusOK, out)
}
