package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/payouts"
)

// routes of payouts (the centres' payout accounts are under /v1/bank-accounts, sepa.go).
func (s *Server) routePayouts(v1 *gin.RouterGroup) {
	money := s.allow(auth.RoleCenter, auth.RoleAdmin, auth.RoleService)
	v1.POST("/payouts", money, s.createPayout)
	v1.GET("/payouts", money, s.listPayouts)
	v1.GET("/payouts/:id", money, s.getPayout)
}

var payoutErrors = []errorMapping{
	{payouts.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{payouts.ErrInsufficientBalance, http.StatusConflict, "insufficient_balance", "Insufficient balance"},
	{payouts.ErrNoPayoutAccount, http.StatusConflict, "no_payout_account", "No payout account"},
	{payouts.ErrAccountExists, http.StatusConflict, "bank_account_exists", "Bank account exists"},
	{payouts.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
}

// PayoutRequest pays a centre out.
type PayoutRequest struct {
	// Amount in cents; default: all of the centre's available balance.
	Amount *int64 `json:"amount,omitempty" validate:"omitempty,min=1" minimum:"1" example:"11400"`
	// CenterID is the centre to pay out: required for admin and service, the caller itself for a
	// centre (another centre's answers 404).
	CenterID string `json:"center_id,omitempty" validate:"max=64" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
} //	@name	PayoutRequest

// Payout moves money from a centre's balance to its payout bank account.
type Payout struct {
	ID       string `json:"id" binding:"required" example:"po_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	CenterID string `json:"center_id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Amount in cents.
	Amount   int64  `json:"amount" binding:"required" example:"11400"`
	Currency string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
	// BankAccountID is the centre's payout account the money goes to.
	BankAccountID string `json:"bank_account_id" binding:"required" example:"ba_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Status: pending (the balance is debited, the money is on its way), paid (the bank
	// confirmed), failed (the bank refused it: the money is back in available), returned (the bank
	// sent it back after it was paid: the money is back in available).
	Status string `json:"status" binding:"required" enums:"pending,paid,failed,returned" example:"pending"`
	// FailureCode says why a payout failed or was returned: account_closed, provider_error.
	FailureCode *string `json:"failure_code" binding:"required" extensions:"x-nullable" example:"account_closed"`
	// Automatic is true for the Monday payouts vhupay makes on its own.
	Automatic bool `json:"automatic" binding:"required"`
	// ArrivalDate is the day (Paris) the money is expected in the bank, or arrived once paid.
	ArrivalDate string    `json:"arrival_date" binding:"required" format:"date" example:"2026-12-08"`
	CreatedAt   time.Time `json:"created_at" binding:"required" format:"date-time"`
	UpdatedAt   time.Time `json:"updated_at" binding:"required" format:"date-time"`
} //	@name	Payout

// PayoutList is a page of payouts, newest first.
type PayoutList struct {
	Data []Payout `json:"data" binding:"required"`
	listMeta
} //	@name	PayoutList

func toPayout(p payouts.Payout) Payout {
	out := Payout{ID: p.ID, CenterID: p.CenterID, Amount: p.Amount, Currency: "EUR", BankAccountID: p.BankAccountID,
		Status: string(p.Status), Automatic: p.Automatic, ArrivalDate: p.ArrivalDate, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.FailureCode != "" {
		code := p.FailureCode
		out.FailureCode = &code
	}
	return out
}

// toPayoutAccount answers a centre's payout account as a BankAccount: its active account is its
// default.
func toPayoutAccount(a payouts.Account) BankAccount {
	out := BankAccount{ID: a.ID, OwnerName: a.OwnerName, Country: a.Country, IBANLast4: a.Last4, MaskedIBAN: a.MaskedIBAN,
		Status: "inactive", IsDefault: a.Active, CreatedAt: a.CreatedAt}
	if a.Active {
		out.Status = "active"
	}
	if a.BIC != "" {
		bic := a.BIC
		out.BIC = &bic
	}
	return out
}

// createPayout godoc
//
//	@Summary		Pay a centre out
//	@Description	Moves `amount` (default: all of `available`) from the centre's balance to its active payout account (POST /v1/bank-accounts as the centre). The balance is debited at once (the payout is `pending`, shown in `in_transit`), then the provider wires it; the payout becomes `paid` when the bank confirms, or `failed` (later `returned`) with the money back in `available`, each told by the event payout.paid|failed|returned. A centre pays itself out; admin and service name the centre with `center_id`. `amount` above `available` (or nothing available) answers 409 insufficient_balance; no active payout account 409 no_payout_account. Concurrent payouts of one centre never take more than `available`. Audited (payout.create). Payouts are also made automatically every Monday at 06:00 Paris time for centres with at least VHUPAY_PAYOUT_MINIMUM available.
//	@ID				createPayout
//	@Tags			payouts
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		PayoutRequest	true	"The payout"
//	@Success		201				{object}	Payout
//	@Header			201				{string}	Location	"The created resource"
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/payouts [post]
func (s *Server) createPayout(c *gin.Context) {
	var req PayoutRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	p, err := s.payouts.Create(c.Request.Context(), principal(c), req.CenterID, req.Amount)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/payouts/"+p.ID, toPayout(p))
}

// listPayouts godoc
//
//	@Summary		List payouts
//	@Description	Newest first. A centre lists its own; admin and service every centre's, or those of `center_id`.
//	@ID				listPayouts
//	@Tags			payouts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			center_id	query		string	false	"Admin and service: the centre whose payouts to list"
//	@Param			status		query		string	false	"Only payouts in this status"	Enums(pending, paid, failed, returned)
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	PayoutList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/payouts [get]
func (s *Server) listPayouts(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.payouts.Payouts(c.Request.Context(), principal(c),
		payouts.Filter{CenterID: c.Query("center_id"), Status: payouts.Status(c.Query("status"))}, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := PayoutList{Data: make([]Payout, len(res.Items)), listMeta: metaOf(res)}
	for i, po := range res.Items {
		out.Data[i] = toPayout(po)
	}
	c.JSON(http.StatusOK, out)
}

// getPayout godoc
//
//	@Summary		Get a payout
//	@Description	A centre reads its own (another centre's answers 404); admin and service any.
//	@ID				getPayout
//	@Tags			payouts
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Payout id"
//	@Success		200	{object}	Payout
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/payouts/{id} [get]
func (s *Server) getPayout(c *gin.Context) {
	p, err := s.payouts.Payout(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPayout(p))
}
