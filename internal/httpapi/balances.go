package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/balances"
)

// routes of the centres' money.
func (s *Server) routeBalances(v1 *gin.RouterGroup) {
	money := s.allow(auth.RoleCenter, auth.RoleAdmin, auth.RoleService)
	admin := s.allow(auth.RoleAdmin)
	v1.PUT("/admin/centers/:id/fee", admin, s.putCenterFee)
	v1.GET("/balance", money, s.getBalance)
	v1.GET("/balance-transactions", money, s.listBalanceTransactions)
	v1.GET("/balance-transactions/export.csv", money, s.exportSalesReportCSV)
	v1.GET("/balance-transactions/export.pdf", money, s.exportSalesReportPDF)
	v1.GET("/admin/ledger/accounts", admin, s.listLedgerAccounts)
	v1.GET("/admin/ledger/trial-balance", admin, s.getTrialBalance)
}

var balanceErrors = []errorMapping{
	{balances.ErrCenterNotFound, http.StatusNotFound, "not_found", "Not found"},
}

// CenterFee is a centre's new fee rate.
type CenterFee struct {
	// FeeRateBPS is the platform's fee on each payment the centre earns from now on, in basis
	// points of the payment (500 = 5 %).
	FeeRateBPS *int `json:"fee_rate_bps" binding:"required" validate:"required,min=0,max=10000" minimum:"0" maximum:"10000" example:"500"`
} //	@name	CenterFee

// Balance is a centre's money at the platform.
type Balance struct {
	CenterID string `json:"center_id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Available is what the centre can be paid out, in cents; negative after refunds or disputes
	// that followed a payout (taken back from its next earnings).
	Available int64 `json:"available" binding:"required" example:"11400"`
	// InTransit is what payouts on their way to the bank hold, in cents.
	InTransit      int64  `json:"in_transit" binding:"required" example:"0"`
	Currency       string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
	PayoutsEnabled bool   `json:"payouts_enabled" binding:"required"`
} //	@name	Balance

// BalanceTransaction is one change of a centre's balance.
type BalanceTransaction struct {
	ID       string `json:"id" binding:"required" example:"btx_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	CenterID string `json:"center_id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Type     string `json:"type" binding:"required" enums:"payment,refund,dispute,dispute_won,payout,payout_failed,sepa_guarantee,adjustment" example:"payment"`
	// Gross is the amount of the movement, Fee the platform's share, Net = Gross − Fee the signed
	// change of available (cents).
	Gross    int64  `json:"gross" binding:"required" example:"12000"`
	Fee      int64  `json:"fee" binding:"required" example:"600"`
	Net      int64  `json:"net" binding:"required" example:"11400"`
	Currency string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
	// SourceID is the resource that caused it: a payment intent (pi_), a payout (po_), ...
	SourceID  string    `json:"source_id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	BalanceTransaction

// BalanceTransactionList is a page of balance transactions, newest first.
type BalanceTransactionList struct {
	Data []BalanceTransaction `json:"data" binding:"required"`
	listMeta
} //	@name	BalanceTransactionList

// LedgerAccount is one account of the ledger and its balance.
type LedgerAccount struct {
	// Account is buyer:<byr_id>, center:<ctr_id>, platform:fees, platform:guarantee,
	// external:card, external:sepa or external:bank.
	Account string `json:"account" binding:"required" example:"platform:fees"`
	// Balance is the sum of the account's postings, in cents.
	Balance  int64  `json:"balance" binding:"required" example:"600"`
	Currency string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
} //	@name	LedgerAccount

// LedgerAccountList is a page of ledger accounts, by name.
type LedgerAccountList struct {
	Data []LedgerAccount `json:"data" binding:"required"`
	listMeta
} //	@name	LedgerAccountList

// TrialBalance sums the whole ledger.
type TrialBalance struct {
	// Total is the sum of every posting: always 0.
	Total int64 `json:"total" binding:"required" example:"0"`
	// Accounts is the number of accounts with postings, Entries the number of postings.
	Accounts int    `json:"accounts" binding:"required" example:"4"`
	Entries  int    `json:"entries" binding:"required" example:"5"`
	Currency string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
} //	@name	TrialBalance

// putCenterFee godoc
//
//	@Summary		Set a centre's fee rate
//	@Description	The platform's fee, in basis points (0–10000) of each payment the centre earns from now on; payments already earned keep the rate they were earned at. Audited (center.fee_change).
//	@ID				putCenterFee
//	@Tags			centers
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string		true	"Centre id"
//	@Param			body	body		CenterFee	true	"The new rate"
//	@Success		200		{object}	Center
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/admin/centers/{id}/fee [put]
func (s *Server) putCenterFee(c *gin.Context) {
	var req CenterFee
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ct, err := s.balances.SetFee(c.Request.Context(), principal(c), c.Param("id"), *req.FeeRateBPS)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toCenter(ct))
}

// getBalance godoc
//
//	@Summary		Get a centre's balance
//	@Description	A centre reads its own (center_id absent or itself; another centre's answers 404); admin and service name the centre with center_id. available is the centre's ledger account: what it earned less the fee, less payouts, refunds and disputes.
//	@ID				getBalance
//	@Tags			balance
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			center_id	query		string	false	"The centre (required for admin and service)"
//	@Success		200			{object}	Balance
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/balance [get]
func (s *Server) getBalance(c *gin.Context) {
	b, err := s.balances.Balance(c.Request.Context(), principal(c), c.Query("center_id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, Balance{CenterID: b.CenterID, Available: b.Available, InTransit: b.InTransit, Currency: "EUR",
		PayoutsEnabled: b.PayoutsEnabled})
}

// listBalanceTransactions godoc
//
//	@Summary		List a centre's balance transactions
//	@Description	Newest first. A centre lists its own; admin and service name the centre with center_id. Each is one change of available: net = gross − fee.
//	@ID				listBalanceTransactions
//	@Tags			balance
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			center_id	query		string	false	"The centre (required for admin and service)"
//	@Param			type		query		string	false	"Only this type"	Enums(payment,refund,dispute,dispute_won,payout,payout_failed,sepa_guarantee,adjustment)
//	@Param			source_id	query		string	false	"Only the transactions of this resource (pi_, po_, ...)"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	BalanceTransactionList
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/balance-transactions [get]
func (s *Server) listBalanceTransactions(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := balances.Filter{CenterID: c.Query("center_id"), Type: balances.Type(c.Query("type")), SourceID: c.Query("source_id")}
	res, err := s.balances.Transactions(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := BalanceTransactionList{Data: make([]BalanceTransaction, len(res.Items)), listMeta: metaOf(res)}
	for i, t := range res.Items {
		out.Data[i] = BalanceTransaction{ID: t.ID, CenterID: t.CenterID, Type: string(t.Type), Gross: t.Gross, Fee: t.Fee,
			Net: t.Net, Currency: "EUR", SourceID: t.SourceID, CreatedAt: t.CreatedAt}
	}
	c.JSON(http.StatusOK, out)
}

// listLedgerAccounts godoc
//
//	@Summary		List the ledger's accounts
//	@Description	Every account with postings and its balance (the sum of its postings), by name. Admin only.
//	@ID				listLedgerAccounts
//	@Tags			ledger
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	LedgerAccountList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/admin/ledger/accounts [get]
func (s *Server) listLedgerAccounts(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.balances.Accounts(c.Request.Context(), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := LedgerAccountList{Data: make([]LedgerAccount, len(res.Items)), listMeta: metaOf(res)}
	for i, a := range res.Items {
		out.Data[i] = LedgerAccount{Account: string(a.Account), Balance: a.Balance, Currency: "EUR"}
	}
	c.JSON(http.StatusOK, out)
}

// getTrialBalance godoc
//
//	@Summary		Get the trial balance
//	@Description	The sum of every posting of the ledger (always 0: each transaction sums to zero), with the number of accounts and postings. Admin only.
//	@ID				getTrialBalance
//	@Tags			ledger
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Success		200		{object}	TrialBalance
//	@Failure		401,403	{object}	Problem
//	@Router			/v1/admin/ledger/trial-balance [get]
func (s *Server) getTrialBalance(c *gin.Context) {
	tb, err := s.balances.TrialBalance(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, TrialBalance{Total: tb.Total, Accounts: tb.Accounts, Entries: tb.Entries, Currency: "EUR"})
}

// exportSalesReportCSV godoc
//
//	@Summary		Export a centre's monthly sales report as CSV
//	@ID				exportSalesReportCsv
//	@Description	The centre's balance transactions of one month (Europe/Paris), for spreadsheets in French locale like the statements: UTF-8 with a byte order mark, ";" separator, CRLF, amounts in euros with a decimal comma. A header block (centre, month), one row per transaction with its gross, fee and net, then a Total row. A centre exports its own; admin and service name the centre with center_id.
//	@Tags			balance
//	@Security		BearerAuth
//	@Produce		text/csv,application/problem+json
//	@Param			month		query		string	true	"The month, YYYY-MM"
//	@Param			center_id	query		string	false	"The centre (required for admin and service)"
//	@Success		200			{file}		file	"The report as CSV"
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/balance-transactions/export.csv [get]
func (s *Server) exportSalesReportCSV(c *gin.Context) {
	r, err := s.balances.SalesReport(c.Request.Context(), principal(c), c.Query("center_id"), c.Query("month"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="ventes-`+r.Month+"-"+r.CenterID+`.csv"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// exportSalesReportPDF godoc
//
//	@Summary		Export a centre's monthly sales report as PDF
//	@ID				exportSalesReportPdf
//	@Description	The same report as export.csv, as an A4 PDF in French ("Rapport mensuel des ventes"): the centre (name, SIRET), the month, one row per balance transaction with its gross, fee and net, and the totals. A centre exports its own; admin and service name the centre with center_id.
//	@Tags			balance
//	@Security		BearerAuth
//	@Produce		application/pdf,application/problem+json
//	@Param			month		query		string	true	"The month, YYYY-MM"
//	@Param			center_id	query		string	false	"The centre (required for admin and service)"
//	@Success		200			{file}		file	"The report as PDF"
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/balance-transactions/export.pdf [get]
func (s *Server) exportSalesReportPDF(c *gin.Context) {
	var buf bytes.Buffer
	r, err := s.balances.WriteSalesReportPDF(c.Request.Context(), principal(c), c.Query("center_id"), c.Query("month"), &buf)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="ventes-`+r.Month+"-"+r.CenterID+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", buf.Bytes())
}
