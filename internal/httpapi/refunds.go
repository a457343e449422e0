package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/refunds"
)

// routes of the refunds capability.
func (s *Server) routeRefunds(v1 *gin.RouterGroup) {
	v1.POST("/refunds", s.allow(auth.RoleCenter, auth.RoleAdmin, auth.RoleService), s.createRefund)
	readers := s.allow(auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin, auth.RoleService)
	v1.GET("/refunds", readers, s.listRefunds)
	v1.GET("/refunds/:id", readers, s.getRefund)
}

var refundErrors = []errorMapping{
	{refunds.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{refunds.ErrExceedsPayment, http.StatusConflict, "refund_exceeds_payment", "Refund exceeds the payment"},
	{refunds.ErrNotRefundable, http.StatusConflict, "payment_not_refundable", "Payment not refundable"},
	{refunds.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
}

// RefundRequest refunds (part of) a payment.
type RefundRequest struct {
	PaymentIntentID string `json:"payment_intent_id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Amount in cents; default: what remains refundable.
	Amount *int64 `json:"amount,omitempty" minimum:"1" example:"3000"`
	Reason string `json:"reason" binding:"required" enums:"requested_by_buyer,part_missing,part_damaged,duplicate,other" example:"part_damaged"`
	// Note is free text for the parties (at most 500 characters).
	Note string `json:"note,omitempty" maxLength:"500" example:"Phare arrière fendu à la livraison"`
} //	@name	RefundRequest

// Refund gives back (part of) a payment.
type Refund struct {
	ID              string `json:"id" binding:"required" example:"re_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	PaymentIntentID string `json:"payment_intent_id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	OrderID         string `json:"order_id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Amount          int64  `json:"amount" binding:"required" example:"3000"`
	Currency        string `json:"currency" binding:"required" enums:"EUR"`
	Reason          string `json:"reason" binding:"required" enums:"requested_by_buyer,part_missing,part_damaged,duplicate,other"`
	// Note is null when none was given.
	Note *string `json:"note" binding:"required" extensions:"x-nullable"`
	// Status: pending while the provider has not given the money back (a SEPA debit is refunded
	// from the 8th day after it), succeeded, or failed.
	Status string `json:"status" binding:"required" enums:"pending,succeeded,failed"`
	// FailureCode says why a refund failed (null otherwise): collection_failed, provider_refused.
	FailureCode *string   `json:"failure_code" binding:"required" extensions:"x-nullable" example:"provider_refused"`
	CreatedAt   time.Time `json:"created_at" binding:"required" format:"date-time"`
	UpdatedAt   time.Time `json:"updated_at" binding:"required" format:"date-time"`
} //	@name	Refund

// RefundList is a page of refunds, newest first.
type RefundList struct {
	Data []Refund `json:"data" binding:"required"`
	listMeta
} //	@name	RefundList

func toRefund(r refunds.Refund) Refund {
	return Refund{ID: r.ID, PaymentIntentID: r.PaymentIntentID, OrderID: r.OrderID, Amount: r.Amount, Currency: r.Currency,
		Reason: string(r.Reason), Note: optional(r.Note), Status: string(r.Status), FailureCode: optional(r.FailureCode),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// createRefund godoc
//
//	@Summary		Refund a payment
//	@ID				createRefund
//	@Description	Full (amount left out: what remains refundable) or partial; any number of refunds, never more than the payment together (concurrent requests included): above what remains → 409 refund_exceeds_payment. The payment must be succeeded (or a scheduled sepa_debit or vhu_invoice payment) and not disputed, else 409 payment_not_refundable. The order's centre, admin and service may refund; a buyer asks the centre. Audited (refund.create).
//	@Description	card: the centre's balance is debited the amount less its share of the fee at once, then the provider refunds (the centre's transfer first, then the card pay-in): succeeded when it answers in time, else pending and finished in the background (never refunded twice). sepa_debit not collected yet: succeeded at once, the month's collection debits that much less and the buyer's available SEPA amount grows at once. sepa_debit collected: pending until the provider refunds it, from the 8th day after the debit. vhu_invoice: succeeded at once, a credit line on the statement of the refund's month. A full refund makes the order refunded (order.refunded).
//	@Tags			refunds
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		RefundRequest	true	"The refund"
//	@Success		201				{object}	Refund
//	@Header			201				{string}	Location	"The created resource"
//	@Failure		401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/refunds [post]
func (s *Server) createRefund(c *gin.Context) {
	var req RefundRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	r, err := s.refunds.Create(c.Request.Context(), principal(c), refunds.CreateInput{PaymentIntentID: req.PaymentIntentID,
		Amount: req.Amount, Reason: refunds.Reason(req.Reason), Note: req.Note})
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/refunds/"+r.ID, toRefund(r))
}

// listRefunds godoc
//
//	@Summary		List refunds
//	@ID				listRefunds
//	@Description	Newest first. A buyer sees the refunds of its payments, a centre those of its orders; admin and service all.
//	@Tags			refunds
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			payment_intent_id	query		string	false	"Only this payment's refunds"
//	@Param			limit				query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor				query		string	false	"next_cursor of the previous page"
//	@Success		200					{object}	RefundList
//	@Failure		401,403,422			{object}	Problem
//	@Router			/v1/refunds [get]
func (s *Server) listRefunds(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.refunds.Refunds(c.Request.Context(), principal(c), refunds.Filter{PaymentIntentID: c.Query("payment_intent_id")}, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := RefundList{Data: make([]Refund, len(res.Items)), listMeta: metaOf(res)}
	for i, r := range res.Items {
		out.Data[i] = toRefund(r)
	}
	c.JSON(http.StatusOK, out)
}

// getRefund godoc
//
//	@Summary		Get a refund
//	@ID				getRefund
//	@Description	Its buyer, the order's centre, admin and service; another organisation's refund answers 404.
//	@Tags			refunds
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Refund id"
//	@Success		200	{object}	Refund
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/refunds/{id} [get]
func (s *Server) getRefund(c *gin.Context) {
	r, err := s.refunds.Refund(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toRefund(r))
}
