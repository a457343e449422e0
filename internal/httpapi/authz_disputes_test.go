package httpapi_test

import "github.com/vhupay/vhupay/internal/auth"

// Routes of card disputes in the authorization matrix: read by the buyer, the centre and admin
// (not service, API-2.md), answered by the centre and admin.
var (
	disputeReaders   = []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin}
	disputeAnswerers = []auth.Role{auth.RoleCenter, auth.RoleAdmin}
)

var disputeRoutes = []authzRoute{
	{"GET", "/v1/disputes", nil, disputeReaders},
	{"GET", "/v1/disputes/dp_x", nil, disputeReaders},
	{"POST", "/v1/disputes/dp_x/evidence", map[string]any{"text": "delivered"}, disputeAnswerers},
	{"POST", "/v1/disputes/dp_x/accept", nil, disputeAnswerers},
}
