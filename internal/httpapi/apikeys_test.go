package httpapi_test

import (
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func createKey(t *testing.T, s *apptest.Server, token string, body map[string]any) httpapi.ApiKeyWithSecret {
	t.Helper()
	var k httpapi.ApiKeyWithSecret
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: token, Body: body}).Expect(t, 201).JSON(t, &k)
	if !strings.HasPrefix(k.ID, "key_") || !strings.HasPrefix(k.Secret, "vhp_sk_") || k.Last4 != k.Secret[len(k.Secret)-4:] ||
		k.RevokedAt != nil || k.LastUsedAt != nil {
		t.Fatalf("key = %+v", k)
	}
	return k
}

func listKeys(t *testing.T, s *apptest.Server, token string) []httpapi.ApiKey {
	t.Helper()
	var l httpapi.ApiKeyList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/api-keys", Token: token}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

func auditEvents(t *testing.T, s *apptest.Server, query string) []httpapi.AuditEvent {
	t.Helper()
	var l httpapi.AuditEventList
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/audit-events?" + query, Token: s.Token(t, auth.RoleAdmin, "")}).Expect(t, 200).JSON(t, &l)
	return l.Data
}

func TestAPIKeys(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		lyon, lille := createCenter(t, s, "81234567600017"), createCenter(t, s, "82345678500018")

		// An admin makes a centre's key; the secret authenticates with that role and org.
		k := createKey(t, s, admin, map[string]any{"name": "ERP Lyon", "role": "center", "org": lyon.ID})
		if k.Role != "center" || k.Org == nil || *k.Org != lyon.ID || k.Name != "ERP Lyon" {
			t.Fatalf("key = %+v", k)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers/" + lyon.ID, Token: k.Secret}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Token: k.Secret}).ExpectProblem(t, 403, "forbidden")
		ep := createEndpoint(t, s, k.Secret, "https://erp.example-lyon.fr/in", "*")
		if ep.CenterID == nil || *ep.CenterID != lyon.ID {
			t.Errorf("endpoint made with the key belongs to %v, want %s", ep.CenterID, lyon.ID)
		}
		// A key creates no key: 403, whatever its role.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: k.Secret,
			Body: map[string]any{"name": "more", "role": "center"}}).ExpectProblem(t, 403, "forbidden")
		// A centre's own key list shows it, used; the other centre's does not.
		mine := listKeys(t, s, k.Secret)
		if len(mine) != 1 || mine[0].ID != k.ID || mine[0].LastUsedAt == nil {
			t.Errorf("Lyon's keys = %+v, want its key, used", mine)
		}
		lilleToken := s.Token(t, auth.RoleCenter, lille.ID)
		if l := listKeys(t, s, lilleToken); len(l) != 0 {
			t.Errorf("Lille sees %+v", l)
		}

		// A key of another organisation: 404 as for a JWT, for keys and for resources.
		lilleKey := createKey(t, s, lilleToken, map[string]any{"name": "ERP Lille", "role": "center"})
		if lilleKey.Org == nil || *lilleKey.Org != lille.ID {
			t.Fatalf("Lille's own key = %+v", lilleKey)
		}
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/api-keys/" + k.ID, Token: lilleKey.Secret}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/api-keys/" + k.ID, Token: lilleToken}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: lilleKey.Secret}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/webhook-endpoints/" + ep.ID, Token: lilleToken}).ExpectProblem(t, 404, "not_found")
		buyer := createBuyer(t, s, "812345676")
		sold := createOrder(t, s, s.Token(t, auth.RoleBuyer, buyer.ID), orderBody(lyon.ID, line("P", 1, 1000, nil)))
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + sold.ID, Token: k.Secret}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + sold.ID, Token: lilleKey.Secret}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/orders/" + sold.ID, Token: lilleToken}).ExpectProblem(t, 404, "not_found")

		// Revoked: 401 at once; revoking again changes nothing.
		var revoked httpapi.ApiKey
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/api-keys/" + k.ID, Token: s.Token(t, auth.RoleCenter, lyon.ID),
			Header: map[string]string{"X-Request-Id": "req-revoke-1"}}).Expect(t, 200).JSON(t, &revoked)
		if revoked.RevokedAt == nil || revoked.ID != k.ID {
			t.Fatalf("revoked = %+v", revoked)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers/" + lyon.ID, Token: k.Secret}).ExpectProblem(t, 401, "unauthenticated")
		var again httpapi.ApiKey
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/api-keys/" + k.ID, Token: admin}).Expect(t, 200).JSON(t, &again)
		if !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Errorf("revoked again at %v, first %v", again.RevokedAt, revoked.RevokedAt)
		}
		// Unknown and malformed secrets.
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: "vhp_sk_" + strings.Repeat("A", 43)}).ExpectProblem(t, 401, "unauthenticated")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: "vhp_sk_short"}).ExpectProblem(t, 401, "unauthenticated")

		// A service key: the platform role.
		svc := createKey(t, s, admin, map[string]any{"name": "Marketplace", "role": "service"})
		if svc.Org != nil {
			t.Errorf("service key org = %v", *svc.Org)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Token: svc.Secret}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/api-keys", Token: svc.Secret}).ExpectProblem(t, 403, "forbidden")
		if all := listKeys(t, s, admin); len(all) != 3 {
			t.Errorf("admin sees %d keys, want 3", len(all))
		}

		// The audit trail: creation and revocation, with actor, request id, before and after; never a secret.
		trail := auditEvents(t, s, "target_id="+k.ID)
		if len(trail) != 2 || trail[0].Action != "api_key.revoke" || trail[1].Action != "api_key.create" {
			t.Fatalf("trail of %s = %+v", k.ID, trail)
		}
		rv := trail[0]
		if rv.Actor.Role != "center" || rv.Actor.Org == nil || *rv.Actor.Org != lyon.ID || rv.Actor.APIKeyID != nil ||
			rv.RequestID == nil || *rv.RequestID != "req-revoke-1" || !strings.Contains(string(rv.Before), `"revoked_at":null`) ||
			!strings.Contains(string(rv.After), `"revoked_at":"`) {
			t.Errorf("revocation entry = %+v before %s after %s", rv, rv.Before, rv.After)
		}
		byKey := auditEvents(t, s, "actor="+lilleKey.ID)
		if len(byKey) != 0 {
			t.Errorf("entries by Lille's key = %+v", byKey)
		}
		epTrail := auditEvents(t, s, "action=webhook_endpoint.create&actor="+k.ID)
		if len(epTrail) != 1 || epTrail[0].Actor.APIKeyID == nil || *epTrail[0].Actor.APIKeyID != k.ID || epTrail[0].Actor.Sub != k.ID {
			t.Errorf("endpoint creation by the key = %+v", epTrail)
		}
		secrets := []string{k.Secret, lilleKey.Secret, svc.Secret}
		for _, e := range auditEvents(t, s, "") {
			for _, sec := range secrets {
				if strings.Contains(string(e.Before)+string(e.After), sec[7:]) {
					t.Errorf("audit entry %s holds a secret", e.ID)
				}
			}
		}

		// Never in the log: neither the secrets nor their digests.
		log := strings.Join(s.LogLines("DEBUG"), "\n")
		if !strings.Contains(log, `"status":401`) || !strings.Contains(log, `"api_key_id":"`+k.ID+`"`) {
			t.Fatalf("the log was not captured: %.300s", log)
		}
		for _, sec := range secrets {
			if strings.Contains(log, sec[7:]) || strings.Contains(log, apikeys.Hash(sec)) {
				t.Errorf("the log holds a key's secret or digest")
			}
		}
	})
}

func TestAPIKeyValidation(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		lyon := createCenter(t, s, "81234567600017")
		center := s.Token(t, auth.RoleCenter, lyon.ID)
		for _, tc := range []struct {
			name   string
			token  string
			body   map[string]any
			fields []string
		}{
			{"buyer role", admin, map[string]any{"name": "x", "role": "buyer", "org": "byr_x"}, []string{"role"}},
			{"admin role", admin, map[string]any{"name": "x", "role": "admin"}, []string{"role"}},
			{"center without org", admin, map[string]any{"name": "x", "role": "center"}, []string{"org"}},
			{"unknown centre", admin, map[string]any{"name": "x", "role": "center", "org": "ctr_nope"}, []string{"org"}},
			{"service with org", admin, map[string]any{"name": "x", "role": "service", "org": lyon.ID}, []string{"org"}},
			{"no name", admin, map[string]any{"name": "", "role": "service"}, []string{"name"}},
			{"long name", admin, map[string]any{"name": strings.Repeat("é", 101), "role": "service"}, []string{"name"}},
			{"centre makes a service key", center, map[string]any{"name": "x", "role": "service"}, []string{"role"}},
			{"centre makes another's key", center, map[string]any{"name": "x", "role": "center", "org": "ctr_other"}, []string{"org"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: tc.token, Body: tc.body}).ExpectProblem(t, 422, "validation_failed")
				expectFields(t, p, tc.fields...)
			})
		}
		if l := listKeys(t, s, admin); len(l) != 0 {
			t.Errorf("invalid keys were stored: %+v", l)
		}
		s.Do(t, apptest.Request{Method: "DELETE", Path: "/v1/api-keys/key_nope", Token: admin}).ExpectProblem(t, 404, "not_found")

		// The secret rests nowhere, not even in the idempotency store: a retry makes another key.
		idem := map[string]string{"Idempotency-Key": "key-retry-1"}
		var first, second httpapi.ApiKeyWithSecret
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: admin, Header: idem,
			Body: map[string]any{"name": "retry", "role": "service"}}).Expect(t, 201).JSON(t, &first)
		resp := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/api-keys", Token: admin, Header: idem,
			Body: map[string]any{"name": "retry", "role": "service"}}).Expect(t, 201)
		resp.JSON(t, &second)
		if second.ID == first.ID || resp.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("retry answered %s (replayed %q), want a new key", second.ID, resp.Header.Get("Idempotent-Replayed"))
		}
		var kept int
		if err := s.App.DB.SQL().QueryRow("SELECT count(*) FROM idempotency_keys WHERE state = 'done'").Scan(&kept); err != nil || kept != 0 {
			t.Errorf("%d kept answers (%v), want none", kept, err)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/admin/audit-events?limit=0", Token: admin}).ExpectProblem(t, 422, "validation_failed")
	})
}

// expectAudit checks that target has n entries of action, and returns the newest: made by role,
// with a request id.
func expectAudit(t *testing.T, s *apptest.Server, action, target, role string, n int) httpapi.AuditEvent {
	t.Helper()
	got := auditEvents(t, s, "action="+action+"&target_id="+target)
	if len(got) != n {
		t.Fatalf("%d %s entries for %s, want %d: %+v", len(got), action, target, n, got)
	}
	e := got[0]
	if e.Actor.Role != role || e.Actor.Sub == "" || e.RequestID == nil || *e.RequestID == "" || e.Action != action || e.TargetID != target {
		t.Errorf("%s entry = %+v", action, e)
	}
	return e
}
