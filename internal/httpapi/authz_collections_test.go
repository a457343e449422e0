package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

var collectionRoutes = []authzRoute{
	{"GET", "/v1/sepa/collections", nil, buyerOnly},
	{"GET", "/v1/sepa/collections/col_x", nil, []auth.Role{auth.RoleBuyer, auth.RoleAdmin}},
	{"GET", "/v1/sepa/collections/col_x/prenotification.pdf", nil, []auth.Role{auth.RoleBuyer, auth.RoleAdmin}},
	{"GET", "/v1/buyers/byr_x/sepa/collections", nil, adminOnly},
}
