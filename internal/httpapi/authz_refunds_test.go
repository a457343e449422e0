package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

// Routes of refunds in the authorization matrix: the order's centre, admin and service refund;
// a buyer only reads (its own).
var refundRoutes = []authzRoute{
	{"POST", "/v1/refunds", map[string]any{"payment_intent_id": "pi_x", "reason": "other"}, []auth.Role{auth.RoleCenter, auth.RoleAdmin, auth.RoleService}},
	{"GET", "/v1/refunds", nil, anyRole},
	{"GET", "/v1/refunds/re_x", nil, anyRole},
}
