package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/httpapi"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

func buyerBody(siren string) map[string]any {
	return map[string]any{
		"name": "Garage Martin SARL", "siren": siren, "email": "compta@garage-martin.fr",
		"address":              map[string]any{"line1": "12 rue des Casses", "postal_code": "69007", "city": "Lyon", "country": "FR"},
		"legal_representative": map[string]any{"first_name": "Alice", "last_name": "Martin"},
	}
}

func centerBody(siret string) map[string]any {
	return map[string]any{
		"name": "Centre VHU du Rhône", "siret": siret, "email": "contact@cvhu.fr",
		"address": map[string]any{"line1": "2 route des Casses", "postal_code": "69100", "city": "Villeurbanne", "country": "FR"},
	}
}

func createBuyer(t *testing.T, s *apptest.Server, siren string) httpapi.Buyer {
	t.Helper()
	var b httpapi.Buyer
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: s.Token(t, auth.RoleAdmin, ""), Body: buyerBody(siren)}).Expect(t, 201).JSON(t, &b)
	return b
}

func createCenter(t *testing.T, s *apptest.Server, siret string) httpapi.Center {
	t.Helper()
	var c httpapi.Center
	s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: s.Token(t, auth.RoleService, ""), Body: centerBody(siret)}).Expect(t, 201).JSON(t, &c)
	return c
}

func TestOperations(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		s.Do(t, apptest.Request{Method: "GET", Path: "/healthz"}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/readyz"}).Expect(t, 200)
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Token: s.Token(t, auth.RoleAdmin, "")}).Expect(t, 200)
		metrics := s.Do(t, apptest.Request{Method: "GET", Path: "/metrics", SkipContract: true}).Expect(t, 200)
		if !strings.Contains(string(metrics.Body), `vhupay_http_requests_total{method="GET",route="/v1/centers",status="200"} 1`) {
			t.Errorf("metrics are not labelled by route template:\n%s", grep(string(metrics.Body), "vhupay_http_requests_total"))
		}
		doc := s.Do(t, apptest.Request{Method: "GET", Path: "/openapi.json", SkipContract: true}).Expect(t, 200)
		var openapi struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		doc.JSON(t, &openapi)
		if !strings.HasPrefix(openapi.OpenAPI, "3.") || openapi.Paths["/v1/buyers"] == nil {
			t.Errorf("/openapi.json is not the OpenAPI 3 document: %.200s", doc.Body)
		}
		ui := s.Do(t, apptest.Request{Method: "GET", Path: "/swagger/index.html", SkipContract: true}).Expect(t, 200)
		if !strings.Contains(string(ui.Body), "swagger-ui") {
			t.Error("Swagger UI not served")
		}
		// Swagger UI's habitual document address answers the same document (it was a 500).
		if legacy := s.Do(t, apptest.Request{Method: "GET", Path: "/swagger/doc.json", SkipContract: true}).Expect(t, 200); !bytes.Equal(legacy.Body, doc.Body) {
			t.Errorf("/swagger/doc.json is not /openapi.json: %.200s", legacy.Body)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/nowhere"}).ExpectProblem(t, 404, "not_found")
	})
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRequestID(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	r := s.Do(t, apptest.Request{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": "abc-123.x"}})
	if got := r.Header.Get("X-Request-Id"); got != "abc-123.x" {
		t.Errorf("X-Request-Id = %q, want it echoed", got)
	}
	r = s.Do(t, apptest.Request{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": "bad id <script>"}})
	if got := r.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, "<") {
		t.Errorf("X-Request-Id = %q, want a fresh one", got)
	}
	p := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Header: map[string]string{"X-Request-Id": "trace-1"}}).ExpectProblem(t, 401, "unauthenticated")
	if p.RequestID != "trace-1" {
		t.Errorf("problem request_id = %q", p.RequestID)
	}
}

func TestAuthentication(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite)
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "u1", "role": "admin", "iss": "vhupay", "aud": "vhupay-api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := base()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	secret := []byte(apptest.Secret)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", 401},
		{"not bearer", "Basic dTpw", 401},
		{"garbage", "Bearer not.a.jwt", 401},
		{"valid", "Bearer " + sign(jwt.SigningMethodHS256, secret, base()), 200},
		{"expired beyond leeway", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("exp", now.Add(-2*time.Minute).Unix())), 401},
		{"expired within leeway", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("exp", now.Add(-30*time.Second).Unix())), 200},
		{"no exp", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("exp", nil)), 401},
		{"wrong issuer", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("iss", "evil")), 401},
		{"wrong audience", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("aud", "other")), 401},
		{"wrong secret", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), base()), 401},
		{"HS384 refused", "Bearer " + sign(jwt.SigningMethodHS384, secret, base()), 401},
		{"alg none refused", "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base()), 401},
		{"unknown role", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("role", "root")), 401},
		{"buyer without org", "Bearer " + sign(jwt.SigningMethodHS256, secret, with("role", "buyer")), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers", Header: map[string]string{"Authorization": tt.header}})
			if r.Status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if tt.want == 401 {
				r.ExpectProblem(t, 401, "unauthenticated")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestBuyersAndCenters(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		buyer := createBuyer(t, s, "812345676")
		if buyer.SIREN != "812345676" || !strings.HasPrefix(buyer.ID, "byr_") || buyer.Address.City != "Lyon" {
			t.Fatalf("buyer = %+v", buyer)
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345676")}).ExpectProblem(t, 409, "buyer_exists")
		p := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345677")}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != "siren" {
			t.Errorf("errors = %+v, want one on siren", p.Errors)
		}
		other := createBuyer(t, s, "823456785")

		var got httpapi.Buyer
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + buyer.ID, Token: s.Token(t, auth.RoleBuyer, buyer.ID)}).Expect(t, 200).JSON(t, &got)
		if diff := cmp.Diff(buyer, got); diff != "" {
			t.Errorf("GET (-want +got):\n%s", diff)
		}
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/" + other.ID, Token: s.Token(t, auth.RoleBuyer, buyer.ID)}).ExpectProblem(t, 404, "not_found")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers/byr_nope", Token: admin}).ExpectProblem(t, 404, "not_found")
		var own httpapi.BuyerList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Token: s.Token(t, auth.RoleBuyer, buyer.ID)}).Expect(t, 200).JSON(t, &own)
		if len(own.Data) != 1 || own.Data[0].ID != buyer.ID {
			t.Errorf("a buyer lists %+v, want only itself", own.Data)
		}

		center := createCenter(t, s, "81234567600017")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: centerBody("81234567600017")}).ExpectProblem(t, 409, "center_exists")
		createCenter(t, s, "35600000049837") // La Poste's rule
		p = s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: centerBody("81234567600018")}).ExpectProblem(t, 422, "validation_failed")
		if len(p.Errors) != 1 || p.Errors[0].Field != "siret" {
			t.Errorf("errors = %+v, want one on siret", p.Errors)
		}
		var gotCenter httpapi.Center
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers/" + center.ID, Token: s.Token(t, auth.RoleBuyer, buyer.ID)}).Expect(t, 200).JSON(t, &gotCenter)
		if diff := cmp.Diff(center, gotCenter); diff != "" {
			t.Errorf("GET centre (-want +got):\n%s", diff)
		}
	})
}

func TestValidationProblems(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		post := func(body any) *apptest.Response {
			return s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: body})
		}
		fields := func(p httpapi.Problem) map[string]string {
			m := map[string]string{}
			for _, e := range p.Errors {
				m[e.Field] = e.Code
			}
			return m
		}
		tests := []struct {
			name string
			body any
			want map[string]string
		}{
			{"malformed JSON", `{"name": "x",`, map[string]string{"body": "json"}},
			{"syntax error", `{"name": x}`, map[string]string{"body": "json"}},
			{"empty body", ``, map[string]string{"body": "required"}},
			{"not an object", `[1,2]`, map[string]string{"body": "type"}},
			{"trailing data", `{"name":"a"} {}`, map[string]string{"body": "json"}},
			{"unknown field", withField(buyerBody("812345676"), "nickname", "x"), map[string]string{"nickname": "unknown"}},
			{"wrong type", withField(buyerBody("812345676"), "name", 42), map[string]string{"name": "type"}},
			{"missing fields", map[string]any{"name": "x"}, map[string]string{"siren": "required", "email": "required", "address": "required"}},
			{"bad email and country", withField(withField(buyerBody("812345676"), "email", "nope"), "address",
				map[string]any{"line1": "a", "postal_code": "1", "city": "c", "country": "France"}), map[string]string{"email": "email", "address.country": "iso3166_1_alpha2"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := post(tt.body).ExpectProblem(t, 422, "validation_failed")
				got := fields(p)
				for f, code := range tt.want {
					if got[f] != code {
						t.Errorf("errors = %+v, want %s:%s", p.Errors, f, code)
					}
				}
			})
		}
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
		post(big).ExpectProblem(t, 413, "payload_too_large")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers?limit=0", Token: admin}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers?limit=101", Token: admin}).ExpectProblem(t, 422, "validation_failed")
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/centers?cursor=!!!", Token: admin}).ExpectProblem(t, 422, "validation_failed")
		var list httpapi.BuyerList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Token: admin}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 0 {
			t.Errorf("a refused request wrote something: %+v", list.Data)
		}
	})
}

func withField(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func TestPagination(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		sirens := []string{"812345676", "823456785", "834567893", "845678903", "856789011"}
		var ids []string
		for _, siren := range sirens {
			ids = append(ids, createBuyer(t, s, siren).ID)
		}
		admin := s.Token(t, auth.RoleAdmin, "")
		var seen []string
		path := "/v1/buyers?limit=2"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("too many pages")
			}
			var l httpapi.BuyerList
			s.Do(t, apptest.Request{Method: "GET", Path: path, Token: admin}).Expect(t, 200).JSON(t, &l)
			for _, x := range l.Data {
				seen = append(seen, x.ID)
			}
			if !l.HasMore {
				if l.NextCursor != "" {
					t.Errorf("last page has next_cursor %q", l.NextCursor)
				}
				break
			}
			path = "/v1/buyers?limit=2&cursor=" + l.NextCursor
		}
		want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages = %v, want newest first %v", seen, want)
		}
	})
}

func TestIdempotency(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		key := map[string]string{"Idempotency-Key": "create-garage-martin"}
		first := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345676"), Header: key}).Expect(t, 201)
		replay := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345676"), Header: key}).Expect(t, 201)
		if replay.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.Body, replay.Body) {
			t.Errorf("replay: header %q, body %s, want the first body %s", replay.Header.Get("Idempotent-Replayed"), replay.Body, first.Body)
		}
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Error("the first answer is marked replayed")
		}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("823456785"), Header: key}).ExpectProblem(t, 422, "idempotency_key_reused")
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/centers", Token: admin, Body: buyerBody("812345676"), Header: key}).ExpectProblem(t, 422, "idempotency_key_reused")
		// Keys are scoped to the caller: the service may use the same key for its own request.
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: s.Token(t, auth.RoleService, ""), Body: buyerBody("823456785"), Header: key}).Expect(t, 201)
		// An error answer is replayed too (it is the answer to that request).
		dup := map[string]string{"Idempotency-Key": "dup"}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345676"), Header: dup}).ExpectProblem(t, 409, "buyer_exists")
		r := s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("812345676"), Header: dup})
		r.ExpectProblem(t, 409, "buyer_exists")
		if r.Header.Get("Idempotent-Replayed") != "true" {
			t.Error("error answer not replayed")
		}
		bad := map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}
		s.Do(t, apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("834567893"), Header: bad}).ExpectProblem(t, 422, "validation_failed")
	})
}

// Two identical requests sent at the same instant execute once.
func TestIdempotencyConcurrent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		const n = 12
		body, _ := json.Marshal(buyerBody("845678903"))
		var wg sync.WaitGroup
		statuses := make([]int, n)
		bodies := make([][]byte, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				req, _ := http.NewRequest("POST", s.URL+"/v1/buyers", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+admin)
				req.Header.Set("Idempotency-Key", "same-instant")
				<-start
				resp, err := s.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				statuses[i] = resp.StatusCode
				bodies[i], _ = io.ReadAll(resp.Body)
			}(i)
		}
		close(start)
		wg.Wait()
		var createdBody []byte
		for i, st := range statuses {
			switch st {
			case 201:
				if createdBody != nil && !bytes.Equal(createdBody, bodies[i]) {
					t.Errorf("two different 201 bodies: %s / %s", createdBody, bodies[i])
				}
				createdBody = bodies[i]
			case 409:
				if !strings.Contains(string(bodies[i]), "idempotency_key_in_use") {
					t.Errorf("409 body = %s", bodies[i])
				}
			default:
				t.Errorf("status %d: %s", st, bodies[i])
			}
		}
		var list httpapi.BuyerList
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/buyers", Token: admin}).Expect(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d buyers created, want 1", len(list.Data))
		}
	})
}

func TestSandboxClock(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		var c httpapi.ClockState
		s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sandbox/clock", Token: s.Token(t, auth.RoleBuyer, "byr_x")}).Expect(t, 200).JSON(t, &c)
		if time.Since(c.Now).Abs() > time.Minute {
			t.Errorf("clock starts at %s, want now", c.Now)
		}
		target := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: admin, Body: map[string]any{"now": target.Format(time.RFC3339)}}).Expect(t, 200).JSON(t, &c)
		if c.Now.Sub(target).Abs() > 5*time.Second {
			t.Errorf("clock = %s, want %s", c.Now, target)
		}
		if !s.App.Clock.Now().After(target.Add(-time.Second)) {
			t.Errorf("the app's clock did not move: %s", s.App.Clock.Now())
		}
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: admin, Body: map[string]any{"now": time.Now().Format(time.RFC3339)}}).ExpectProblem(t, 409, "invalid_transition")
		s.Do(t, apptest.Request{Method: "PUT", Path: "/v1/sandbox/clock", Token: s.Token(t, auth.RoleService, ""), Body: map[string]any{"now": target.Add(time.Hour).Format(time.RFC3339)}}).ExpectProblem(t, 403, "forbidden")
		// Records made after the move carry the test clock's time.
		buyer := createBuyer(t, s, "856789011")
		if buyer.CreatedAt.Before(target) {
			t.Errorf("created_at = %s, want after %s", buyer.CreatedAt, target)
		}
	})
}

func TestSandboxRoutesOnlyInSandbox(t *testing.T) {
	s := apptest.Start(t, storagetest.SQLite, apptest.WithEnv("VHUPAY_PSP", "mangopay"),
		apptest.WithEnv("VHUPAY_MANGOPAY_CLIENT_ID", "id"), apptest.WithEnv("VHUPAY_MANGOPAY_API_KEY", "key"),
		apptest.WithEnv("VHUPAY_MANGOPAY_BASE_URL", "http://127.0.0.1:1"), apptest.WithEnv("VHUPAY_RETURN_URL_ORIGINS", "https://shop.example"), apptest.WithEnv("VHUPAY_SEPA_CREDITOR_ID", "FR72ZZZ123456"))
	s.Do(t, apptest.Request{Method: "GET", Path: "/v1/sandbox/clock", Token: s.Token(t, auth.RoleAdmin, "")}).ExpectProblem(t, 404, "not_found")
	s.Do(t, apptest.Request{Method: "GET", Path: "/sandbox/psp/3ds/sbx_payin_x"}).ExpectProblem(t, 404, "not_found")

	sandbox := apptest.Start(t, storagetest.SQLite)
	page := sandbox.Do(t, apptest.Request{Method: "GET", Path: "/sandbox/psp/3ds/sbx_payin_x", SkipContract: true})
	if page.Status != 404 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("sandbox page of an unknown pay-in: %d %s", page.Status, page.Header.Get("Content-Type"))
	}
}
