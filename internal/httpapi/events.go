package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/validation"
)

// routes of events.
func (s *Server) routeEvents(v1 *gin.RouterGroup) {
	v1.GET("/events", s.listEvents)
	v1.GET("/events/:id", s.getEvent)
}

var eventErrors = []errorMapping{
	{events.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
}

// Event is a change told to integrators: listed here and pushed to webhook endpoints.
type Event struct {
	ID   string `json:"id" binding:"required" example:"evt_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Type string `json:"type" binding:"required" enums:"order.confirmed,order.cancelled,order.refunded,payment_intent.requires_action,payment_intent.scheduled,payment_intent.succeeded,payment_intent.failed,payment_intent.canceled,card.blocked,mandate.submitted,mandate.active,mandate.failed,mandate.cancelled,sepa.enabled,sepa.disabled,sepa.ceiling_changed,sepa_collection.prenotified,sepa_collection.submitted,sepa_collection.succeeded,sepa_collection.failed,sepa_collection.retrying,sepa_collection.recovered,invoicing_account.requested,invoicing_account.approved,invoicing_account.rejected,invoicing_account.revoked,statement.issued,statement.paid,refund.succeeded,refund.failed,dispute.created,dispute.closed,payout.paid,payout.failed,payout.returned,reconciliation.mismatch,webhook_endpoint.disabled" example:"payment_intent.succeeded"`
	// CreatedAt is when the change happened.
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
	// BuyerID and CenterID are the organisations the event concerns (null for none).
	BuyerID  *string   `json:"buyer_id" binding:"required" extensions:"x-nullable"`
	CenterID *string   `json:"center_id" binding:"required" extensions:"x-nullable"`
	Data     EventData `json:"data" binding:"required"`
} //	@name	Event

// EventData holds the resource the event is about.
type EventData struct {
	// Object is the resource as its GET answered at the change (an Order, a PaymentIntent, a
	// Collection, ...: see the event catalogue in docs/webhooks.md).
	Object json.RawMessage `json:"object" binding:"required" swaggertype:"object"`
} //	@name	EventData

// EventList is a page of events, newest first.
type EventList struct {
	Data []Event `json:"data" binding:"required"`
	listMeta
} //	@name	EventList

func toEvent(e events.Event) Event {
	out := Event{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt, BuyerID: optional(e.BuyerID), CenterID: optional(e.CenterID)}
	var data struct {
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(e.Data, &data); err != nil || len(data.Object) == 0 {
		data.Object = json.RawMessage("{}")
	}
	out.Data.Object = data.Object
	return out
}

// listEvents godoc
//
//	@Summary		List events
//	@Description	Newest first. A buyer sees the events about it, a centre the events about it, admin and service every event. Events are kept 90 days.
//	@Tags			events
//	@ID				listEvents
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			type			query		[]string	false	"Only these types (repeat the parameter for several)"	collectionFormat(multi)
//	@Param			created_after	query		string		false	"Only events created after this instant (RFC 3339)"	format(date-time)
//	@Param			created_before	query		string		false	"Only events created before this instant (RFC 3339)"	format(date-time)
//	@Param			limit			query		int			false	"Page size (1–100)"	default(20)
//	@Param			cursor			query		string		false	"next_cursor of the previous page"
//	@Success		200				{object}	EventList
//	@Failure		401,422			{object}	Problem
//	@Router			/v1/events [get]
func (s *Server) listEvents(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var f events.Filter
	var errs validation.Collector
	for i, t := range c.QueryArray("type") {
		if _, ok := events.Lookup(t); !ok {
			errs.Add(fmt.Sprintf("type[%d]", i), "oneof", "unknown event type")
		}
		f.Types = append(f.Types, t)
	}
	f.CreatedAfter = queryTime(c, "created_after", &errs)
	f.CreatedBefore = queryTime(c, "created_before", &errs)
	if err := errs.Err(); err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.events.Events(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := EventList{Data: make([]Event, len(res.Items)), listMeta: metaOf(res)}
	for i, e := range res.Items {
		out.Data[i] = toEvent(e)
	}
	c.JSON(http.StatusOK, out)
}

func queryTime(c *gin.Context, name string, errs *validation.Collector) time.Time {
	v := c.Query(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		errs.Add(name, "format", "must be an RFC 3339 date-time, e.g. 2026-11-30T23:00:00Z")
	}
	return t
}

// getEvent godoc
//
//	@Summary		Get an event
//	@Description	An event the caller may see (its buyer, its centre, admin and service); another organisation's answers 404.
//	@Tags			events
//	@ID				getEvent
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Event id"
//	@Success		200	{object}	Event
//	@Failure		401,404	{object}	Problem
//	@Router			/v1/events/{id} [get]
func (s *Server) getEvent(c *gin.Context) {
	e, err := s.events.Event(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toEvent(e))
}
