package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

var monthCloseRoutes = []authzRoute{
	{"POST", "/v1/admin/month-closes", map[string]any{"month": "2025-01"}, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/admin/month-closes/2025-01", nil, []auth.Role{auth.RoleAdmin}},
	{"GET", "/v1/admin/month-closes/2025-01/stranded", nil, []auth.Role{auth.RoleAdmin}},
}
