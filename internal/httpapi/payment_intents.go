package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/payments"
)

// routes of the payment intents capability.
func (s *Server) routePaymentIntents(v1 *gin.RouterGroup) {
	owners := s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService)
	if s.ownIdempotency == nil {
		s.ownIdempotency = map[string]bool{}
	}
	s.ownIdempotency[v1.BasePath()+"/payment-intents"] = true // see createPaymentIntent
	v1.POST("/payment-intents", owners, s.createPaymentIntent)
	v1.GET("/payment-intents", owners, s.listPaymentIntents)
	v1.GET("/payment-intents/:id", owners, s.getPaymentIntent)
	v1.POST("/payment-intents/:id/cancel", owners, s.cancelPaymentIntent)
}

// paymentErrors; payments.ErrNoProvider and ErrProviderRefused wrap psp.ErrUnavailable, mapped to
// 502 psp_unavailable by the foundation's table.
var paymentErrors = []errorMapping{
	{payments.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{payments.ErrNotCancelable, http.StatusConflict, "intent_not_cancelable", "Payment intent not cancelable"},
	{payments.ErrInvalidTransition, http.StatusConflict, "invalid_transition", "Invalid transition"},
	{payments.ErrCardBlocked, http.StatusConflict, "card_blocked", "Card blocked"},
	{payments.ErrCardInactive, http.StatusConflict, "card_inactive", "Card inactive"},
	{payments.ErrCardNotFound, http.StatusNotFound, "not_found", "Not found"},
	{payments.ErrCollectionNotPayable, http.StatusConflict, "collection_not_payable", "Collection not payable"},
	{payments.ErrRegistrationNotFound, http.StatusNotFound, "not_found", "Not found"},
	{payments.ErrCardRegistrationFailed, http.StatusUnprocessableEntity, "card_registration_failed", "Card registration failed"},
}

// PaymentIntentRequest pays an order.
type PaymentIntentRequest struct {
	// BuyerID is required for admin and service callers; a buyer leaves it out (or gives its own id).
	BuyerID string `json:"buyer_id,omitempty" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// OrderID is the order to pay; required unless collection_id is given.
	OrderID string `json:"order_id,omitempty" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// CollectionID (method card, no order_id): a failed SEPA collection of the buyer to pay by
	// card; its success makes the collection recovered and gives the buyer its SEPA back.
	CollectionID string `json:"collection_id,omitempty" example:"col_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Method       string `json:"method" binding:"required" enums:"card,sepa_debit,vhu_invoice" example:"card"`
	// CardID (method card): an active card of the buyer.
	CardID string `json:"card_id,omitempty" example:"card_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// ReturnURL (method card): where the bank sends the browser back after 3-D Secure, with
	// ?payment_intent=<id> added. https, or http on localhost/127.0.0.1; no fragment.
	ReturnURL string `json:"return_url,omitempty" example:"https://shop.example/checkout/return"`
	// BrowserInfo (method card) describes the buyer's browser for 3-D Secure; missing fields take
	// defaults (a desktop browser in France, the request's User-Agent).
	BrowserInfo *BrowserInfo `json:"browser_info,omitempty"`
	// IPAddress (method card) is the buyer's IP address; default: the request's client address.
	IPAddress string `json:"ip_address,omitempty" example:"203.0.113.7"`
} //	@name	PaymentIntentRequest

// BrowserInfo is what 3-D Secure needs to know about the buyer's browser.
type BrowserInfo struct {
	AcceptHeader      *string `json:"accept_header,omitempty" example:"text/html,application/xhtml+xml"`
	JavaEnabled       *bool   `json:"java_enabled,omitempty" example:"false"`
	JavascriptEnabled *bool   `json:"javascript_enabled,omitempty" example:"true"`
	Language          *string `json:"language,omitempty" example:"fr-FR"`
	ColorDepth        *int    `json:"color_depth,omitempty" enums:"1,4,8,15,16,24,30,32,48" example:"24"`
	ScreenHeight      *int    `json:"screen_height,omitempty" example:"1080"`
	ScreenWidth       *int    `json:"screen_width,omitempty" example:"1920"`
	// TimeZoneOffset is in minutes, as Date.getTimezoneOffset() gives it.
	TimeZoneOffset *int    `json:"time_zone_offset,omitempty" example:"-60"`
	UserAgent      *string `json:"user_agent,omitempty"`
} //	@name	BrowserInfo

// PaymentIntent is one attempt to pay an order. Amounts are euro cents.
type PaymentIntent struct {
	ID string `json:"id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// OrderID is the order paid; null for a card payment of a failed SEPA collection.
	OrderID *string `json:"order_id" binding:"required" extensions:"x-nullable"`
	// CollectionID is the failed SEPA collection a card payment pays; null otherwise.
	CollectionID *string `json:"collection_id" binding:"required" extensions:"x-nullable"`
	BuyerID      string  `json:"buyer_id" binding:"required"`
	Amount       int64   `json:"amount" binding:"required" example:"14400"`
	// AmountRefunded is what the intent's refunds hold, pending or succeeded (cents).
	AmountRefunded int64  `json:"amount_refunded" binding:"required" example:"0"`
	Currency       string `json:"currency" binding:"required" enums:"EUR"`
	Method         string `json:"method" binding:"required" enums:"card,sepa_debit,vhu_invoice"`
	Status         string `json:"status" binding:"required" enums:"requires_action,processing,scheduled,succeeded,failed,canceled"`
	// NextAction is set in requires_action only.
	NextAction *NextAction `json:"next_action" binding:"required" extensions:"x-nullable"`
	// LastError is set when the intent failed, or was canceled because it expired.
	LastError          *LastError `json:"last_error" binding:"required" extensions:"x-nullable"`
	CardID             *string    `json:"card_id" binding:"required" extensions:"x-nullable"`
	MandateID          *string    `json:"mandate_id" binding:"required" extensions:"x-nullable"`
	CollectionMonth    *string    `json:"collection_month" binding:"required" extensions:"x-nullable" example:"2026-11"`
	InvoicingAccountID *string    `json:"invoicing_account_id" binding:"required" extensions:"x-nullable"`
	CreatedAt          time.Time  `json:"created_at" binding:"required" format:"date-time"`
	UpdatedAt          time.Time  `json:"updated_at" binding:"required" format:"date-time"`
} //	@name	PaymentIntent

// NextAction is what the client must do: send the buyer's browser to redirect_to_url.url.
type NextAction struct {
	Type          string        `json:"type" binding:"required" enums:"redirect_to_url"`
	RedirectToURL RedirectToURL `json:"redirect_to_url" binding:"required"`
} //	@name	NextAction

// RedirectToURL is the bank's 3-D Secure page and the client's return_url, where the bank sends
// the browser back (with ?payment_intent=<id> added).
type RedirectToURL struct {
	URL       string `json:"url" binding:"required"`
	ReturnURL string `json:"return_url" binding:"required"`
} //	@name	RedirectToURL

// LastError says why an intent failed or expired.
type LastError struct {
	Code    string `json:"code" binding:"required" example:"card_declined"`
	Message string `json:"message" binding:"required"`
} //	@name	LastError

// PaymentIntentList is a page of payment intents.
type PaymentIntentList struct {
	Data []PaymentIntent `json:"data" binding:"required"`
	listMeta
} //	@name	PaymentIntentList

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toPaymentIntent(pi payments.Intent) PaymentIntent {
	out := PaymentIntent{ID: pi.ID, OrderID: optional(pi.OrderID), CollectionID: optional(pi.CollectionID), BuyerID: pi.BuyerID, Amount: pi.Amount, AmountRefunded: pi.AmountRefunded, Currency: pi.Currency,
		Method: string(pi.Method), Status: string(pi.Status), CardID: optional(pi.CardID), MandateID: optional(pi.MandateID),
		CollectionMonth: optional(pi.CollectionMonth), InvoicingAccountID: optional(pi.InvoicingAccountID),
		CreatedAt: pi.CreatedAt, UpdatedAt: pi.UpdatedAt}
	if pi.NextAction != nil {
		out.NextAction = &NextAction{Type: string(pi.NextAction.Type),
			RedirectToURL: RedirectToURL{URL: pi.NextAction.RedirectToURL.URL, ReturnURL: pi.NextAction.RedirectToURL.ReturnURL}}
	}
	if pi.LastError != nil {
		out.LastError = &LastError{Code: string(pi.LastError.Code), Message: pi.LastError.Message}
	}
	return out
}

// createPaymentIntent godoc
//
//	@Summary		Pay an order
//	@ID			createPaymentIntent
//	@Description	The order must be payment_pending (else 409 order_not_payable); an earlier open intent of the order is canceled first. A buyer pays its own orders (leave buyer_id out); admin and service give buyer_id.
//	@Description	card: needs card_id (an active card of the buyer: blocked → 409 card_blocked, inactive → 409 card_inactive, unknown → 422 on card_id) and return_url. 3-D Secure needed → requires_action with next_action.redirect_to_url; frictionless → succeeded (the order confirmed) or failed with last_error at once. The intent is recorded (processing) before the card is charged: the provider unreachable or refusing → 502 psp_unavailable (a refused charge cancels the intent; an unanswered one stays processing until it is resolved); the same request retried with its Idempotency-Key resumes that intent and never charges twice.
//	@Description	sepa_debit → scheduled with mandate_id and collection_month; vhu_invoice → scheduled with invoicing_account_id; both confirm the order. A method this server does not offer yet answers 422 on method.
//	@Description	Recovery by card: {method: card, collection_id, card_id, return_url} and no order_id pays a failed SEPA collection of the buyer (its amount) with 3-D Secure like any card payment; the intent has collection_id and order_id null. Its success makes the collection recovered, settles the buyer's debt and gives its SEPA back at once (ceiling 250.00 EUR, a new probation, ceiling change reason reinstated). A collection that is not failed → 409 collection_not_payable; an unknown one, or another buyer's → 422 on collection_id.
//	@Tags			payment-intents
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		PaymentIntentRequest	true	"The payment"
//	@Success		201				{object}	PaymentIntent
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,409,413,422,502	{object}	Problem
//	@Router			/v1/payment-intents [post]
//
// Idempotency-Key: a payment by a deferred method (sepa_debit, vhu_invoice) writes its key's
// record, with the answer, in the payment's own transaction (payInOneCommit); every other request
// of this route goes through the general rules (idempotently).
func (s *Server) createPaymentIntent(c *gin.Context) {
	var req PaymentIntentRequest
	bindErr := s.bind(c, &req)
	key := c.GetHeader("Idempotency-Key")
	if bindErr == nil && key != "" && validIdempotencyKey(key) && payments.Method(req.Method).Deferred() {
		s.payInOneCommit(c, req, key)
		return
	}
	s.idempotently(c, func() {
		if bindErr != nil {
			s.writeError(c, bindErr)
			return
		}
		s.pay(c, s.paymentInput(c, req))
	})
}

// payInOneCommit pays by a deferred method with the Idempotency-Key's record and the answer
// written in the payment's transaction: an accepted payment is one commit, and a crash at any
// point leaves either nothing (a retry runs again) or the payment with its answer (a retry
// replays it). A refusal, or a key that holds a record already (a replay, a reuse, a request
// still running), is answered through the general rules.
func (s *Server) payInOneCommit(c *gin.Context, req PaymentIntentRequest, key string) {
	in := s.paymentInput(c, req)
	hash := s.idem.Hash(c.Request.Method, c.Request.URL.Path, bodyOf(c))
	var answer idempotency.Response // as kept, and sent
	in.Answer = &payments.Answer{
		Record: s.idem.Done(principal(c).Scope(), key, hash),
		Render: func(pi payments.Intent) (idempotency.Response, error) {
			body, err := json.Marshal(toPaymentIntent(pi)) // as c.JSON renders it
			answer = idempotency.Response{Status: http.StatusCreated, ContentType: jsonContentType,
				Location: "/v1/payment-intents/" + pi.ID, Body: body}
			return answer, err
		},
	}
	_, err := s.payments.Create(c.Request.Context(), principal(c), in)
	switch {
	case errors.Is(err, idempotency.ErrTaken):
		// Nothing was written: the key's record answers (replay, reuse, in use), or, when its
		// request died running, this request runs again under the general rules.
		in.Answer = nil
		s.idempotently(c, func() { s.pay(c, in) })
	case err != nil:
		s.idempotently(c, func() { s.writeError(c, err) })
	default:
		c.Header("Location", answer.Location)
		c.Data(answer.Status, answer.ContentType, answer.Body)
	}
}

// jsonContentType is the Content-Type of c.JSON's answers.
const jsonContentType = "application/json; charset=utf-8"

// paymentInput is the payments service's input of a request.
func (s *Server) paymentInput(c *gin.Context, req PaymentIntentRequest) payments.CreateInput {
	in := payments.CreateInput{BuyerID: req.BuyerID, OrderID: req.OrderID, CollectionID: req.CollectionID, Method: payments.Method(req.Method),
		Card: payments.CardInput{CardID: req.CardID, ReturnURL: req.ReturnURL, IPAddress: req.IPAddress,
			RequestIP: c.ClientIP(), RequestUserAgent: c.GetHeader("User-Agent")}}
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		in.RequestKey = payments.RequestKey(principal(c).Scope(), key)
	}
	if b := req.BrowserInfo; b != nil {
		in.Card.Browser = payments.BrowserInput{AcceptHeader: b.AcceptHeader, JavaEnabled: b.JavaEnabled, JavascriptEnabled: b.JavascriptEnabled,
			Language: b.Language, ColorDepth: b.ColorDepth, ScreenHeight: b.ScreenHeight, ScreenWidth: b.ScreenWidth,
			TimeZoneOffset: b.TimeZoneOffset, UserAgent: b.UserAgent}
	}
	return in
}

// pay creates the intent and answers 201.
func (s *Server) pay(c *gin.Context, in payments.CreateInput) {
	if in.Method == payments.MethodCard && in.Card.ReturnURL != "" {
		if err := s.checkReturnURL("return_url", in.Card.ReturnURL); err != nil {
			s.writeError(c, err)
			return
		}
	}
	pi, err := s.payments.Create(c.Request.Context(), principal(c), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/payment-intents/"+pi.ID, toPaymentIntent(pi))
}

// listPaymentIntents godoc
//
//	@Summary		List payment intents
//	@ID			listPaymentIntents
//	@Description	Newest first. A buyer sees its own intents; admin and service every buyer's (or buyer_id's).
//	@Tags			payment-intents
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			order_id	query		string	false	"Only this order's intents"
//	@Param			buyer_id	query		string	false	"Admin and service: only this buyer's intents"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	PaymentIntentList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/payment-intents [get]
func (s *Server) listPaymentIntents(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := payments.IntentFilter{OrderID: c.Query("order_id"), BuyerID: c.Query("buyer_id")}
	res, err := s.payments.Intents(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := PaymentIntentList{Data: make([]PaymentIntent, len(res.Items)), listMeta: metaOf(res)}
	for i, pi := range res.Items {
		out.Data[i] = toPaymentIntent(pi)
	}
	c.JSON(http.StatusOK, out)
}

// getPaymentIntent godoc
//
//	@Summary		Get a payment intent
//	@ID			getPaymentIntent
//	@Description	A card intent waiting for 3-D Secure is refreshed from the provider first (when the provider does not answer, the stored state is returned); a card intent left processing by a crash or a lost answer is resumed (its pay-in looked up by the intent's key).
//	@Tags			payment-intents
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Payment intent id"
//	@Success		200	{object}	PaymentIntent
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/payment-intents/{id} [get]
func (s *Server) getPaymentIntent(c *gin.Context) {
	pi, err := s.payments.Intent(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPaymentIntent(pi))
}

// cancelPaymentIntent godoc
//
//	@Summary		Cancel a payment intent
//	@ID			cancelPaymentIntent
//	@Description	Only from requires_action (after a refresh from the provider) → 200 canceled; otherwise 409 intent_not_cancelable. The order stays payment_pending.
//	@Tags			payment-intents
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string	false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			id				path		string	true	"Payment intent id"
//	@Success		200				{object}	PaymentIntent
//	@Failure		401,403,404,409,422	{object}	Problem
//	@Router			/v1/payment-intents/{id}/cancel [post]
func (s *Server) cancelPaymentIntent(c *gin.Context) {
	pi, err := s.payments.Cancel(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toPaymentIntent(pi))
}
