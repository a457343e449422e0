package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/orders"
)

// routes of the orders capability.
func (s *Server) routeOrders(v1 *gin.RouterGroup) {
	owners := s.allow(auth.RoleBuyer, auth.RoleAdmin, auth.RoleService)
	v1.POST("/orders", owners, s.createOrder)
	v1.GET("/orders", s.listOrders)
	v1.GET("/orders/:id", s.getOrder)
	v1.DELETE("/orders/:id", owners, s.deleteOrder)
}

var orderErrors = []errorMapping{
	{orders.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{orders.ErrNotDeletable, http.StatusConflict, "order_not_deletable", "Order not deletable"},
	{orders.ErrNotPayable, http.StatusConflict, "order_not_payable", "Order not payable"},
}

// OrderRequest creates an order.
type OrderRequest struct {
	// BuyerID is required for admin and service callers; a buyer leaves it out (or gives its own id).
	BuyerID string `json:"buyer_id,omitempty" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// CenterID is the selling centre; with a signed cart, the cart's.
	CenterID string `json:"center_id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// DeliveryMode: with a signed cart that sets one, the cart's.
	DeliveryMode string `json:"delivery_mode" binding:"required" enums:"delivery,pickup" example:"delivery"`
	// ExternalReference is the caller's own reference (at most 100 characters).
	ExternalReference string `json:"external_reference,omitempty" example:"CMD-2026-0042"`
	// Lines are given by admin and service callers, and by buyers in sandbox mode only; leave them
	// out with a signed cart.
	Lines []OrderLineRequest `json:"lines,omitempty" maxItems:"100"`
	// SignedCart is a cart signed by the marketplace back end (a compact JWS, HS256, see
	// docs/signed-carts.md): outside sandbox mode a buyer orders with it, and its centre and lines
	// (with their prices) make the order.
	SignedCart string `json:"signed_cart,omitempty" example:"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ2aHVwYXktY2FydCJ9.c2lnbmF0dXJl"`
} //	@name	OrderRequest

// OrderLineRequest is one ordered part.
type OrderLineRequest struct {
	Reference string `json:"reference" binding:"required" example:"PHARE-AV-G-208"`
	Label     string `json:"label" binding:"required" example:"Phare avant gauche Peugeot 208"`
	Quantity  int    `json:"quantity" binding:"required" minimum:"1" maximum:"1000" example:"1"`
	// UnitPriceExclVAT is in cents, excluding VAT.
	UnitPriceExclVAT int64 `json:"unit_price_excl_vat" binding:"required" minimum:"1" maximum:"100000000" example:"12000"`
	// VATRate is in basis points (2000 = 20 %, the default).
	VATRate *int `json:"vat_rate,omitempty" enums:"0,550,1000,2000" example:"2000"`
} //	@name	OrderLineRequest

// Order is a buyer's order of parts from one centre. Amounts are euro cents.
type Order struct {
	ID                string      `json:"id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	BuyerID           string      `json:"buyer_id" binding:"required"`
	CenterID          string      `json:"center_id" binding:"required"`
	Status            string      `json:"status" binding:"required" enums:"payment_pending,confirmed,cancelled,refunded"`
	DeliveryMode      string      `json:"delivery_mode" binding:"required" enums:"delivery,pickup"`
	ExternalReference *string     `json:"external_reference" binding:"required" extensions:"x-nullable"`
	Lines             []OrderLine `json:"lines" binding:"required"`
	TotalExclVAT      int64       `json:"total_excl_vat" binding:"required" example:"12000"`
	TotalVAT          int64       `json:"total_vat" binding:"required" example:"2400"`
	Total             int64       `json:"total" binding:"required" example:"14400"`
	// AmountRefunded is what the refunds of the order's payment hold, pending or succeeded
	// (cents); the order is refunded once refunds of its whole total succeeded.
	AmountRefunded int64         `json:"amount_refunded" binding:"required" example:"0"`
	Currency       string        `json:"currency" binding:"required" enums:"EUR"`
	Payment        *OrderPayment `json:"payment" binding:"required" extensions:"x-nullable"`
	// DeliveryNotes are the BL/BR numbers the centre attached, oldest first (always an array).
	DeliveryNotes []DeliveryNote `json:"delivery_notes" binding:"required"`
	CreatedAt     time.Time      `json:"created_at" binding:"required" format:"date-time"`
	UpdatedAt     time.Time      `json:"updated_at" binding:"required" format:"date-time"`
} //	@name	Order

// OrderLine is a priced order line: total_excl_vat = unit price × quantity, total_vat rounded half
// up per line, total = their sum.
type OrderLine struct {
	Reference        string `json:"reference" binding:"required"`
	Label            string `json:"label" binding:"required"`
	Quantity         int    `json:"quantity" binding:"required"`
	UnitPriceExclVAT int64  `json:"unit_price_excl_vat" binding:"required"`
	VATRate          int    `json:"vat_rate" binding:"required" enums:"0,550,1000,2000"`
	TotalExclVAT     int64  `json:"total_excl_vat" binding:"required"`
	TotalVAT         int64  `json:"total_vat" binding:"required"`
	Total            int64  `json:"total" binding:"required"`
} //	@name	OrderLine

// OrderPayment is the order's payment intent: the one that confirmed it, else the latest.
type OrderPayment struct {
	IntentID string `json:"intent_id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Method   string `json:"method" binding:"required" enums:"card,sepa_debit,vhu_invoice"`
	Status   string `json:"status" binding:"required" enums:"requires_action,processing,scheduled,succeeded,failed,canceled"`
} //	@name	OrderPayment

// DeliveryNote is a BL (bon de livraison) or BR (bon de retrait) number attached by the centre.
type DeliveryNote struct {
	Kind      string    `json:"kind" binding:"required" enums:"BL,BR"`
	Number    string    `json:"number" binding:"required" example:"BL-2026-00042"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	DeliveryNote

// OrderList is a page of orders.
type OrderList struct {
	Data []Order `json:"data" binding:"required"`
	listMeta
} //	@name	OrderList

func toOrder(o orders.Order) Order {
	out := Order{ID: o.ID, BuyerID: o.BuyerID, CenterID: o.CenterID, Status: string(o.Status), DeliveryMode: string(o.DeliveryMode),
		Lines: make([]OrderLine, len(o.Lines)), TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total,
		AmountRefunded: o.AmountRefunded, Currency: o.Currency, DeliveryNotes: make([]DeliveryNote, len(o.DeliveryNotes)), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if o.ExternalReference != "" {
		ref := o.ExternalReference
		out.ExternalReference = &ref
	}
	for i, l := range o.Lines {
		out.Lines[i] = OrderLine{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity, UnitPriceExclVAT: l.UnitPriceExclVAT,
			VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total}
	}
	if o.Payment != nil {
		out.Payment = &OrderPayment{IntentID: o.Payment.IntentID, Method: o.Payment.Method, Status: o.Payment.Status}
	}
	for i, n := range o.DeliveryNotes {
		out.DeliveryNotes[i] = toDeliveryNote(n)
	}
	return out
}

func toDeliveryNote(n orders.DeliveryNote) DeliveryNote {
	return DeliveryNote{Kind: string(n.Kind), Number: n.Number, CreatedAt: n.CreatedAt}
}

// createOrder godoc
//
//	@Summary		Create an order
//	@ID			createOrder
//	@Description	A buyer orders for itself (leave buyer_id out); admin and service give buyer_id. Prices come from a party that owns them: admin and service give the lines; outside sandbox mode a buyer gives signed_cart, a cart the marketplace back end signed for it (its lines make the order; center_id, and delivery_mode when the cart sets one, must be the cart's), and lines typed by a buyer answer 422 on signed_cart (sandbox mode still accepts them). A cart with a bad signature, expired, or signed for another buyer answers 422 on signed_cart. 1–100 lines, quantity 1–1000, unit price 1–100,000,000 cents, vat_rate in basis points (0, 550, 1000 or 2000; default 2000). VAT is computed per line, rounded half up. An unknown centre or buyer answers 422 on center_id or buyer_id.
//	@Tags			orders
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		OrderRequest	true	"The order"
//	@Success		201				{object}	Order
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/orders [post]
func (s *Server) createOrder(c *gin.Context) {
	var req OrderRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	in := orders.NewOrderInput{BuyerID: req.BuyerID, CenterID: req.CenterID, DeliveryMode: orders.DeliveryMode(req.DeliveryMode),
		ExternalReference: req.ExternalReference, Lines: make([]orders.LineInput, len(req.Lines)), SignedCart: req.SignedCart}
	for i, l := range req.Lines {
		in.Lines[i] = orders.LineInput{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity, UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate}
	}
	o, err := s.orders.Create(c.Request.Context(), principal(c), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/orders/"+o.ID, toOrder(o))
}

// listOrders godoc
//
//	@Summary		List orders
//	@ID			listOrders
//	@Description	Newest first. A buyer sees its own orders, a centre the orders it sold, admin and service every order (or buyer_id's). Without status, cancelled orders are left out.
//	@Tags			orders
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			status		query		string	false	"Only orders in this status"	Enums(payment_pending, confirmed, cancelled, refunded)
//	@Param			buyer_id	query		string	false	"Admin and service: only this buyer's orders"
//	@Param			limit		query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor		query		string	false	"next_cursor of the previous page"
//	@Success		200			{object}	OrderList
//	@Failure		401,422		{object}	Problem
//	@Router			/v1/orders [get]
func (s *Server) listOrders(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	f := orders.Filter{Status: orders.Status(c.Query("status")), BuyerID: c.Query("buyer_id")}
	res, err := s.orders.Orders(c.Request.Context(), principal(c), f, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	buf, _ := s.listBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	defer s.listBuffers.Put(buf)
	body, err := appendOrderList((*buf)[:0], res.Items, metaOf(res))
	if err != nil { // a time json cannot write: encoding/json answers as it always did
		out := OrderList{Data: make([]Order, len(res.Items)), listMeta: metaOf(res)}
		for i, o := range res.Items {
			out.Data[i] = toOrder(o)
		}
		c.JSON(http.StatusOK, out)
		return
	}
	*buf = body
	// The length up front: net/http otherwise sends a page of more than 2 KB in chunks, with one
	// more write to the socket for the last chunk.
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// getOrder godoc
//
//	@Summary		Get an order
//	@ID			getOrder
//	@Description	Its buyer, its centre, admin and service; another organisation's order answers 404.
//	@Tags			orders
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"Order id"
//	@Success		200	{object}	Order
//	@Failure		401,404	{object}	Problem
//	@Router			/v1/orders/{id} [get]
func (s *Server) getOrder(c *gin.Context) {
	o, err := s.orders.Order(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toOrder(o))
}

// deleteOrder godoc
//
//	@Summary		Delete an order
//	@ID			deleteOrder
//	@Description	Only from payment_pending: the order becomes cancelled (kept, hidden from the default listing) and its open payment intents are canceled in the same transaction. Otherwise (confirmed, cancelled, or a payment processing at the provider) 409 order_not_deletable.
//	@Tags			orders
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path	string	true	"Order id"
//	@Success		204
//	@Failure		401,403,404,409	{object}	Problem
//	@Router			/v1/orders/{id} [delete]
func (s *Server) deleteOrder(c *gin.Context) {
	if err := s.orders.Delete(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
