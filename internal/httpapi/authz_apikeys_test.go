package httpapi_test

import (
	"slices"
	"testing"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// Routes of API keys and the audit trail in the authorization matrix.
var (
	keyOwners    = []auth.Role{auth.RoleCenter, auth.RoleAdmin}
	apiKeyRoutes = []authzRoute{
		{"POST", "/v1/api-keys", map[string]any{"name": "erp", "role": "center"}, keyOwners},
		{"GET", "/v1/api-keys", nil, keyOwners},
		{"DELETE", "/v1/api-keys/key_x", nil, keyOwners},
		{"GET", "/v1/admin/audit-events", nil, []auth.Role{auth.RoleAdmin}},
	}
)

// TestAuthorizationMatrixWithAPIKeys: an API key is accepted wherever a JWT is, with its role's
// rights: on every /v1 route a center key and a service key are let through or refused (403)
// exactly as the matrix says for their roles; only key creation needs a JWT.
func TestAuthorizationMatrixWithAPIKeys(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		var center, service httpapi.ApiKeyWithSecret
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: s.Token(t, auth.RoleCenter, "ctr_matrix"),
			Body: map[string]any{"name": "matrix", "role": "center"}}).Expect(t, 201).JSON(t, &center)
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: s.Token(t, auth.RoleAdmin, ""),
			Body: map[string]any{"name": "matrix", "role": "service"}}).Expect(t, 201).JSON(t, &service)
		keys := map[auth.Role]string{auth.RoleCenter: center.Secret, auth.RoleService: service.Secret}
		for _, r := range allRoutes() {
			t.Run(r.Method+" "+r.Path, func(t *testing.T) {
				for role, secret := range keys {
					resp := s.Do(t, apptest.Request{Method: r.Method, Path: r.Path, Body: r.Body, Token: secret})
					if slices.Contains(r.Allowed, role) && (r.Method != "POST" || r.Path != "/v1/api-keys") {
						if resp.Status == 401 || resp.Status == 403 {
							t.Errorf("%s key: status %d, want the role let through: %s", role, resp.Status, resp.Body)
						}
						continue
					}
					resp.ExpectProblem(t, 403, "forbidden")
				}
			})
		}
	})
}
