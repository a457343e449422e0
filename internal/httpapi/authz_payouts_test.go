package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

// centerOrPlatform: a centre (its own money), admin and service.
var centerOrPlatform = []auth.Role{auth.RoleCenter, auth.RoleAdmin, auth.RoleService}

// moneyRoutes are the centres' money: balance, ledger, reconciliations and payouts.
var moneyRoutes = []authzRoute{
	{"PUT", "/v1/admin/centers/ctr_x/fee", map[string]any{"fee_rate_bps": 500}, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/balance", nil, centerOrPlatform},
	{"GET", "/v1/balance-transactions", nil, centerOrPlatform},
	{"GET", "/v1/balance-transactions/export.csv?month=2026-11", nil, centerOrPlatform},
	{"GET", "/v1/balance-transactions/export.pdf?month=2026-11", nil, centerOrPlatform},
	{"GET", "/v1/admin/ledger/accounts", nil, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/admin/ledger/trial-balance", nil, []auth.Role{auth.RoleAdmin}},
	{"POST", "/v1/admin/reconciliations", nil, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/admin/reconciliations", nil, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/admin/reconciliations/rec_x", nil, []auth.Role{auth.RoleAdmin}},
	{"POST", "/v1/payouts", map[string]any{"amount": 100}, centerOrPlatform},
	{"GET", "/v1/payouts", nil, centerOrPlatform},
	{"GET", "/v1/payouts/po_x", nil, centerOrPlatform},
}
