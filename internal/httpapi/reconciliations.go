package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
	"github.com/vhupay/vhupay/internal/ledger"
	"github.com/vhupay/vhupay/internal/validation"
)

// routes of the reconciliations (and the sandbox's wallet adjustment that makes them differ).
func (s *Server) routeReconciliations(v1 *gin.RouterGroup) {
	admin := s.allow(auth.RoleAdmin)
	v1.POST("/admin/reconciliations", admin, s.createReconciliation)
	v1.GET("/admin/reconciliations", admin, s.listReconciliations)
	v1.GET("/admin/reconciliations/:id", admin, s.getReconciliation)
	if s.clock != nil && s.adjustWallet != nil {
		v1.POST("/sandbox/wallets/adjust", admin, s.adjustSandboxWallet)
	}
}

var reconciliationErrors = []errorMapping{
	{balances.ErrReconciliationNotFound, http.StatusNotFound, "not_found", "Not found"},
}

// Reconciliation compares every provider wallet with the ledger account it mirrors.
type Reconciliation struct {
	ID     string `json:"id" binding:"required" example:"rec_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Status string `json:"status" binding:"required" enums:"running,matched,mismatched" example:"matched"`
	// CheckedAccounts is how many wallets were compared.
	CheckedAccounts int                      `json:"checked_accounts" binding:"required" example:"5"`
	Mismatches      []ReconciliationMismatch `json:"mismatches" binding:"required"`
	CreatedAt       time.Time                `json:"created_at" binding:"required" format:"date-time"`
	// FinishedAt is null while it runs.
	FinishedAt *time.Time `json:"finished_at" binding:"required" format:"date-time" extensions:"x-nullable"`
} //	@name	Reconciliation

// ReconciliationMismatch is a wallet whose balance differs from its ledger account.
type ReconciliationMismatch struct {
	Account         string `json:"account" binding:"required" example:"center:ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	LedgerBalance   int64  `json:"ledger_balance" binding:"required" example:"11400"`
	ProviderBalance int64  `json:"provider_balance" binding:"required" example:"11300"`
	// Difference is provider_balance − ledger_balance, in cents.
	Difference int64 `json:"difference" binding:"required" example:"-100"`
} //	@name	ReconciliationMismatch

// ReconciliationList is a page of reconciliations, newest first.
type ReconciliationList struct {
	Data []Reconciliation `json:"data" binding:"required"`
	listMeta
} //	@name	ReconciliationList

// WalletAdjustment moves money in a sandbox provider wallet without telling the ledger.
type WalletAdjustment struct {
	// Account is the ledger account whose wallet moves: buyer:<id>, center:<id> or platform:fees.
	Account string `json:"account" binding:"required" validate:"required,max=200" example:"center:ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Amount is added to the wallet's balance (negative: taken), in cents.
	Amount *int64 `json:"amount" binding:"required" validate:"required" example:"-100"`
} //	@name	WalletAdjustment

func toReconciliation(r balances.Reconciliation) Reconciliation {
	out := Reconciliation{ID: r.ID, Status: string(r.Status), CheckedAccounts: r.CheckedAccounts,
		Mismatches: make([]ReconciliationMismatch, len(r.Mismatches)), CreatedAt: r.CreatedAt}
	for i, m := range r.Mismatches {
		out.Mismatches[i] = ReconciliationMismatch{Account: string(m.Account), LedgerBalance: m.LedgerBalance,
			ProviderBalance: m.ProviderBalance, Difference: m.Difference}
	}
	if !r.FinishedAt.IsZero() {
		f := r.FinishedAt
		out.FinishedAt = &f
	}
	return out
}

// createReconciliation godoc
//
//	@Summary		Reconcile the provider with the ledger
//	@Description	Compares every provider wallet (the buyers', the centres', the platform's fee wallet) with the ledger account it mirrors and lists the differences; a difference that recorded transfers not made yet explain exactly is not one. It never changes the ledger. A mismatch is also sent as reconciliation.mismatch. Admin only.
//	@ID				createReconciliation
//	@Tags			ledger
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Success		202		{object}	Reconciliation
//	@Failure		401,403,404,422,502	{object}	Problem
//	@Router			/v1/admin/reconciliations [post]
func (s *Server) createReconciliation(c *gin.Context) {
	r, err := s.reconciler.Run(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, toReconciliation(r))
}

// listReconciliations godoc
//
//	@Summary		List reconciliations
//	@Description	Newest first. Admin only.
//	@ID				listReconciliations
//	@Tags			ledger
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	ReconciliationList
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/admin/reconciliations [get]
func (s *Server) listReconciliations(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.reconciler.Reconciliations(c.Request.Context(), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := ReconciliationList{Data: make([]Reconciliation, len(res.Items)), listMeta: metaOf(res)}
	for i, r := range res.Items {
		out.Data[i] = toReconciliation(r)
	}
	c.JSON(http.StatusOK, out)
}

// getReconciliation godoc
//
//	@Summary		Get a reconciliation
//	@Description	Admin only.
//	@ID				getReconciliation
//	@Tags			ledger
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Reconciliation id"
//	@Success		200	{object}	Reconciliation
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/admin/reconciliations/{id} [get]
func (s *Server) getReconciliation(c *gin.Context) {
	r, err := s.reconciler.Reconciliation(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toReconciliation(r))
}

// adjustSandboxWallet godoc
//
//	@Summary		Move money in a sandbox provider wallet
//	@Description	Admin only, sandbox mode only. Adds amount (negative: takes it) to the provider wallet of a ledger account without telling the ledger, so that the next reconciliation finds the difference. 422 when the account has no wallet at the provider.
//	@ID				adjustSandboxWallet
//	@Tags			sandbox
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		application/problem+json
//	@Param			body	body	WalletAdjustment	true	"The account and the amount"
//	@Success		204
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/sandbox/wallets/adjust [post]
func (s *Server) adjustSandboxWallet(c *gin.Context) {
	var req WalletAdjustment
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	if !ledger.Account(req.Account).Valid() {
		s.writeError(c, validation.Field("account", "invalid", "must be buyer:<id>, center:<id> or platform:fees"))
		return
	}
	if err := s.adjustWallet(c.Request.Context(), ledger.Account(req.Account), *req.Amount); err != nil {
		if errors.Is(err, ErrNoSandboxWallet) {
			s.writeError(c, validation.Field("account", "unknown", "this account has no wallet at the provider"))
			return
		}
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// ErrNoSandboxWallet is what a sandbox wallet adjustment returns for an account without a wallet
// at the provider.
var ErrNoSandboxWallet = errors.New("no provider wallet for this account")

// AdjustWallet moves money in the sandbox provider's wallet of a ledger account.
type AdjustWallet func(ctx context.Context, account ledger.Account, amount int64) error
