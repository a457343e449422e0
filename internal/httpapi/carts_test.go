package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/cart"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/psp/mangopay/mangopaytest"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func engineCart(centerID string) cart.Claims {
	return cart.Claims{CenterID: centerID, Lines: []cart.Line{{Reference: "MOT-208", Label: "Moteur Peugeot 208", Quantity: 1, UnitPriceExclVAT: 150000}}}
}

// TestPriceIntegrity: outside sandbox mode a buyer cannot type its own prices (an engine at 1
// cent with 0 % VAT); it orders with a cart the marketplace back end signed for it, and the
// service role still gives lines. A forged, expired, over-long, foreign or tampered cart is
// refused, and nothing is stored.
func TestPriceIntegrity(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		fake := mangopaytest.New(mangopaytest.Config{})
		t.Cleanup(fake.Close)
		s := apptest.Start(t, b, apptest.WithMangoPay(fake.URL, fake.ClientID, fake.APIKey))
		buyer, other := createBuyer(t, s, "812345676"), createBuyer(t, s, "823456785")
		center := createCenter(t, s, "81234567600017")
		bt := s.Token(t, auth.RoleBuyer, buyer.ID)

		// The 1-cent engine typed by the buyer: refused.
		cheat := orderBody(center.ID, line("MOT-208", 1, 1, 0))
		p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: cheat}).ExpectProblem(t, 422, "validation_failed")
		expectFields(t, p, "signed_cart")

		// The signed cart: its centre and prices make the order.
		token := s.SignCart(t, buyer.ID, engineCart(center.ID))
		var o httpapi.Order
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt,
			Body: map[string]any{"signed_cart": token, "center_id": center.ID, "delivery_mode": "pickup"}}).Expect(t, 201).JSON(t, &o)
		if o.CenterID != center.ID || o.BuyerID != buyer.ID || len(o.Lines) != 1 || o.Lines[0].UnitPriceExclVAT != 150000 ||
			o.Lines[0].VATRate != 2000 || o.Total != 180000 || o.DeliveryMode != "pickup" {
			t.Errorf("order from the signed cart = %+v", o)
		}

		// Refused carts.
		now := time.Now()
		sign := func(secret, buyerID string, c cart.Claims, at time.Time, ttl time.Duration) string {
			tok, err := cart.Sign(secret, buyerID, c, at, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		parts := strings.Split(token, ".")
		tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
		for name, body := range map[string]map[string]any{
			"forged":          {"signed_cart": sign("another-secret-another-secret-0000", buyer.ID, engineCart(center.ID), now, time.Minute), "center_id": center.ID, "delivery_mode": "delivery"},
			"expired":         {"signed_cart": sign(apptest.CartSecret, buyer.ID, engineCart(center.ID), now.Add(-20*time.Minute), 10*time.Minute), "center_id": center.ID, "delivery_mode": "delivery"},
			"valid too long":  {"signed_cart": sign(apptest.CartSecret, buyer.ID, engineCart(center.ID), now, 2*time.Hour), "center_id": center.ID, "delivery_mode": "delivery"},
			"another buyer's": {"signed_cart": s.SignCart(t, other.ID, engineCart(center.ID)), "center_id": center.ID, "delivery_mode": "delivery"},
			"tampered":        {"signed_cart": tampered, "center_id": center.ID, "delivery_mode": "delivery"},
			"an API token":    {"signed_cart": bt, "center_id": center.ID, "delivery_mode": "delivery"},
			"garbage":         {"signed_cart": "not.a.jws", "center_id": center.ID, "delivery_mode": "delivery"},
		} {
			t.Run(name, func(t *testing.T) {
				p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: body}).ExpectProblem(t, 422, "validation_failed")
				expectFields(t, p, "signed_cart")
			})
		}
		// A cart and lines, or another centre: refused.
		p = s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: map[string]any{"signed_cart": token,
			"center_id": center.ID, "delivery_mode": "delivery", "lines": []map[string]any{line("MOT-208", 1, 1, 0)}}}).ExpectProblem(t, 422, "validation_failed")
		expectFields(t, p, "lines")
		p = s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: map[string]any{"signed_cart": token,
			"delivery_mode": "delivery", "center_id": "ctr_other"}}).ExpectProblem(t, 422, "validation_failed")
		expectFields(t, p, "center_id")
		// A cart fixing the delivery mode refuses another.
		fixed := engineCart(center.ID)
		fixed.DeliveryMode = "delivery"
		p = s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: map[string]any{
			"signed_cart": s.SignCart(t, buyer.ID, fixed), "center_id": center.ID, "delivery_mode": "pickup"}}).ExpectProblem(t, 422, "validation_failed")
		expectFields(t, p, "delivery_mode")
		var d httpapi.Order
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: map[string]any{"signed_cart": s.SignCart(t, buyer.ID, fixed),
			"center_id": center.ID, "delivery_mode": "delivery"}}).Expect(t, 201).JSON(t, &d)
		if d.DeliveryMode != "delivery" {
			t.Errorf("delivery mode = %s, want the cart's", d.DeliveryMode)
		}

		// The service (the marketplace back end) gives lines itself.
		svc := s.Token(t, auth.RoleService, "")
		body := orderBody(center.ID, line("MOT-208", 1, 150000, nil))
		body["buyer_id"] = buyer.ID
		createOrder(t, s, svc, body)
		if l := listOrders(t, s, bt, ""); len(l) != 3 {
			t.Errorf("the buyer has %d orders, want 3 (two carts, one by the service)", len(l))
		}
	})
}

// TestSandboxAcceptsBuyerLines: the sandbox keeps accepting lines typed by a buyer, and signed carts.
func TestSandboxAcceptsBuyerLines(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		buyer, center := createBuyer(t, s, "812345676"), createCenter(t, s, "81234567600017")
		bt := s.Token(t, auth.RoleBuyer, buyer.ID)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: orderBody(center.ID, line("P", 1, 1, 0))}).Expect(t, 201)
		var o httpapi.Order
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt,
			Body: map[string]any{"signed_cart": s.SignCart(t, buyer.ID, engineCart(center.ID)), "center_id": center.ID, "delivery_mode": "pickup"}}).Expect(t, 201).JSON(t, &o)
		if o.Total != 180000 {
			t.Errorf("order from a cart in the sandbox = %+v", o)
		}
	})
}
