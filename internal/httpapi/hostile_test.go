package httpapi_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/api"
	"github.com/vhupay/vhupay/internal/app/apptest"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/storage/storagetest"
)

// walkRoute is one route of the router, with the request body example of its OpenAPI operation.
type walkRoute struct {
	method, path string // gin's path, e.g. /v1/buyers/:id
	example      any
	inDoc        bool // the OpenAPI document describes it (else its answers are not checked against it)
}

// routesToWalk lists every route of the router (gin's Routes) and checks that the OpenAPI
// document has an operation for each /v1 one, taking its request example.
func routesToWalk(t *testing.T, s *apptest.Server) []walkRoute {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIJSON)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)|\*([A-Za-z_]+)`)
	var out []walkRoute
	for _, r := range s.App.Handler().(*gin.Engine).Routes() {
		w := walkRoute{method: r.Method, path: r.Path}
		oaPath := param.ReplaceAllString(r.Path, "{$1$2}")
		if item := doc.Paths.Find(oaPath); item != nil && item.GetOperation(r.Method) != nil {
			w.inDoc = true
			if op := item.GetOperation(r.Method); op != nil && op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					w.example = mt.Example
				}
			}
		} else if strings.HasPrefix(r.Path, "/v1/") {
			t.Errorf("%s %s is routed but not in the OpenAPI document", r.Method, r.Path)
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

// poison replaces the n-th string of v (an example body, depth first) with bad, or every string
// when n < 0; *seen counts the strings met.
func poison(v any, bad string, n int, seen *int) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := map[string]any{}
		for _, k := range keys {
			out[k] = poison(v[k], bad, n, seen)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, val := range v {
			out[i] = poison(val, bad, n, seen)
		}
		return out
	case string:
		*seen++
		if n < 0 || *seen-1 == n {
			return bad
		}
	}
	return v
}

// TestHostileInputOnEveryRoute sends, on both databases, NUL bytes and invalid UTF-8 in path ids,
// query parameters (cursor, limit, any), JSON bodies and form fields to every route of the router,
// the sandbox bank pages and the provider hook included: no answer is a 500 and nothing is
// logged at ERROR (a client's mistake is not the server's).
func TestHostileInputOnEveryRoute(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		s := apptest.Start(t, b)
		admin := s.Token(t, auth.RoleAdmin, "")
		buyer := createBuyer(t, s, "812345676")
		buyerTok := s.Token(t, auth.RoleBuyer, buyer.ID)
		bads := []string{"a\x00b", "a\xffb", "\xc3\x28", "\x00"}
		param := regexp.MustCompile(`:[A-Za-z_]+|\*[A-Za-z_]+`)
		sent := 0
		var skip bool
		send := func(r apptest.Request) {
			t.Helper()
			sent++
			r.SkipContract = r.SkipContract || skip
			resp := s.Do(t, r)
			if resp.Status >= 500 {
				t.Errorf("%s %q → %d: %s", r.Method, r.Path, resp.Status, resp.Body)
			}
		}
		for _, rt := range routesToWalk(t, s) {
			skip = !rt.inDoc
			for _, tok := range []string{admin, buyerTok} {
				for _, bad := range bads {
					esc := url.PathEscape(bad)
					// A hostile id in every path parameter.
					if param.MatchString(rt.path) {
						p := param.ReplaceAllString(rt.path, esc)
						resp := s.Do(t, apptest.Request{Method: rt.method, Path: p, Token: tok, Body: rt.example, SkipContract: skip})
						sent++
						if resp.Status != 404 {
							t.Errorf("%s %q → %d, want 404: %s", rt.method, p, resp.Status, resp.Body)
						}
					}
					p := param.ReplaceAllString(rt.path, "x_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")
					// Hostile query parameters: the usual ones and any.
					for _, q := range []string{"cursor=", "limit=", "status=", "month=", "EventType=", "RessourceId=", "zz=", url.QueryEscape(bad) + "=1&x="} {
						path := p + "?" + q + url.QueryEscape(bad)
						resp := s.Do(t, apptest.Request{Method: rt.method, Path: path, Token: tok, Body: rt.example, SkipContract: skip})
						sent++
						if resp.Status != 422 {
							t.Errorf("%s %q → %d, want 422: %s", rt.method, path, resp.Status, resp.Body)
						}
					}
					// Hostile body strings (every string of the example), as JSON escapes and as raw bytes.
					if rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH" || rt.method == "DELETE" {
						if rt.example != nil {
							// Every string at once, then each alone (the others valid, so that it reaches the database).
							for n := -1; ; n++ {
								seen := 0
								body, _ := json.Marshal(poison(rt.example, bad, n, &seen))
								if n >= seen {
									break
								}
								send(apptest.Request{Method: rt.method, Path: p, Token: tok, Body: body})
							}
						}
						send(apptest.Request{Method: rt.method, Path: p, Token: tok, Body: []byte(`{"name":"` + bad + `"}`)})
						send(apptest.Request{Method: rt.method, Path: p, Token: tok, Body: []byte(`{"` + bad + `":1}`)})
						if strings.HasPrefix(rt.path, "/sandbox/") {
							form := url.Values{"action": {bad}, "data": {bad}, "cardNumber": {bad}, "accessKeyRef": {bad}, "returnURL": {bad}}
							send(apptest.Request{Method: rt.method, Path: p, Body: form.Encode(), SkipContract: true,
								Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
						}
					}
				}
			}
		}
		// Headers: an Idempotency-Key that is not ASCII text.
		send(apptest.Request{Method: "POST", Path: "/v1/buyers", Token: admin, Body: buyerBody("845678903"), Header: map[string]string{"Idempotency-Key": "k\xff"}})
		if lines := s.LogLines("ERROR"); len(lines) > 0 {
			t.Errorf("hostile input logged at ERROR (%d lines), e.g.:\n%s", len(lines), strings.Join(lines[:min(5, len(lines))], "\n"))
		}
		t.Logf("%d hostile requests", sent)
	})
}
