package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

var (
	buyerOnly    = []auth.Role{auth.RoleBuyer}
	buyerOrAdmin = []auth.Role{auth.RoleBuyer, auth.RoleAdmin}
	adminOnly    = []auth.Role{auth.RoleAdmin}
)

var sepaRoutes = []authzRoute{
	// A centre's bank account is its payout account.
	{"POST", "/v1/bank-accounts", bankAccountBody("FR7630006000011234567890189"), []auth.Role{auth.RoleBuyer, auth.RoleCenter}},
	{"GET", "/v1/bank-accounts", nil, []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin}},
	{"GET", "/v1/bank-accounts/ba_x", nil, []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin}},
	{"POST", "/v1/bank-accounts/ba_x/default", nil, buyerOnly},
	{"DELETE", "/v1/bank-accounts/ba_x", nil, buyerOnly},
	{"POST", "/v1/bank-accounts/ba_x/mandates", map[string]any{"return_url": "https://shop.example/back"}, buyerOnly},
	{"GET", "/v1/mandates", nil, buyerOrAdmin},
	{"GET", "/v1/mandates/mdt_x", nil, buyerOrAdmin},
	{"POST", "/v1/mandates/mdt_x/cancel", nil, buyerOrAdmin},
	{"GET", "/v1/sepa", nil, buyerOnly},
	{"GET", "/v1/buyers/byr_x/sepa", nil, platform},
	{"GET", "/v1/sepa/ceiling-changes", nil, buyerOnly},
	{"GET", "/v1/buyers/byr_x/sepa/ceiling-changes", nil, adminOnly},
	{"PUT", "/v1/admin/buyers/byr_x/sepa-ceiling", map[string]any{"amount": 1000, "note": "x"}, adminOnly},
	{"POST", "/v1/admin/buyers/byr_x/sepa-reinstatement", nil, adminOnly},
	{"POST", "/v1/sepa/score-checks", map[string]any{"buyer_id": "byr_x"}, []auth.Role{auth.RoleBuyer, auth.RoleAdmin, auth.RoleService}},
	{"PUT", "/v1/sandbox/scores/812345676", map[string]any{"value": 8}, adminOnly},
}
