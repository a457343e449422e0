package httpapi_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/cart"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func line(ref string, qty int, price int64, vat any) map[string]any {
	l := map[string]any{"reference": ref, "label": "Pièce " + ref, "quantity": qty, "unit_price_excl_vat": price}
	if vat != nil {
		l["vat_rate"] = vat
	}
	return l
}

func orderBody(centerID string, lines ...map[string]any) map[string]any {
	return map[string]any{"center_id": centerID, "delivery_mode": "delivery", "lines": lines}
}

// createOrder creates an order. Outside sandbox mode a buyer's lines are signed into a cart first,
// as the marketplace back end would.
func createOrder(t *testing.T, s *apptest.Server, token string, body map[string]any) httpapi.Order {
	t.Helper()
	if buyer := buyerOf(t, token); !s.App.Config.Sandbox() && buyer != "" {
		body = signedBody(t, s, buyer, body)
	}
	var o httpapi.Order
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: token, Body: body}).Expect(t, 201).JSON(t, &o)
	return o
}

// buyerOf returns the org of a buyer's JWT, "" for other tokens.
func buyerOf(t *testing.T, token string) string {
	t.Helper()
	var c auth.Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.Role != string(auth.RoleBuyer) {
		return ""
	}
	return c.Org
}

// signedBody turns an order body's centre and lines into a cart signed for buyerID.
func signedBody(t *testing.T, s *apptest.Server, buyerID string, body map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(body["lines"])
	if err != nil {
		t.Fatal(err)
	}
	c := cart.Claims{CenterID: fmt.Sprint(body["center_id"])}
	if err := json.Unmarshal(raw, &c.Lines); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"signed_cart": s.SignCart(t, buyerID, c)}
	for k, v := range body {
		if k != "lines" {
			out[k] = v
		}
	}
	return out
}

func getOrder(t *testing.T, s *apptest.Server, token, id string) httpapi.Order {
	t.Helper()
	var o httpapi.Order
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + id, Token: token}).Expect(t, 200).JSON(t, &o)
	return o
}

func listOrders(t *testing.T, s *apptest.Server, token, query string) []string {
	t.Helper()
	var l httpapi.OrderList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders" + query, Token: token}).Expect(t, 200).JSON(t, &l)
	ids := []string{}
	for _, o := range l.Data {
		ids = append(ids, o.ID)
	}
	return ids
}

func TestOrders(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		buyer := createBuyer(t, s, "812345676")
		other := createBuyer(t, s, "823456785")
		center := createCenter(t, s, "81234567600017")
		center2 := createCenter(t, s, "82345678500018")
		bt := s.Token(t, auth.RoleBuyer, buyer.ID)
		ot := s.Token(t, auth.RoleBuyer, other.ID)
		ct := s.Token(t, auth.RoleCenter, center.ID)
		c2t := s.Token(t, auth.RoleCenter, center2.ID)
		admin := s.Token(t, auth.RoleAdmin, "")
		service := s.Token(t, auth.RoleService, "")

		body := orderBody(center.ID, line("A", 3, 1001, nil), line("B", 1, 10, 550), line("C", 2, 333, 0))
		body["external_reference"] = "CMD-1"
		o := createOrder(t, s, bt, body)
		// A: 3003 excl., VAT 20 % = 600.6 → 601. B: 10, 5.5 % = 0.55 → 1. C: 666, 0.
		wantLines := []httpapi.OrderLine{
			{Reference: "A", Label: "Pièce A", Quantity: 3, UnitPriceExclVAT: 1001, VATRate: 2000, TotalExclVAT: 3003, TotalVAT: 601, Total: 3604},
			{Reference: "B", Label: "Pièce B", Quantity: 1, UnitPriceExclVAT: 10, VATRate: 550, TotalExclVAT: 10, TotalVAT: 1, Total: 11},
			{Reference: "C", Label: "Pièce C", Quantity: 2, UnitPriceExclVAT: 333, VATRate: 0, TotalExclVAT: 666, TotalVAT: 0, Total: 666},
		}
		if diff := cmp.Diff(wantLines, o.Lines); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if o.TotalExclVAT != 3679 || o.TotalVAT != 602 || o.Total != 4281 || o.Currency != "EUR" || o.Status != "payment_pending" ||
			o.BuyerID != buyer.ID || o.CenterID != center.ID || o.Payment != nil || o.DeliveryNotes == nil || len(o.DeliveryNotes) != 0 ||
			o.ExternalReference == nil || *o.ExternalReference != "CMD-1" {
			t.Errorf("order = %+v", o)
		}
		if got := getOrder(t, s, bt, o.ID); !cmp.Equal(got, o) {
			t.Errorf("GET differs from POST:\n%s", cmp.Diff(o, got))
		}

		// Views: the buyer, the selling centre, admin and service see it; others get 404.
		getOrder(t, s, ct, o.ID)
		getOrder(t, s, admin, o.ID)
		getOrder(t, s, service, o.ID)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + o.ID, Token: ot}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + o.ID, Token: c2t}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/ord_nope", Token: admin}).ExpectProblem(t, 404, "not_found")

		// Service and admin act for a buyer with buyer_id; it is required for them.
		sb := orderBody(center2.ID, line("D", 1, 5000, 1000))
		sb["buyer_id"] = other.ID
		o2 := createOrder(t, s, service, sb)
		if o2.BuyerID != other.ID || o2.TotalVAT != 500 || o2.ExternalReference != nil {
			t.Errorf("service order = %+v", o2)
		}
		p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: admin, Body: orderBody(center.ID, line("E", 1, 1, nil))}).ExpectProblem(t, 422, "validation_failed")
		expectFields(t, p, "buyer_id")
		// A buyer cannot order for another buyer.
		ob := orderBody(center.ID, line("E", 1, 1, nil))
		ob["buyer_id"] = other.ID
		expectFields(t, s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: ob}).ExpectProblem(t, 422, "validation_failed"), "buyer_id")
		o3 := createOrder(t, s, bt, orderBody(center2.ID, line("F", 1, 100, nil)))

		// Lists: newest first; cancelled hidden without a status; scoped per role.
		if diff := cmp.Diff([]string{o3.ID, o.ID}, listOrders(t, s, bt, "")); diff != "" {
			t.Errorf("buyer list (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{o.ID}, listOrders(t, s, ct, "")); diff != "" {
			t.Errorf("centre list (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{o3.ID, o2.ID, o.ID}, listOrders(t, s, admin, "")); diff != "" {
			t.Errorf("admin list (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{o2.ID}, listOrders(t, s, service, "?buyer_id="+other.ID)); diff != "" {
			t.Errorf("service list for a buyer (-want +got):\n%s", diff)
		}

		// Delete: buyer own → 204, then cancelled, hidden, visible with status=cancelled; twice → 409.
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o3.ID, Token: ot}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o3.ID, Token: ct}).ExpectProblem(t, 403, "forbidden")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o3.ID, Token: bt}).Expect(t, 204)
		if got := getOrder(t, s, bt, o3.ID); got.Status != "cancelled" || !got.UpdatedAt.After(got.CreatedAt) && !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("deleted order = %+v", got)
		}
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o3.ID, Token: bt}).ExpectProblem(t, 409, "order_not_deletable")
		if diff := cmp.Diff([]string{o.ID}, listOrders(t, s, bt, "")); diff != "" {
			t.Errorf("buyer list after delete (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{o3.ID}, listOrders(t, s, bt, "?status=cancelled")); diff != "" {
			t.Errorf("cancelled list (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{o.ID}, listOrders(t, s, bt, "?status=payment_pending")); diff != "" {
			t.Errorf("payment_pending list (-want +got):\n%s", diff)
		}
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/orders/" + o2.ID, Token: service}).Expect(t, 204)
		expectFields(t, s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders?status=paid", Token: bt}).ExpectProblem(t, 422, "validation_failed"), "status")
	})
}

func TestOrderPages(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	buyer := createBuyer(t, s, "812345676")
	center := createCenter(t, s, "81234567600017")
	bt := s.Token(t, auth.RoleBuyer, buyer.ID)
	var want []string
	for i := range 5 {
		want = append([]string{createOrder(t, s, bt, orderBody(center.ID, line(fmt.Sprint(i), 1, 100, nil))).ID}, want...)
	}
	var got []string
	path := "/v1/orders?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		var l httpapi.OrderList
		s.Do(t, apptest.Request{Method: "GET", Path: path, Token: bt}).Expect(t, 200).JSON(t, &l)
		for _, o := range l.Data {
			got = append(got, o.ID)
			if len(o.Lines) != 1 || o.DeliveryNotes == nil {
				t.Errorf("listed order = %+v", o)
			}
		}
		path = ""
		if l.HasMore {
			path = "/v1/orders?limit=2&cursor=" + l.NextCursor
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
}

func TestOrderValidation(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	buyer := createBuyer(t, s, "812345676")
	center := createCenter(t, s, "81234567600017")
	bt := s.Token(t, auth.RoleBuyer, buyer.ID)
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = line("X", 1, 1, nil)
	}
	tests := []struct {
		name   string
		body   any
		fields []string
	}{
		{"unknown centre", orderBody("ctr_unknown", line("A", 1, 1, nil)), []string{"center_id"}},
		{"no lines", orderBody(center.ID), []string{"lines"}},
		{"too many lines", orderBody(center.ID, many...), []string{"lines"}},
		{"bad line", orderBody(center.ID, line("A", 1, 1, nil), map[string]any{"reference": "", "label": "x", "quantity": 0, "unit_price_excl_vat": 100_000_001, "vat_rate": 700}),
			[]string{"lines[1].reference", "lines[1].quantity", "lines[1].unit_price_excl_vat", "lines[1].vat_rate"}},
		{"quantity too big", orderBody(center.ID, line("A", 1001, 1, nil)), []string{"lines[0].quantity"}},
		{"bad delivery mode", map[string]any{"center_id": center.ID, "delivery_mode": "drone", "lines": []any{line("A", 1, 1, nil)}}, []string{"delivery_mode"}},
		{"unknown field", map[string]any{"center_id": center.ID, "delivery_mode": "pickup", "lines": []any{line("A", 1, 1, nil)}, "coupon": "x"}, []string{"coupon"}},
		{"wrong type", map[string]any{"center_id": center.ID, "delivery_mode": "pickup", "lines": []any{map[string]any{"reference": "A", "label": "a", "quantity": "2", "unit_price_excl_vat": 1}}}, []string{"lines[0].quantity"}},
		{"empty body", "", []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/orders", Token: bt, Body: tt.body}).ExpectProblem(t, 422, "validation_failed")
			expectFields(t, p, tt.fields...)
		})
	}
	if ids := listOrders(t, s, bt, ""); len(ids) != 0 {
		t.Errorf("invalid orders were stored: %v", ids)
	}
}

// expectFields fails unless the problem names exactly these fields (in any order).
func expectFields(t *testing.T, p httpapi.Problem, fields ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, e := range p.Errors {
		got[e.Field] = true
	}
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	if !cmp.Equal(want, got) {
		t.Errorf("problem fields = %v, want %v (%+v)", got, want, p.Errors)
	}
}
