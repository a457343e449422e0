package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/txn"
	"github.com/vhupay/vhupay/internal/webhooks"
)

// routes of webhook endpoints: centres (their events), admin and service (every event).
func (s *Server) routeWebhooks(v1 *gin.RouterGroup) {
	owners := s.allow(auth.RoleCenter, auth.RoleAdmin, auth.RoleService)
	v1.POST("/webhook-endpoints", owners, s.createWebhookEndpoint)
	v1.GET("/webhook-endpoints", owners, s.listWebhookEndpoints)
	v1.GET("/webhook-endpoints/:id", owners, s.getWebhookEndpoint)
	v1.PATCH("/webhook-endpoints/:id", owners, s.updateWebhookEndpoint)
	v1.DELETE("/webhook-endpoints/:id", owners, s.deleteWebhookEndpoint)
	v1.POST("/webhook-endpoints/:id/rotate-secret", owners, s.rotateWebhookSecret)
	v1.GET("/webhook-endpoints/:id/deliveries", owners, s.listWebhookDeliveries)
	v1.POST("/webhook-endpoints/:id/deliveries/:delivery_id/retry", owners, s.retryWebhookDelivery)
}

var webhookErrors = []errorMapping{
	{webhooks.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
}

// WebhookEndpointRequest registers a webhook endpoint.
type WebhookEndpointRequest struct {
	// URL receives the events (POST). https; http to a loopback address in the sandbox only.
	URL string `json:"url" binding:"required" example:"https://erp.example-centre.fr/vhupay/webhooks"`
	// EnabledEvents are the event types sent: ["*"] for all the owner may see, or a list of types.
	EnabledEvents []string `json:"enabled_events" binding:"required" example:"payment_intent.succeeded,order.confirmed"`
	Description   string   `json:"description,omitempty" example:"ERP of the Lyon centre"`
} //	@name	WebhookEndpointRequest

// WebhookEndpointUpdate changes a webhook endpoint; fields left out stay.
type WebhookEndpointUpdate struct {
	URL           *string   `json:"url,omitempty"`
	EnabledEvents *[]string `json:"enabled_events,omitempty"`
	Description   *string   `json:"description,omitempty"`
	// Status: enabled (again: its failure record is cleared) or disabled (nothing is sent).
	Status *string `json:"status,omitempty" enums:"enabled,disabled"`
} //	@name	WebhookEndpointUpdate

// WebhookEndpoint is a URL that receives events, signed as the Standard Webhooks specification
// says.
type WebhookEndpoint struct {
	ID  string `json:"id" binding:"required" example:"we_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	URL string `json:"url" binding:"required"`
	// EnabledEvents is ["*"] or a list of event types.
	EnabledEvents []string `json:"enabled_events" binding:"required"`
	Description   string   `json:"description" binding:"required"`
	// Status: disabled by its owner, or by vhupay after 3 days of failed deliveries.
	Status string `json:"status" binding:"required" enums:"enabled,disabled"`
	// CenterID is the owning centre; null for an endpoint of the platform (every event).
	CenterID  *string   `json:"center_id" binding:"required" extensions:"x-nullable"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	WebhookEndpoint

// WebhookEndpointWithSecret is a webhook endpoint with its signing secret, shown only when it is
// created or its secret rotated.
type WebhookEndpointWithSecret struct {
	WebhookEndpoint
	// Secret signs the deliveries: whsec_ and the base64 of 32 random bytes.
	Secret string `json:"secret" binding:"required" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
} //	@name	WebhookEndpointWithSecret

// WebhookEndpointList is a page of webhook endpoints, newest first.
type WebhookEndpointList struct {
	Data []WebhookEndpoint `json:"data" binding:"required"`
	listMeta
} //	@name	WebhookEndpointList

// WebhookDelivery is one event sent (or to send) to one endpoint.
type WebhookDelivery struct {
	ID        string `json:"id" binding:"required" example:"whd_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	EventID   string `json:"event_id" binding:"required"`
	EventType string `json:"event_type" binding:"required" enums:"order.confirmed,order.cancelled,order.refunded,payment_intent.requires_action,payment_intent.scheduled,payment_intent.succeeded,payment_intent.failed,payment_intent.canceled,card.blocked,mandate.submitted,mandate.active,mandate.failed,mandate.cancelled,sepa.enabled,sepa.disabled,sepa.ceiling_changed,sepa_collection.prenotified,sepa_collection.submitted,sepa_collection.succeeded,sepa_collection.failed,sepa_collection.retrying,sepa_collection.recovered,invoicing_account.requested,invoicing_account.approved,invoicing_account.rejected,invoicing_account.revoked,statement.issued,statement.paid,refund.succeeded,refund.failed,dispute.created,dispute.closed,payout.paid,payout.failed,payout.returned,reconciliation.mismatch,webhook_endpoint.disabled"`
	// Status: pending (being sent or retried), succeeded (a 2xx answer), failed (3 days of failures).
	Status   string `json:"status" binding:"required" enums:"pending,succeeded,failed"`
	Attempts int    `json:"attempts" binding:"required"`
	// LastStatusCode is the HTTP status of the latest attempt (null: none, or no answer).
	LastStatusCode *int    `json:"last_status_code" binding:"required" extensions:"x-nullable"`
	LastError      *string `json:"last_error" binding:"required" extensions:"x-nullable"`
	// NextAttemptAt is when the next attempt is due (null once it succeeded or failed).
	NextAttemptAt *time.Time `json:"next_attempt_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	CreatedAt     time.Time  `json:"created_at" binding:"required" format:"date-time"`
} //	@name	WebhookDelivery

// WebhookDeliveryList is a page of deliveries, newest first.
type WebhookDeliveryList struct {
	Data []WebhookDelivery `json:"data" binding:"required"`
	listMeta
} //	@name	WebhookDeliveryList

func toWebhookEndpoint(ep webhooks.Endpoint) WebhookEndpoint {
	types := ep.EnabledEvents
	if types == nil {
		types = []string{}
	}
	return WebhookEndpoint{ID: ep.ID, URL: ep.URL, EnabledEvents: types, Description: ep.Description, Status: string(ep.Status),
		CenterID: optional(ep.CenterID), CreatedAt: ep.CreatedAt}
}

func toWebhookDelivery(d webhooks.Delivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: string(d.Status), Attempts: d.Attempts,
		LastError: optional(d.LastError), NextAttemptAt: optionalTime(d.NextAttemptAt), CreatedAt: d.CreatedAt}
	if d.LastStatusCode != 0 {
		code := d.LastStatusCode
		out.LastStatusCode = &code
	}
	return out
}

// createWebhookEndpoint godoc
//
//	@Summary		Register a webhook endpoint
//	@Description	A centre gets its own events; admin and service every event. enabled_events is ["*"] or event types of the catalogue (an unknown type answers 422). The answer holds the signing secret, shown only here. In production the URL must be https and must not be, or resolve to, a loopback, private, link-local or metadata address (checked again at every connection); the sandbox also accepts http to loopback.
//	@Tags			webhooks
//	@ID				createWebhookEndpoint
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		WebhookEndpointRequest	true	"The endpoint"
//	@Success		201				{object}	WebhookEndpointWithSecret
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/webhook-endpoints [post]
func (s *Server) createWebhookEndpoint(c *gin.Context) {
	var req WebhookEndpointRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	ep, err := s.webhooks.Create(ctx, principal(c), webhooks.CreateInput{URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description})
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/webhook-endpoints/"+ep.ID, WebhookEndpointWithSecret{WebhookEndpoint: toWebhookEndpoint(ep), Secret: ep.Secret})
}

// listWebhookEndpoints godoc
//
//	@Summary		List webhook endpoints
//	@Description	A centre's own endpoints; admin and service see every endpoint. Secrets are never listed.
//	@Tags			webhooks
//	@ID				listWebhookEndpoints
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	WebhookEndpointList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/webhook-endpoints [get]
func (s *Server) listWebhookEndpoints(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.webhooks.Endpoints(c.Request.Context(), principal(c), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := WebhookEndpointList{Data: make([]WebhookEndpoint, len(res.Items)), listMeta: metaOf(res)}
	for i, ep := range res.Items {
		out.Data[i] = toWebhookEndpoint(ep)
	}
	c.JSON(http.StatusOK, out)
}

// getWebhookEndpoint godoc
//
//	@Summary		Get a webhook endpoint
//	@Description	Its owner (admin and service: any). Another centre's endpoint answers 404.
//	@Tags			webhooks
//	@ID				getWebhookEndpoint
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Webhook endpoint id"
//	@Success		200	{object}	WebhookEndpoint
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id} [get]
func (s *Server) getWebhookEndpoint(c *gin.Context) {
	ep, err := s.webhooks.Endpoint(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWebhookEndpoint(ep))
}

// updateWebhookEndpoint godoc
//
//	@Summary		Change a webhook endpoint
//	@Description	Fields left out stay. Enabling a disabled endpoint clears its failure record; its failed deliveries can be sent again with the retry endpoint.
//	@Tags			webhooks
//	@ID				updateWebhookEndpoint
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string					true	"Webhook endpoint id"
//	@Param			body	body		WebhookEndpointUpdate	true	"The changes"
//	@Success		200		{object}	WebhookEndpoint
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id} [patch]
func (s *Server) updateWebhookEndpoint(c *gin.Context) {
	var req WebhookEndpointUpdate
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	in := webhooks.UpdateInput{URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description}
	if req.Status != nil {
		st := webhooks.Status(*req.Status)
		in.Status = &st
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	ep, err := s.webhooks.Update(ctx, principal(c), c.Param("id"), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWebhookEndpoint(ep))
}

// deleteWebhookEndpoint godoc
//
//	@Summary		Delete a webhook endpoint
//	@Description	Nothing more is sent to it; its deliveries are deleted with it.
//	@Tags			webhooks
//	@ID				deleteWebhookEndpoint
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path	string	true	"Webhook endpoint id"
//	@Success		204
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id} [delete]
func (s *Server) deleteWebhookEndpoint(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	if err := s.webhooks.Delete(ctx, principal(c), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// rotateWebhookSecret godoc
//
//	@Summary		Rotate a webhook endpoint's secret
//	@Description	Answers the new secret, shown only here. For 24 hours the previous secret keeps signing too: each delivery carries two signatures (space-separated in webhook-signature), so receivers can switch without losing any.
//	@Tags			webhooks
//	@ID				rotateWebhookSecret
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Webhook endpoint id"
//	@Success		200				{object}	WebhookEndpointWithSecret
//	@Failure		401,403,404,409	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id}/rotate-secret [post]
func (s *Server) rotateWebhookSecret(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	ep, err := s.webhooks.RotateSecret(ctx, principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, WebhookEndpointWithSecret{WebhookEndpoint: toWebhookEndpoint(ep), Secret: ep.Secret})
}

// listWebhookDeliveries godoc
//
//	@Summary		List a webhook endpoint's deliveries
//	@Description	Newest first: each event sent (or being retried) to the endpoint, with its attempts.
//	@Tags			webhooks
//	@ID				listWebhookDeliveries
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id		path		string	true	"Webhook endpoint id"
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	WebhookDeliveryList
//	@Failure		401,403,404,422	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id}/deliveries [get]
func (s *Server) listWebhookDeliveries(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.webhooks.Deliveries(c.Request.Context(), principal(c), c.Param("id"), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := WebhookDeliveryList{Data: make([]WebhookDelivery, len(res.Items)), listMeta: metaOf(res)}
	for i, d := range res.Items {
		out.Data[i] = toWebhookDelivery(d)
	}
	c.JSON(http.StatusOK, out)
}

// retryWebhookDelivery godoc
//
//	@Summary		Send a delivery again
//	@Description	Sends the delivery's event again now, whatever its status (pending, failed, or succeeded: receivers deduplicate on webhook-id). Answers 202 with the delivery, pending.
//	@Tags			webhooks
//	@ID				retryWebhookDelivery
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Webhook endpoint id"
//	@Param			delivery_id		path		string	true	"Delivery id"
//	@Success		202				{object}	WebhookDelivery
//	@Failure		401,403,404,409	{object}	Problem
//	@Router			/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry [post]
func (s *Server) retryWebhookDelivery(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	d, err := s.webhooks.Retry(ctx, principal(c), c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, toWebhookDelivery(d))
}
