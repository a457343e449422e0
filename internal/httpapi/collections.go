package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/collections"
)

var collectionErrors = []errorMapping{
	{collections.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{collections.ErrNotPrenotified, http.StatusConflict, "invalid_transition", "Invalid transition"},
}

// routeCollections registers the SEPA collections (the month-end debits).
func (s *Server) routeCollections(v1 *gin.RouterGroup) {
	v1.GET("/sepa/collections", s.allow(auth.RoleBuyer), s.listOwnCollections)
	v1.GET("/sepa/collections/:id", s.allow(auth.RoleBuyer, auth.RoleAdmin), s.getCollection)
	v1.GET("/sepa/collections/:id/prenotification.pdf", s.allow(auth.RoleBuyer, auth.RoleAdmin), s.getPrenotificationPDF)
	v1.GET("/buyers/:id/sepa/collections", s.allow(auth.RoleAdmin), s.listCollections)
}

// Collection is the month-end SEPA debit of one buyer for one month: the total of its SEPA
// payments of that month, debited once on its default mandate. Amounts are euro cents.
type Collection struct {
	ID       string `json:"id" binding:"required" example:"col_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Month    string `json:"month" binding:"required" example:"2026-11"`
	Amount   int64  `json:"amount" binding:"required" example:"48000"`
	Currency string `json:"currency" binding:"required" enums:"EUR"`
	// Status: pending (created at month close), submitted (sent to the bank), succeeded,
	// retrying (the first debit failed for insufficient funds: it is presented again at
	// retry_at, the buyer's SEPA is disabled meanwhile), failed (before or after a success: an
	// unpaid debit, the buyer's SEPA is suspended), or recovered (the buyer paid it by card).
	Status string `json:"status" binding:"required" enums:"pending,submitted,succeeded,failed,retrying,recovered"`
	// FailureCode is set when the collection failed.
	FailureCode *string `json:"failure_code" binding:"required" extensions:"x-nullable" enums:"insufficient_funds,account_closed,mandate_cancelled,payment_disputed,provider_error"`
	// MandateID is the mandate debited; null while pending, or when the buyer had no usable mandate.
	MandateID *string `json:"mandate_id" binding:"required" extensions:"x-nullable"`
	// PaymentIntentIDs are the SEPA payments the collection debits, oldest first.
	PaymentIntentIDs []string   `json:"payment_intent_ids" binding:"required"`
	CreatedAt        time.Time  `json:"created_at" binding:"required" format:"date-time"`
	SubmittedAt      *time.Time `json:"submitted_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	// SettledAt is when the collection reached its latest outcome (a late failure moves it).
	SettledAt *time.Time `json:"settled_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	// DueDate is the day the debit is due: the second TARGET2 business day after the month
	// close; null until the collection is pre-notified.
	DueDate *string `json:"due_date" binding:"required" extensions:"x-nullable" format:"date" example:"2026-12-03"`
	// PrenotifiedAt is when the buyer was told the amount and due date (the pre-notification
	// PDF); null before.
	PrenotifiedAt *time.Time `json:"prenotified_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	// MandateReference is the unique mandate reference (UMR) the pre-notification gives; null
	// when the buyer had no usable mandate.
	MandateReference *string `json:"mandate_reference" binding:"required" extensions:"x-nullable"`
	// CreditorID is the platform's SEPA creditor identifier; null until pre-notified.
	CreditorID *string `json:"creditor_id" binding:"required" extensions:"x-nullable" example:"FR72ZZZ123456"`
	// Attempts counts the debit's submissions to the bank: 0 while pending, 2 after a
	// re-presentation.
	Attempts int `json:"attempts" binding:"required" example:"1"`
	// RetryAt is when a retrying collection is presented again; null otherwise.
	RetryAt *time.Time `json:"retry_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	Collection

// CollectionList is a page of collections, newest first.
type CollectionList struct {
	Data []Collection `json:"data" binding:"required"`
	listMeta
} //	@name	CollectionList

func toCollection(c collections.Collection) Collection {
	out := Collection{ID: c.ID, Month: c.Month, Amount: c.Amount, Currency: c.Currency, Status: string(c.Status),
		FailureCode: optional(string(c.FailureCode)), MandateID: optional(c.MandateID), PaymentIntentIDs: c.PaymentIntentIDs,
		CreatedAt: c.CreatedAt, SubmittedAt: optionalTime(c.SubmittedAt), SettledAt: optionalTime(c.SettledAt),
		PrenotifiedAt: optionalTime(c.PrenotifiedAt), MandateReference: optional(c.MandateReference), CreditorID: optional(c.CreditorID),
		Attempts: c.Attempts, RetryAt: optionalTime(c.RetryAt)}
	if !c.DueDate.IsZero() {
		d := c.DueDate.Format(time.DateOnly)
		out.DueDate = &d
	}
	if out.PaymentIntentIDs == nil {
		out.PaymentIntentIDs = []string{}
	}
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// listOwnCollections godoc
//
//	@Summary		The caller's SEPA collections
//	@ID			listSepaCollections
//	@Description	The buyer's month-end SEPA debits, newest first: one per month with SEPA payments.
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	CollectionList
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/sepa/collections [get]
func (s *Server) listOwnCollections(c *gin.Context) {
	s.writeCollections(c, "")
}

// listCollections godoc
//
//	@Summary		A buyer's SEPA collections
//	@ID			listBuyerSepaCollections
//	@Description	Admin only. The buyer's month-end SEPA debits, newest first.
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id		path		string	true	"Buyer id"
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	CollectionList
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/buyers/{id}/sepa/collections [get]
func (s *Server) listCollections(c *gin.Context) {
	s.writeCollections(c, c.Param("id"))
}

func (s *Server) writeCollections(c *gin.Context, buyerID string) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.collections.Collections(c.Request.Context(), principal(c), buyerID, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := CollectionList{Data: make([]Collection, len(res.Items)), listMeta: metaOf(res)}
	for i, col := range res.Items {
		out.Data[i] = toCollection(col)
	}
	c.JSON(http.StatusOK, out)
}

// getCollection godoc
//
//	@Summary		A SEPA collection
//	@ID			getSepaCollection
//	@Description	A buyer sees its own collections (another buyer's answers 404); an admin any.
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Collection id"
//	@Success		200	{object}	Collection
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/sepa/collections/{id} [get]
func (s *Server) getCollection(c *gin.Context) {
	col, err := s.collections.Collection(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toCollection(col))
}

// getPrenotificationPDF godoc
//
//	@Summary		A SEPA collection's pre-notification
//	@ID			getSepaCollectionPrenotification
//	@Description	The pre-notification ("avis de prélèvement", in French) the month close makes before it submits the debit: the creditor's name and identifier, the mandate reference, the amount, the due date and every payment the debit collects (order, date, amount). A buyer sees its own (another buyer's answers 404); an admin any. A collection not pre-notified yet (the close is under way) answers 409 invalid_transition.
//	@Tags			sepa
//	@Security		BearerAuth
//	@Produce		application/pdf,application/problem+json
//	@Param			id	path		string	true	"Collection id"
//	@Success		200	{file}		file	"The pre-notification as PDF"
//	@Failure		401,403,404,409	{object}	Problem
//	@Router			/v1/sepa/collections/{id}/prenotification.pdf [get]
func (s *Server) getPrenotificationPDF(c *gin.Context) {
	p, err := s.collections.Prenotification(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	var buf bytes.Buffer
	if err := p.WritePDF(&buf); err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="avis-de-prelevement-`+p.Collection.Month+"-"+p.Collection.ID+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", buf.Bytes())
}
