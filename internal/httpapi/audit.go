package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/audit"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/sepa"
)

// routes of the audit trail (admin).
func (s *Server) routeAudit(v1 *gin.RouterGroup) {
	v1.GET("/admin/audit-events", s.allow(auth.RoleAdmin), s.listAuditEvents)
}

// AuditActor is who did an audited act.
type AuditActor struct {
	// Sub is the token's sub (an API key's id for a key; "vhupay" for the process's own jobs).
	Sub  string `json:"sub" binding:"required" example:"admin@vhupay.fr"`
	Role string `json:"role" binding:"required" enums:"buyer,center,admin,service,system" example:"admin"`
	// Org is the buyer or centre of buyer and center callers (null otherwise).
	Org *string `json:"org" binding:"required" extensions:"x-nullable"`
	// APIKeyID is the API key the caller authenticated with (null for a JWT).
	APIKeyID *string `json:"api_key_id" binding:"required" extensions:"x-nullable"`
} //	@name	AuditActor

// AuditEvent is one act recorded in the audit trail, written in the same database transaction as
// the change it records.
type AuditEvent struct {
	ID string `json:"id" binding:"required" example:"aud_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Action names the act, e.g. sepa.ceiling_override, statement.mark_paid, api_key.create.
	Action   string     `json:"action" binding:"required" example:"sepa.ceiling_override"`
	Actor    AuditActor `json:"actor" binding:"required"`
	TargetID string     `json:"target_id" binding:"required" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// RequestID is the X-Request-Id of the request that did it (null for the process's own jobs).
	RequestID *string `json:"request_id" binding:"required" extensions:"x-nullable"`
	// Before and After are the resource as its GET answered before and after the act (null when
	// it did not exist, or does not any more).
	Before    json.RawMessage `json:"before" binding:"required" swaggertype:"object" extensions:"x-nullable"`
	After     json.RawMessage `json:"after" binding:"required" swaggertype:"object" extensions:"x-nullable"`
	CreatedAt time.Time       `json:"created_at" binding:"required" format:"date-time"`
} //	@name	AuditEvent

// AuditEventList is a page of audit events, newest first.
type AuditEventList struct {
	Data []AuditEvent `json:"data" binding:"required"`
	listMeta
} //	@name	AuditEventList

func nullJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func toAuditEvent(e audit.Event) AuditEvent {
	return AuditEvent{ID: e.ID, Action: e.Action, TargetID: e.TargetID, RequestID: optional(e.RequestID),
		Actor:  AuditActor{Sub: e.Actor.Subject, Role: e.Actor.Role, Org: optional(e.Actor.Org), APIKeyID: optional(e.Actor.APIKeyID)},
		Before: nullJSON(e.Before), After: nullJSON(e.After), CreatedAt: e.CreatedAt}
}

// listAuditEvents godoc
//
//	@Summary		List the audit trail
//	@Description	Newest first. Audited: SEPA ceiling overrides and reinstatements, month close starts, invoicing decisions, statements marked paid, webhook endpoint and API key changes.
//	@Tags			audit
//	@ID				listAuditEvents
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			actor		query		string	false	"Only the acts of this sub or API key id"
//	@Param			action		query		string	false	"Only this action, e.g. api_key.revoke"
//	@Param			target_id	query		string	false	"Only the acts on this resource"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	AuditEventList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/admin/audit-events [get]
func (s *Server) listAuditEvents(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.audit.List(c.Request.Context(), audit.Filter{Actor: c.Query("actor"), Action: c.Query("action"), TargetID: c.Query("target_id")}, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := AuditEventList{Data: make([]AuditEvent, len(res.Items)), listMeta: metaOf(res)}
	for i, e := range res.Items {
		out.Data[i] = toAuditEvent(e)
	}
	c.JSON(http.StatusOK, out)
}

// sepaStanding is a buyer's stored SEPA standing as the audit trail shows it before and after a
// ceiling override or a reinstatement (the SEPA profile's GET is computed from it).
type sepaStanding struct {
	BuyerID         string     `json:"buyer_id"`
	Ceiling         int64      `json:"ceiling"`
	Suspended       bool       `json:"suspended"`
	SuspendedReason *string    `json:"suspended_reason"`
	ProbationStart  *time.Time `json:"probation_start"`
}

func toSEPAStanding(p sepa.Profile) sepaStanding {
	return sepaStanding{BuyerID: p.BuyerID, Ceiling: p.Ceiling, Suspended: p.Suspended, SuspendedReason: optional(p.SuspendedReason),
		ProbationStart: optionalTime(p.ProbationStart)}
}
