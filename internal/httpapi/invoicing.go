package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/txn"
)

// routes of the end-of-month invoicing capability.
func (s *Server) routeInvoicing(v1 *gin.RouterGroup) {
	readers := s.allow(auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin)
	deciders := s.allow(auth.RoleCenter, auth.RoleAdmin)
	v1.POST("/invoicing-accounts", s.allow(auth.RoleBuyer), s.createInvoicingAccount)
	v1.GET("/invoicing-accounts", readers, s.listInvoicingAccounts)
	v1.GET("/invoicing-accounts/:id", readers, s.getInvoicingAccount)
	v1.POST("/invoicing-accounts/:id/approve", deciders, s.approveInvoicingAccount)
	v1.POST("/invoicing-accounts/:id/reject", deciders, s.rejectInvoicingAccount)
	v1.POST("/invoicing-accounts/:id/revoke", deciders, s.revokeInvoicingAccount)
	v1.POST("/orders/:id/delivery-notes", s.allow(auth.RoleCenter), s.createDeliveryNote)
	v1.GET("/statements", readers, s.listStatements)
	v1.GET("/statements/:id", readers, s.getStatement)
	// The exports are sub-resources: neither gin nor OpenAPI path matching can tell
	// /statements/{id}.csv from /statements/{id} (a path variable runs to the next "/").
	v1.GET("/statements/:id/export.csv", readers, s.getStatementCSV)
	v1.GET("/statements/:id/export.pdf", readers, s.getStatementPDF)
	v1.POST("/statements/:id/mark-paid", deciders, s.markStatementPaid)
}

var invoicingErrors = []errorMapping{
	{invoicing.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{invoicing.ErrAccountExists, http.StatusConflict, "invoicing_account_exists", "Invoicing account exists"},
	{invoicing.ErrNotApproved, http.StatusConflict, "invoicing_not_approved", "Invoicing not approved"},
	{invoicing.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
	{invoicing.ErrOrderNotConfirmed, http.StatusConflict, "order_not_confirmed", "Order not confirmed"},
	{invoicing.ErrDeliveryNoteExists, http.StatusConflict, "delivery_note_exists", "Delivery note exists"},
	{invoicing.ErrMonthNotEnded, http.StatusConflict, "month_not_ended", "Month not ended"},
}

// InvoicingAccountRequest asks a centre for end-of-month invoicing.
type InvoicingAccountRequest struct {
	CenterID string `json:"center_id" binding:"required" validate:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
} //	@name	InvoicingAccountRequest

// DecisionRequest is a centre's decision on an invoicing account, with an optional note.
type DecisionRequest struct {
	// Note is shown to the buyer (at most 1000 characters).
	Note string `json:"note,omitempty" validate:"max=1000" maxLength:"1000" example:"Client depuis 2019"`
} //	@name	DecisionRequest

// InvoicingAccount is a buyer's end-of-month invoicing arrangement with one centre.
type InvoicingAccount struct {
	ID       string `json:"id" binding:"required" example:"ina_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	BuyerID  string `json:"buyer_id" binding:"required"`
	CenterID string `json:"center_id" binding:"required"`
	Status   string `json:"status" binding:"required" enums:"pending,approved,rejected,revoked"`
	// Note is the note of the latest decision; null when none was given.
	Note      *string   `json:"note" binding:"required" extensions:"x-nullable"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
	// DecidedAt is when the latest decision was taken; null while pending.
	DecidedAt *time.Time `json:"decided_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	InvoicingAccount

// InvoicingAccountList is a page of invoicing accounts.
type InvoicingAccountList struct {
	Data []InvoicingAccount `json:"data" binding:"required"`
	listMeta
} //	@name	InvoicingAccountList

// DeliveryNoteRequest attaches a BL or BR to an order.
type DeliveryNoteRequest struct {
	Kind string `json:"kind" binding:"required" enums:"BL,BR" example:"BL"`
	// Number is unique per centre (1–64 printable characters, surrounding spaces trimmed).
	Number string `json:"number" binding:"required" example:"BL-2026-00042"`
} //	@name	DeliveryNoteRequest

// Statement lists, for one buyer, one centre and one month (Europe/Paris), the orders paid by
// end-of-month invoice. Amounts are euro cents.
type Statement struct {
	ID                 string           `json:"id" binding:"required" example:"stm_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	InvoicingAccountID string           `json:"invoicing_account_id" binding:"required"`
	BuyerID            string           `json:"buyer_id" binding:"required"`
	CenterID           string           `json:"center_id" binding:"required"`
	Month              string           `json:"month" binding:"required" example:"2026-11"`
	Status             string           `json:"status" binding:"required" enums:"open,issued,paid"`
	Orders             []StatementOrder `json:"orders" binding:"required"`
	// Credits are the credit lines of the refunds of invoice payments made in the month
	// (negative amounts), oldest first; the totals and the VAT breakdown include them.
	Credits      []StatementCredit `json:"credits" binding:"required"`
	TotalExclVAT int64             `json:"total_excl_vat" binding:"required" example:"12000"`
	TotalVAT     int64             `json:"total_vat" binding:"required" example:"2400"`
	Total        int64             `json:"total" binding:"required" example:"14400"`
	// VATBreakdown has one line per VAT rate present, by rate; it adds up to total_excl_vat and total_vat.
	VATBreakdown []VATLine `json:"vat_breakdown" binding:"required"`
	Currency     string    `json:"currency" binding:"required" enums:"EUR"`
	// IssuedAt is null while the statement is open.
	IssuedAt *time.Time `json:"issued_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	// PaidAt is null until the centre marks the statement paid.
	PaidAt *time.Time `json:"paid_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	Statement

// StatementOrder is one order on a statement, oldest first.
type StatementOrder struct {
	OrderID       string         `json:"order_id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	DeliveryNotes []DeliveryNote `json:"delivery_notes" binding:"required"`
	TotalExclVAT  int64          `json:"total_excl_vat" binding:"required"`
	TotalVAT      int64          `json:"total_vat" binding:"required"`
	Total         int64          `json:"total" binding:"required"`
} //	@name	StatementOrder

// StatementCredit is a credit line of a statement: a refund of an invoice payment.
type StatementCredit struct {
	RefundID     string    `json:"refund_id" binding:"required" example:"re_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	OrderID      string    `json:"order_id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	TotalExclVAT int64     `json:"total_excl_vat" binding:"required" example:"-2500"`
	TotalVAT     int64     `json:"total_vat" binding:"required" example:"-500"`
	Total        int64     `json:"total" binding:"required" example:"-3000"`
	VATLines     []VATLine `json:"vat_lines" binding:"required"`
	CreatedAt    time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	StatementCredit

// VATLine is the part of a statement taxed at one rate.
type VATLine struct {
	// Rate is in basis points (2000 = 20 %).
	Rate int `json:"rate" binding:"required" example:"2000"`
	// Base is the sum of the line totals excluding VAT at this rate.
	Base int64 `json:"base" binding:"required" example:"12000"`
	// VAT is the sum of the line VAT amounts at this rate.
	VAT int64 `json:"vat" binding:"required" example:"2400"`
} //	@name	VATLine

// StatementList is a page of statements.
type StatementList struct {
	Data []Statement `json:"data" binding:"required"`
	listMeta
} //	@name	StatementList

func toInvoicingAccount(a invoicing.Account) InvoicingAccount {
	out := InvoicingAccount{ID: a.ID, BuyerID: a.BuyerID, CenterID: a.CenterID, Status: string(a.Status), CreatedAt: a.CreatedAt, DecidedAt: a.DecidedAt}
	if a.Note != "" {
		note := a.Note
		out.Note = &note
	}
	return out
}

func toStatement(st invoicing.Statement) Statement {
	out := Statement{ID: st.ID, InvoicingAccountID: st.InvoicingAccountID, BuyerID: st.BuyerID, CenterID: st.CenterID,
		Month: st.Month, Status: string(st.Status), Orders: make([]StatementOrder, len(st.Orders)),
		TotalExclVAT: st.TotalExclVAT, TotalVAT: st.TotalVAT, Total: st.Total, VATBreakdown: make([]VATLine, len(st.VATBreakdown)),
		Currency: st.Currency, IssuedAt: st.IssuedAt, PaidAt: st.PaidAt}
	for i, o := range st.Orders {
		so := StatementOrder{OrderID: o.OrderID, DeliveryNotes: make([]DeliveryNote, len(o.DeliveryNotes)),
			TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total}
		for j, n := range o.DeliveryNotes {
			so.DeliveryNotes[j] = toInvoicingNote(n)
		}
		out.Orders[i] = so
	}
	for i, v := range st.VATBreakdown {
		out.VATBreakdown[i] = VATLine{Rate: v.Rate, Base: v.Base, VAT: v.VAT}
	}
	out.Credits = make([]StatementCredit, len(st.Credits))
	for i, c := range st.Credits {
		sc := StatementCredit{RefundID: c.RefundID, OrderID: c.OrderID, TotalExclVAT: c.TotalExclVAT, TotalVAT: c.TotalVAT,
			Total: c.Total, VATLines: make([]VATLine, len(c.VATLines)), CreatedAt: c.CreatedAt}
		for j, v := range c.VATLines {
			sc.VATLines[j] = VATLine{Rate: v.Rate, Base: v.Base, VAT: v.VAT}
		}
		out.Credits[i] = sc
	}
	return out
}

func toInvoicingNote(n invoicing.DeliveryNote) DeliveryNote {
	return DeliveryNote{Kind: string(n.Kind), Number: n.Number, CreatedAt: n.CreatedAt}
}

// createInvoicingAccount godoc
//
//	@Summary		Ask a centre for end-of-month invoicing
//	@ID			createInvoicingAccount
//	@Description	The buyer asks centre center_id; the account starts pending. A live account (pending or approved) for that centre already → 409 invoicing_account_exists; after a rejection or a revocation the buyer may ask again. An unknown centre answers 422 on center_id.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		InvoicingAccountRequest	true	"The centre"
//	@Success		201				{object}	InvoicingAccount
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/invoicing-accounts [post]
func (s *Server) createInvoicingAccount(c *gin.Context) {
	var req InvoicingAccountRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	a, err := s.invoicing.RequestAccount(c.Request.Context(), principal(c), req.CenterID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/invoicing-accounts/"+a.ID, toInvoicingAccount(a))
}

// listInvoicingAccounts godoc
//
//	@Summary		List invoicing accounts
//	@ID			listInvoicingAccounts
//	@Description	Newest first. A buyer sees its own accounts, a centre the accounts asked of it, an admin every account.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			status		query		string	false	"Only accounts in this status"	Enums(pending, approved, rejected, revoked)
//	@Param			buyer_id	query		string	false	"Only this buyer's accounts"
//	@Param			center_id	query		string	false	"Only the accounts with this centre"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	InvoicingAccountList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/invoicing-accounts [get]
func (s *Server) listInvoicingAccounts(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := invoicing.AccountFilter{Status: invoicing.AccountStatus(c.Query("status")), BuyerID: c.Query("buyer_id"), CenterID: c.Query("center_id")}
	res, err := s.invoicing.Accounts(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := InvoicingAccountList{Data: make([]InvoicingAccount, len(res.Items)), listMeta: metaOf(res)}
	for i, a := range res.Items {
		out.Data[i] = toInvoicingAccount(a)
	}
	c.JSON(http.StatusOK, out)
}

// getInvoicingAccount godoc
//
//	@Summary		Get an invoicing account
//	@ID			getInvoicingAccount
//	@Description	Its buyer, its centre and admins; another organisation's account answers 404.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Invoicing account id"
//	@Success		200	{object}	InvoicingAccount
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/invoicing-accounts/{id} [get]
func (s *Server) getInvoicingAccount(c *gin.Context) {
	a, err := s.invoicing.Account(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toInvoicingAccount(a))
}

// approveInvoicingAccount godoc
//
//	@Summary		Approve end-of-month invoicing
//	@ID			approveInvoicingAccount
//	@Description	The account's centre or an admin: pending → approved. From any other status 409 invalid_transition (also when a concurrent decision won). The buyer may then pay this centre's orders with method vhu_invoice. Audited (invoicing_account.approve, see GET /v1/admin/audit-events).
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string			true	"Invoicing account id"
//	@Param			body			body		DecisionRequest	false	"An optional note"
//	@Success		200				{object}	InvoicingAccount
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/invoicing-accounts/{id}/approve [post]
func (s *Server) approveInvoicingAccount(c *gin.Context) { s.decide(c, invoicing.Approve) }

// rejectInvoicingAccount godoc
//
//	@Summary		Refuse end-of-month invoicing
//	@ID			rejectInvoicingAccount
//	@Description	The account's centre or an admin: pending → rejected (final; the buyer may ask again). From any other status 409 invalid_transition. Audited (invoicing_account.reject, see GET /v1/admin/audit-events).
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string			true	"Invoicing account id"
//	@Param			body			body		DecisionRequest	false	"An optional note"
//	@Success		200				{object}	InvoicingAccount
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/invoicing-accounts/{id}/reject [post]
func (s *Server) rejectInvoicingAccount(c *gin.Context) { s.decide(c, invoicing.Reject) }

// revokeInvoicingAccount godoc
//
//	@Summary		Revoke end-of-month invoicing
//	@ID			revokeInvoicingAccount
//	@Description	The account's centre or an admin: approved → revoked (final; the buyer may ask again). Payments already accepted stay on their statement; new vhu_invoice payments answer 409 invoicing_not_approved. From any other status 409 invalid_transition. Audited (invoicing_account.revoke, see GET /v1/admin/audit-events).
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string			true	"Invoicing account id"
//	@Param			body			body		DecisionRequest	false	"An optional note"
//	@Success		200				{object}	InvoicingAccount
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/invoicing-accounts/{id}/revoke [post]
func (s *Server) revokeInvoicingAccount(c *gin.Context) { s.decide(c, invoicing.Revoke) }

func (s *Server) decide(c *gin.Context, d invoicing.Decision) {
	var req DecisionRequest
	if len(bytes.TrimSpace(bodyOf(c))) > 0 {
		if err := s.bind(c, &req); err != nil {
			s.writeError(c, err)
			return
		}
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	a, err := s.invoicing.Decide(ctx, principal(c), c.Param("id"), d, req.Note)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toInvoicingAccount(a))
}

// createDeliveryNote godoc
//
//	@Summary		Attach a delivery note to an order
//	@ID			createDeliveryNote
//	@Description	The centre that sold the order attaches a BL (bon de livraison) or BR (bon de retrait). Another centre's order answers 404. The order must be confirmed (else 409 order_not_confirmed); a number the centre already used, on any of its orders and whatever the kind, answers 409 delivery_note_exists. The note shows on the order and on its statement.
//	@Tags			orders
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string				true	"Order id"
//	@Param			body			body		DeliveryNoteRequest	true	"The note"
//	@Success		201				{object}	DeliveryNote
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/orders/{id}/delivery-notes [post]
func (s *Server) createDeliveryNote(c *gin.Context) {
	var req DeliveryNoteRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	n, err := s.invoicing.AttachDeliveryNote(c.Request.Context(), principal(c), c.Param("id"), req.Kind, req.Number)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/orders/"+c.Param("id"), toInvoicingNote(n))
}

// listStatements godoc
//
//	@Summary		List monthly statements
//	@ID			listStatements
//	@Description	Newest first. A buyer sees its own statements, a centre its own, an admin every statement. A statement is open during its month (it lists the vhu_invoice payments accepted so far), issued at month close, paid when the centre marks it so.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			month		query		string	false	"Only this month (YYYY-MM, Europe/Paris)"	example(2026-11)
//	@Param			status		query		string	false	"Only statements in this status"	Enums(open, issued, paid)
//	@Param			buyer_id	query		string	false	"Only this buyer's statements"
//	@Param			center_id	query		string	false	"Only this centre's statements"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	StatementList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/statements [get]
func (s *Server) listStatements(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := invoicing.StatementFilter{Month: c.Query("month"), Status: invoicing.StatementStatus(c.Query("status")),
		BuyerID: c.Query("buyer_id"), CenterID: c.Query("center_id")}
	res, err := s.invoicing.Statements(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := StatementList{Data: make([]Statement, len(res.Items)), listMeta: metaOf(res)}
	for i, st := range res.Items {
		out.Data[i] = toStatement(st)
	}
	c.JSON(http.StatusOK, out)
}

// getStatement godoc
//
//	@Summary		Get a monthly statement
//	@ID			getStatement
//	@Description	Its buyer, its centre and admins; another organisation's statement answers 404. Orders oldest first, each with its delivery notes and totals; vat_breakdown has one line per VAT rate. Exports: /export.csv and /export.pdf under the statement's path (also answered at /v1/statements/{id}.csv and /v1/statements/{id}.pdf).
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Statement id"
//	@Success		200	{object}	Statement
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/statements/{id} [get]
func (s *Server) getStatement(c *gin.Context) {
	// /v1/statements/{id}.csv and .pdf, the spelling the exports were first announced with, are
	// aliases of the export sub-resources (a path variable cannot be split on "." in the router).
	for ext, export := range map[string]gin.HandlerFunc{".csv": s.getStatementCSV, ".pdf": s.getStatementPDF} {
		if base, ok := strings.CutSuffix(c.Param("id"), ext); ok {
			for i := range c.Params {
				if c.Params[i].Key == "id" {
					c.Params[i].Value = base
				}
			}
			export(c)
			return
		}
	}
	st, err := s.invoicing.Statement(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toStatement(st))
}

// getStatementCSV godoc
//
//	@Summary		Export a statement as CSV
//	@ID			exportStatementCsv
//	@Description	For spreadsheets in French locale: UTF-8 with a byte order mark, ";" separator, CRLF, amounts in euros with a decimal comma, dates in Europe/Paris. A header block (statement, month, status, seller with its SIRET, buyer with its SIREN), then one row per order line, a Total row and one row per VAT rate. Same access as the statement.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		text/csv,application/problem+json
//	@Param			id	path		string	true	"Statement id"
//	@Success		200	{file}		file	"The statement as CSV"
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/statements/{id}/export.csv [get]
func (s *Server) getStatementCSV(c *gin.Context) {
	s.export(c, "csv", "text/csv; charset=utf-8", func(buf *bytes.Buffer, e invoicing.Export) error {
		return invoicing.WriteCSV(buf, e.Statement, e.Seller, e.Buyer)
	})
}

// getStatementPDF godoc
//
//	@Summary		Export a statement as PDF
//	@ID			exportStatementPdf
//	@Description	An A4 document in French: seller (SIRET) and buyer (SIREN) with their addresses, the orders with their BL/BR numbers and lines, totals excluding VAT, VAT per rate and including VAT. Same access as the statement.
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		application/pdf,application/problem+json
//	@Param			id	path		string	true	"Statement id"
//	@Success		200	{file}		file	"The statement as PDF"
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/statements/{id}/export.pdf [get]
func (s *Server) getStatementPDF(c *gin.Context) {
	s.export(c, "pdf", "application/pdf", func(buf *bytes.Buffer, e invoicing.Export) error {
		return invoicing.WritePDF(buf, e.Statement, e.Seller, e.Buyer, e.At)
	})
}

// export renders a statement in memory (so that a failure still answers a problem) and sends it
// as an attachment.
func (s *Server) export(c *gin.Context, extension, contentType string, render func(*bytes.Buffer, invoicing.Export) error) {
	e, err := s.invoicing.Export(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	var buf bytes.Buffer
	if err := render(&buf, e); err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="releve-`+e.Statement.Month+"-"+e.Statement.ID+"."+extension+`"`)
	c.Data(http.StatusOK, contentType, buf.Bytes())
}

// markStatementPaid godoc
//
//	@Summary		Mark a statement paid
//	@ID			markStatementPaid
//	@Description	The statement's centre or an admin records that the buyer settled it: issued → paid, and its payment intents become succeeded, in one transaction. From any other status (open, or already paid) 409 invalid_transition. Audited (statement.mark_paid, see GET /v1/admin/audit-events).
//	@Tags			invoicing
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Statement id"
//	@Success		200				{object}	Statement
//	@Failure		401,403,404,409,422	{object}	Problem
//	@Router			/v1/statements/{id}/mark-paid [post]
func (s *Server) markStatementPaid(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	st, err := s.invoicing.MarkPaid(ctx, principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toStatement(st))
}
