package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/disputes"
)

var disputeErrors = []errorMapping{
	{disputes.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{disputes.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
}

// routeDisputes registers the card disputes.
func (s *Server) routeDisputes(v1 *gin.RouterGroup) {
	read := s.allow(auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin)
	answer := s.allow(auth.RoleCenter, auth.RoleAdmin)
	v1.GET("/disputes", read, s.listDisputes)
	v1.GET("/disputes/:id", read, s.getDispute)
	v1.POST("/disputes/:id/evidence", answer, s.submitDisputeEvidence)
	v1.POST("/disputes/:id/accept", answer, s.acceptDispute)
}

// DisputeEvidence is the centre's answer to a dispute, as submitted.
type DisputeEvidence struct {
	// DeliveryNoteID is the number of the order's delivery note (BL/BR) given as proof, or null.
	DeliveryNoteID *string   `json:"delivery_note_id" binding:"required" extensions:"x-nullable" example:"BL-2026-0042"`
	Text           string    `json:"text" binding:"required" example:"Pièce livrée le 03/11 contre signature, voir le BL."`
	SubmittedAt    time.Time `json:"submitted_at" binding:"required" format:"date-time"`
} //	@name	DisputeEvidence

// Dispute is a card chargeback opened by the buyer's bank on a succeeded card payment. The
// centre's balance is debited the disputed amount when it arrives (balance transaction dispute)
// and credited back when it is won (dispute_won).
type Dispute struct {
	ID              string `json:"id" binding:"required" example:"dp_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	PaymentIntentID string `json:"payment_intent_id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	OrderID         string `json:"order_id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Amount is the disputed amount, in cents.
	Amount   int64  `json:"amount" binding:"required" example:"12000"`
	Currency string `json:"currency" binding:"required" enums:"EUR" example:"EUR"`
	// Reason is the bank's reason, as the provider gives it in lower case: fraud,
	// product_not_provided, product_unacceptable, duplicate, transaction_not_recognized, other,
	// unknown...
	Reason string `json:"reason" binding:"required" example:"fraud"`
	// Status: needs_response (the centre must answer before evidence_due_by), under_review
	// (evidence submitted, the bank decides; back to needs_response when it asks for more), won
	// (the centre is credited back) or lost (accepted, decided by the bank, or unanswered by
	// evidence_due_by).
	Status        string           `json:"status" binding:"required" enums:"needs_response,under_review,won,lost"`
	EvidenceDueBy time.Time        `json:"evidence_due_by" binding:"required" format:"date-time"`
	Evidence      *DisputeEvidence `json:"evidence" binding:"required" extensions:"x-nullable"`
	CreatedAt     time.Time        `json:"created_at" binding:"required" format:"date-time"`
	ClosedAt      *time.Time       `json:"closed_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	Dispute

// DisputeList is a page of disputes, newest first.
type DisputeList struct {
	Data []Dispute `json:"data" binding:"required"`
	listMeta
} //	@name	DisputeList

// DisputeEvidenceInput is the centre's answer.
type DisputeEvidenceInput struct {
	// DeliveryNoteID names one of the order's delivery notes by its number (the BL/BR number the
	// centre attached to the order): vhupay sends the provider a delivery proof built from it.
	DeliveryNoteID *string `json:"delivery_note_id" validate:"omitempty,max=100" maxLength:"100" example:"BL-2026-0042"`
	// Text is the centre's explanation (1–5000 characters), sent with the evidence.
	Text string `json:"text" binding:"required" validate:"required,max=5000" minLength:"1" maxLength:"5000" example:"Pièce livrée le 03/11 contre signature, voir le BL."`
} //	@name	DisputeEvidenceInput

func toDispute(d disputes.Dispute) Dispute {
	out := Dispute{ID: d.ID, PaymentIntentID: d.PaymentIntentID, OrderID: d.OrderID, Amount: d.Amount, Currency: d.Currency,
		Reason: d.Reason, Status: string(d.Status), EvidenceDueBy: d.EvidenceDueBy, CreatedAt: d.CreatedAt,
		ClosedAt: optionalTime(d.ClosedAt)}
	if e := d.Evidence; e != nil {
		out.Evidence = &DisputeEvidence{DeliveryNoteID: optional(e.DeliveryNoteID), Text: e.Text, SubmittedAt: e.SubmittedAt}
	}
	return out
}

// listDisputes godoc
//
//	@Summary		List disputes
//	@Description	Newest first: a buyer's own, a centre's own (the disputes of the orders it sold), every dispute for an admin.
//	@ID				listDisputes
//	@Tags			disputes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	DisputeList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/disputes [get]
func (s *Server) listDisputes(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.disputes.List(c.Request.Context(), principal(c), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := DisputeList{Data: make([]Dispute, len(res.Items)), listMeta: metaOf(res)}
	for i, d := range res.Items {
		out.Data[i] = toDispute(d)
	}
	c.JSON(http.StatusOK, out)
}

// getDispute godoc
//
//	@Summary		Get a dispute
//	@Description	Its buyer, its centre or an admin; anyone else's answers 404.
//	@ID				getDispute
//	@Tags			disputes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Dispute id"
//	@Success		200	{object}	Dispute
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/disputes/{id} [get]
func (s *Server) getDispute(c *gin.Context) {
	d, err := s.disputes.Get(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDispute(d))
}

// submitDisputeEvidence godoc
//
//	@Summary		Answer a dispute with evidence
//	@Description	The dispute's centre or an admin: needs_response → under_review, only before evidence_due_by (else 409 invalid_transition). text is required; delivery_note_id names one of the order's delivery notes by its number (else 422 on delivery_note_id), sent to the provider as a delivery proof — the evidence that wins a dispute. The evidence is recorded, then submitted to the provider (retried until it is). The bank's decision arrives later: won credits the centre back. Audited (dispute.evidence).
//	@ID				submitDisputeEvidence
//	@Tags			disputes
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id				path		string					true	"Dispute id"
//	@Param			Idempotency-Key	header		string					false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		DisputeEvidenceInput	true	"The answer"
//	@Success		200				{object}	Dispute
//	@Failure		400,401,403,404,409,413,422	{object}	Problem
//	@Router			/v1/disputes/{id}/evidence [post]
func (s *Server) submitDisputeEvidence(c *gin.Context) {
	var req DisputeEvidenceInput
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	note := ""
	if req.DeliveryNoteID != nil {
		note = *req.DeliveryNoteID
	}
	d, err := s.disputes.SubmitEvidence(c.Request.Context(), principal(c), c.Param("id"), note, req.Text)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDispute(d))
}

// acceptDispute godoc
//
//	@Summary		Accept a dispute
//	@Description	The dispute's centre or an admin accepts the loss: needs_response → lost (else 409 invalid_transition); the debit stays, the provider is told. Audited (dispute.accept); event dispute.closed.
//	@ID				acceptDispute
//	@Tags			disputes
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id				path		string	true	"Dispute id"
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Success		200				{object}	Dispute
//	@Failure		401,403,404,409	{object}	Problem
//	@Router			/v1/disputes/{id}/accept [post]
func (s *Server) acceptDispute(c *gin.Context) {
	d, err := s.disputes.Accept(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toDispute(d))
}
