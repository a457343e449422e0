package httpapi_test

import (
	"slices"
	"testing"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// authzRoute is one route of the authorization matrix: the roles allowed through (they may still
// get 404 or 422 for the made-up ids and bodies used here, never 401 or 403); every other role
// gets 403 forbidden, and no token gets 401.
type authzRoute struct {
	Method, Path string
	Body         any
	Allowed      []auth.Role
}

var (
	anyRole  = []auth.Role{auth.RoleBuyer, auth.RoleCenter, auth.RoleAdmin, auth.RoleService}
	platform = []auth.Role{auth.RoleAdmin, auth.RoleService}
)

var foundationRoutes = []authzRoute{
	{"POST", "/v1/buyers", buyerBody("812345676"), platform},
	{"GET", "/v1/buyers", nil, []auth.Role{auth.RoleBuyer, auth.RoleAdmin, auth.RoleService}},
	{"GET", "/v1/buyers/byr_x", nil, []auth.Role{auth.RoleBuyer, auth.RoleAdmin, auth.RoleService}},
	{"PATCH", "/v1/buyers/byr_x", representativeBody(), []auth.Role{auth.RoleBuyer, auth.RoleAdmin, auth.RoleService}},
	{"POST", "/v1/centers", centerBody("81234567600017"), platform},
	{"GET", "/v1/centers", nil, anyRole},
	{"GET", "/v1/centers/ctr_x", nil, anyRole},
	{"PATCH", "/v1/centers/ctr_x", representativeBody(), []auth.Role{auth.RoleCenter, auth.RoleAdmin, auth.RoleService}},
	{"GET", "/v1/sandbox/clock", nil, anyRole},
	{"PUT", "/v1/sandbox/clock", map[string]any{"now": "2099-01-01T00:00:00Z"}, []auth.Role{auth.RoleAdmin}},
}

// allRoutes is every /v1 route; each capability adds its own list.
func allRoutes() []authzRoute {
	return slices.Concat(foundationRoutes, sepaRoutes, collectionRoutes, orderRoutes, paymentIntentRoutes, cardRoutes, monthCloseRoutes, invoicingRoutes, eventRoutes, webhookRoutes, apiKeyRoutes, moneyRoutes, refundRoutes, disputeRoutes)
}

func TestAuthorizationMatrix(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		tokens := map[auth.Role]string{
			auth.RoleBuyer:   s.Token(t, auth.RoleBuyer, "byr_matrix"),
			auth.RoleCenter:  s.Token(t, auth.RoleCenter, "ctr_matrix"),
			auth.RoleAdmin:   s.Token(t, auth.RoleAdmin, ""),
			auth.RoleService: s.Token(t, auth.RoleService, ""),
		}
		for _, r := range allRoutes() {
			t.Run(r.Method+" "+r.Path, func(t *testing.T) {
				s.Do(t, apptest.Request{Method: r.Method, Path: r.Path, Body: r.Body}).ExpectProblem(t, 401, "unauthenticated")
				for _, role := range auth.Roles {
					resp := s.Do(t, apptest.Request{Method: r.Method, Path: r.Path, Body: r.Body, Token: tokens[role]})
					if slices.Contains(r.Allowed, role) {
						if resp.Status == 401 || resp.Status == 403 {
							t.Errorf("%s: status %d, want the role let through: %s", role, resp.Status, resp.Body)
						}
						continue
					}
					resp.ExpectProblem(t, 403, "forbidden")
				}
			})
		}
	})
}
