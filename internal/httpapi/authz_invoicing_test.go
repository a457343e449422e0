package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

// Routes of end-of-month invoicing in the authorization matrix.
var (
	invoicingReaders   = []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin}
	invoicingDeciders  = []auth.Role{auth.RoleCenter, auth.RoleAdmin}
	invoicingRequester = []auth.Role{auth.RoleBuyer}
	centers            = []auth.Role{auth.RoleCenter}
)

var invoicingRoutes = []authzRoute{
	{"POST", "/v1/invoicing-accounts", map[string]any{"center_id": "ctr_x"}, invoicingRequester},
	{"GET", "/v1/invoicing-accounts", nil, invoicingReaders},
	{"GET", "/v1/invoicing-accounts/ina_x", nil, invoicingReaders},
	{"POST", "/v1/invoicing-accounts/ina_x/approve", map[string]any{}, invoicingDeciders},
	{"POST", "/v1/invoicing-accounts/ina_x/reject", map[string]any{"note": "x"}, invoicingDeciders},
	{"POST", "/v1/invoicing-accounts/ina_x/revoke", nil, invoicingDeciders},
	{"POST", "/v1/orders/ord_x/delivery-notes", map[string]any{"kind": "BL", "number": "BL-1"}, centers},
	{"GET", "/v1/statements", nil, invoicingReaders},
	{"GET", "/v1/statements/stm_x", nil, invoicingReaders},
	{"GET", "/v1/statements/stm_x/export.csv", nil, invoicingReaders},
	{"GET", "/v1/statements/stm_x/export.pdf", nil, invoicingReaders},
	{"POST", "/v1/statements/stm_x/mark-paid", nil, invoicingDeciders},
}
