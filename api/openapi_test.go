package api_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vhupay/vhupay/api"
	"github.com/vhupay/vhupay/internal/httpapi"
)

// These tests hold the published document to what client generators and partners rely on;
// Spectral's oas ruleset (run by .ci/run) checks the rest.

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(doc *openapi3.T) []operation {
	var out []operation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			out = append(out, operation{method, path, op})
		}
	}
	return out
}

var camelCase = regexp.MustCompile(`^[a-z]+(?:[A-Z][a-z0-9]*)*$`)

// Every operation has a unique camelCase operationId (swag's @ID), which generated clients use
// as the method name: createPaymentIntent, not PostV1PaymentIntents.
func TestOperationIDs(t *testing.T) {
	seen := map[string]string{}
	for _, o := range operations(load(t)) {
		id := o.op.OperationID
		switch {
		case id == "":
			t.Errorf("%s %s has no operationId: add `@ID <verbNoun>` to its handler's annotations", o.method, o.path)
		case !camelCase.MatchString(id):
			t.Errorf("%s %s: operationId %q is not camelCase (acronyms as words: getSepaProfile)", o.method, o.path, id)
		case seen[id] != "":
			t.Errorf("operationId %q is used by %s and %s %s", id, seen[id], o.method, o.path)
		}
		seen[id] = o.method + " " + o.path
		if o.op.Summary == "" || o.op.Description == "" {
			t.Errorf("%s %s: needs a @Summary and a @Description", o.method, o.path)
		}
	}
}

// Properties and parameters that hold an instant say format date-time, and calendar dates say
// format date, so that generated clients type them (swag: the `format:"date-time"` tag).
func TestTimeFormats(t *testing.T) {
	doc := load(t)
	want := func(name string) string {
		switch {
		case name == "now" || strings.HasSuffix(name, "_at") || strings.HasSuffix(name, "_until") ||
			strings.HasPrefix(name, "created_after") || strings.HasPrefix(name, "created_before"):
			return "date-time"
		case strings.HasSuffix(name, "_date") || name == "birthday" || name == "date":
			return "date"
		}
		return ""
	}
	check := func(where, name string, s *openapi3.Schema) {
		if s == nil {
			return
		}
		if s.Items != nil && s.Items.Value != nil {
			s = s.Items.Value
		}
		if f := want(name); f != "" && s.Format != f {
			t.Errorf("%s.%s: format %q, want %q (tag `format:\"%s\"`)", where, name, s.Format, f, f)
		}
	}
	for name, ref := range doc.Components.Schemas {
		for prop, p := range ref.Value.Properties {
			check(name, prop, p.Value)
		}
	}
	for _, o := range operations(doc) {
		for _, p := range o.op.Parameters {
			if p.Value != nil && p.Value.Schema != nil {
				check(o.method+" "+o.path, p.Value.Name, p.Value.Schema.Value)
			}
		}
	}
}

// Problem.code lists exactly the codes of the HTTP edge's table (go generate writes it).
func TestProblemCodeEnum(t *testing.T) {
	code := load(t).Components.Schemas["Problem"].Value.Properties["code"].Value
	var want []string
	for _, c := range httpapi.ProblemCodes() {
		want = append(want, c.Code)
	}
	var got []string
	for _, v := range code.Enum {
		got = append(got, v.(string))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Problem.code enum = %v\nthe table has %v\nrun go generate ./...", got, want)
	}
}

// Every answer documents X-Request-Id; every POST takes an Idempotency-Key and its stored answers
// say Idempotent-Replayed; every 201 of a resource with a path gives its Location.
func TestResponseHeaders(t *testing.T) {
	for _, o := range operations(load(t)) {
		idempotent := slices.ContainsFunc(o.op.Parameters, func(p *openapi3.ParameterRef) bool {
			return p.Ref == "#/components/parameters/Idempotency-Key"
		})
		if o.method == http.MethodPost && !idempotent {
			t.Errorf("POST %s takes no Idempotency-Key", o.path)
		}
		for code, resp := range o.op.Responses.Map() {
			h := resp.Value.Headers
			if h["X-Request-Id"] == nil {
				t.Errorf("%s %s %s: no X-Request-Id", o.method, o.path, code)
			}
			if idempotent && code[0] != '5' && code != "429" && h["Idempotent-Replayed"] == nil {
				t.Errorf("%s %s %s: no Idempotent-Replayed", o.method, o.path, code)
			}
			if code == "429" && h["Retry-After"] == nil {
				t.Errorf("%s %s 429: no Retry-After", o.method, o.path)
			}
		}
	}
}

// The main request bodies carry examples (Swagger UI and the docs show them).
func TestRequestExamples(t *testing.T) {
	doc := load(t)
	for _, name := range []string{"BuyerRequest", "CenterRequest", "OrderRequest", "OrderLineRequest", "PaymentIntentRequest",
		"BankAccountRequest", "MandateRequest", "InvoicingAccountRequest", "DeliveryNoteRequest", "ClockRequest", "MonthCloseRequest"} {
		ref, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		for prop, p := range ref.Value.Properties {
			s := p.Value
			if s.Type.Is("object") || s.Type.Is("array") || s.Type.Is("boolean") || p.Ref != "" || len(s.AllOf) > 0 {
				continue
			}
			if s.Example == nil && len(s.Enum) == 0 {
				t.Errorf("%s.%s has no example", name, prop)
			}
		}
	}
}
