package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

// Routes of orders, payment intents and cards in the authorization matrix. The provider hook
// (GET /v1/psp/mangopay/hooks) carries no token and is tested in payments_test.go.
var (
	owners = []auth.Role{auth.RoleBuyer, auth.RoleAdmin, auth.RoleService}
	buyers = []auth.Role{auth.RoleBuyer}
)

var orderRoutes = []authzRoute{
	{"POST", "/v1/orders", orderBody("ctr_x", line("A", 1, 100, nil)), owners},
	{"GET", "/v1/orders", nil, anyRole},
	{"GET", "/v1/orders/ord_x", nil, anyRole},
	{"DELETE", "/v1/orders/ord_x", nil, owners},
}

var paymentIntentRoutes = []authzRoute{
	{"POST", "/v1/payment-intents", map[string]any{"order_id": "ord_x", "method": "card", "card_id": "card_x", "return_url": "https://shop.example/r"}, owners},
	{"POST", "/v1/payment-intents", map[string]any{"collection_id": "col_x", "method": "card", "card_id": "card_x", "return_url": "https://shop.example/r"}, owners},
	{"GET", "/v1/payment-intents", nil, owners},
	{"GET", "/v1/payment-intents/pi_x", nil, owners},
	{"POST", "/v1/payment-intents/pi_x/cancel", nil, owners},
}

var cardRoutes = []authzRoute{
	{"POST", "/v1/card-registrations", map[string]any{}, buyers},
	{"PUT", "/v1/card-registrations/cr_x", map[string]any{"registration_data": "data=x"}, buyers},
	{"GET", "/v1/cards", nil, buyers},
	{"GET", "/v1/cards/card_x", nil, buyers},
	{"DELETE", "/v1/cards/card_x", nil, buyers},
}
