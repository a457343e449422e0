package orders

import (
	"context"
	"errors"
	"time"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/validation"
)

// ErrNotFound: no such order, or one the caller may not see (not_found).
var ErrNotFound = errors.New("order not found")

// Filter narrows a listing. Empty fields do not filter; an empty Status leaves cancelled orders out.
type Filter struct {
	BuyerID  string
	CenterID string
	Status   Status
}

// Store keeps orders. Reads return orders complete: lines in their order, Payment (see Payment
// below) and DeliveryNotes oldest first.
//
// Payment is the intent that confirmed the order (scheduled or succeeded) when there is one, else
// the order's newest intent, else nil.
type Store interface {
	// CreateOrder inserts o and its lines.
	CreateOrder(ctx context.Context, o Order) error
	// Order returns an order or ErrNotFound.
	Order(ctx context.Context, id string) (Order, error)
	// Orders lists orders newest first, with a bounded number of queries whatever the page size.
	Orders(ctx context.Context, f Filter, p page.Request) (page.Page[Order], error)
	// CancelOrder deletes an order as the buyer sees it, in one transaction: payment_pending →
	// cancelled at at (a conditional update) and its requires_action intents canceled. Errors:
	// ErrNotFound; ErrNotDeletable when the order is not payment_pending or a payment of it is
	// processing at the provider (money in flight).
	CancelOrder(ctx context.Context, id string, at time.Time) error
}

// Parties finds buyers and centres.
type Parties interface {
	Buyer(ctx context.Context, id string) (parties.Buyer, error)
	Center(ctx context.Context, id string) (parties.Center, error)
}

// Service creates, reads and deletes orders, scoping every read to the caller: a buyer sees its
// own orders, a centre the orders it sold, admin and service every order.
type Service struct {
	store   Store
	parties Parties
	clock   clock.Clock
	// carts verifies signed carts (nil: none are accepted); buyerLines lets buyers type their
	// own lines (sandbox mode only).
	carts      Carts
	buyerLines bool
}

// SignedCart is what a cart signed by the marketplace back end fixes: the centre and the lines
// with their prices (and the delivery mode when it set one).
type SignedCart struct {
	CenterID     string
	DeliveryMode DeliveryMode // "" when the buyer chooses
	Lines        []LineInput
}

// Carts verifies signed carts.
type Carts interface {
	// Verify returns the cart of token when it is valid and signed for buyerID; any error is the
	// cart's fault (it becomes a validation error on "signed_cart").
	Verify(token, buyerID string) (SignedCart, error)
}

// Option configures a Service.
type Option func(*Service)

// WithCarts accepts carts signed by the marketplace back end, verified by c.
func WithCarts(c Carts) Option { return func(s *Service) { s.carts = c } }

// WithBuyerLines lets buyers type their own lines and prices (sandbox mode only: a buyer could
// otherwise order an engine at 1 cent).
func WithBuyerLines() Option { return func(s *Service) { s.buyerLines = true } }

// NewService returns a Service. Without options, only admin and service callers give order lines
// (buyers cannot order): see WithCarts and WithBuyerLines.
func NewService(store Store, p Parties, clk clock.Clock, opts ...Option) *Service {
	s := &Service{store: store, parties: p, clock: clk}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create validates and stores a new payment_pending order.
//
// The buyer: a buyer orders for itself (BuyerID empty or its own id; another id is a
// validation error on "buyer_id"); admin and service must give BuyerID. Errors: *validation.Error
// (fields of NewOrder, "buyer_id" unknown or missing, "center_id" unknown), auth errors are the
// edge's.
func (s *Service) Create(ctx context.Context, who auth.Principal, in NewOrderInput) (Order, error) {
	buyerID, err := ActingBuyer(who, in.BuyerID)
	if err != nil {
		return Order{}, err
	}
	in.BuyerID = buyerID
	if in, err = s.priced(who, in); err != nil {
		return Order{}, err
	}
	o, err := NewOrder(in, id.New(id.Order), s.clock.Now())
	if err != nil {
		return Order{}, err
	}
	var errs validation.Collector
	if _, err := s.parties.Buyer(ctx, o.BuyerID); errors.Is(err, parties.ErrNotFound) {
		errs.Add("buyer_id", "unknown", "no such buyer")
	} else if err != nil {
		return Order{}, err
	}
	if _, err := s.parties.Center(ctx, o.CenterID); errors.Is(err, parties.ErrNotFound) {
		errs.Add("center_id", "unknown", "no such centre")
	} else if err != nil {
		return Order{}, err
	}
	if err := errs.Err(); err != nil {
		return Order{}, err
	}
	if err := s.store.CreateOrder(ctx, o); err != nil {
		return Order{}, err
	}
	o.DeliveryNotes = []DeliveryNote{}
	return o, nil
}

// ActingBuyer returns the buyer a caller acts for: a buyer acts for itself (given must be empty or
// its own id), admin and service for the buyer they name. Errors: *validation.Error on "buyer_id"
// (missing for admin/service, another buyer's for a buyer, or the caller's role does not act for
// buyers).
func ActingBuyer(who auth.Principal, given string) (string, error) {
	switch {
	case who.Role == auth.RoleBuyer:
		if given != "" && given != who.Org {
			return "", validation.Field("buyer_id", "forbidden", "a buyer acts only for itself; leave buyer_id out")
		}
		return who.Org, nil
	case who.Privileged():
		if given == "" {
			return "", validation.Field("buyer_id", "required", "is required when acting for a buyer")
		}
		return given, nil
	}
	return "", validation.Field("buyer_id", "forbidden", "this role does not act for buyers")
}

// Order returns an order the caller may see. Errors: ErrNotFound.
func (s *Service) Order(ctx context.Context, who auth.Principal, orderID string) (Order, error) {
	o, err := s.store.Order(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if !Visible(who, o) {
		return Order{}, ErrNotFound
	}
	return o, nil
}

// Visible reports whether the caller may see o: its buyer, its centre, admin and service.
func Visible(who auth.Principal, o Order) bool {
	switch who.Role {
	case auth.RoleBuyer:
		return o.BuyerID == who.Org
	case auth.RoleCenter:
		return o.CenterID == who.Org
	case auth.RoleAdmin, auth.RoleService:
		return true
	}
	return false
}

// Orders lists the orders the caller may see, newest first. f.BuyerID is honoured for admin and
// service only; a buyer always sees its own orders and a centre the orders it sold. An empty
// f.Status leaves cancelled orders out. Errors: *validation.Error on "status".
func (s *Service) Orders(ctx context.Context, who auth.Principal, f Filter, p page.Request) (page.Page[Order], error) {
	if f.Status != "" && !f.Status.Valid() {
		return page.Page[Order]{}, validation.Field("status", "oneof", "must be one of: payment_pending, confirmed, cancelled, refunded")
	}
	f.CenterID = ""
	switch who.Role {
	case auth.RoleBuyer:
		f.BuyerID = who.Org
	case auth.RoleCenter:
		f.BuyerID, f.CenterID = "", who.Org
	case auth.RoleAdmin, auth.RoleService:
	default:
		return page.Page[Order]{Items: []Order{}}, nil
	}
	return s.store.Orders(ctx, f, p)
}

// Delete cancels an order the caller may delete (its buyer, admin, service): payment_pending →
// cancelled, its open intents canceled in the same transaction. Errors: ErrNotFound (also for a
// centre's or another buyer's order), ErrNotDeletable.
func (s *Service) Delete(ctx context.Context, who auth.Principal, orderID string) error {
	o, err := s.Order(ctx, who, orderID)
	if err != nil {
		return err
	}
	if who.Role == auth.RoleCenter {
		return ErrNotFound
	}
	if err := o.CheckDeletable(); err != nil {
		return err
	}
	return s.store.CancelOrder(ctx, o.ID, s.clock.Now())
}

// priced returns in with lines from a party that owns the prices: a signed cart when one is
// given (its lines replace in's, which must be left out; in's centre, and delivery mode when the
// cart sets one, must be the cart's); else the caller's own lines when it is admin or service, or
// a buyer in sandbox mode. Errors: *validation.Error on "signed_cart" (required, invalid, not
// accepted here), "lines" (given with a cart), "center_id" or "delivery_mode" (not the cart's).
func (s *Service) priced(who auth.Principal, in NewOrderInput) (NewOrderInput, error) {
	if in.SignedCart == "" {
		if who.Role == auth.RoleBuyer && !s.buyerLines {
			return in, validation.Field("signed_cart", "required",
				"a buyer orders with a cart signed by the marketplace, which sets the lines and their prices")
		}
		return in, nil
	}
	if s.carts == nil {
		return in, validation.Field("signed_cart", "unsupported", "this server accepts no signed cart (no cart secret configured)")
	}
	c, err := s.carts.Verify(in.SignedCart, in.BuyerID)
	if err != nil {
		return in, validation.Field("signed_cart", "invalid", "not a valid cart for this buyer: bad signature, expired, or signed for another buyer")
	}
	var errs validation.Collector
	if len(in.Lines) > 0 {
		errs.Add("lines", "forbidden", "give either lines or a signed cart")
	}
	if in.CenterID != c.CenterID {
		errs.Add("center_id", "invalid", "differs from the signed cart's centre")
	}
	if c.DeliveryMode != "" && in.DeliveryMode != c.DeliveryMode {
		errs.Add("delivery_mode", "invalid", "differs from the signed cart's delivery mode")
	}
	if err := errs.Err(); err != nil {
		return in, err
	}
	in.Lines = c.Lines
	return in, nil
}
