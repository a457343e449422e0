package main

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/vhupay/vhupay/internal/httpapi"
)

// Names of the shared components.
const (
	headerRequestID = "X-Request-Id"
	headerReplayed  = "Idempotent-Replayed"
	headerLocation  = "Location"
	headerRetry     = "Retry-After"
	paramIdemKey    = "Idempotency-Key"
)

// sharedHeaders are the response headers described once in components.headers. Operations name
// Location and Retry-After with swag's @Header (Retry-After is added to every 429); X-Request-Id
// is on every response and Idempotent-Replayed on every answer of an operation that takes an
// Idempotency-Key, which every POST of /v1 does.
func sharedHeaders() openapi3.Headers {
	str := openapi3.NewStringSchema()
	return openapi3.Headers{
		headerRequestID: {Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "The request's id: the client's X-Request-Id when it sent a well-formed one (letters, digits, `._:-`, up to 128), else a generated one. Quote it to support; it is in every log line of the request.",
			Required:    true, Schema: str.NewRef(),
		}}},
		headerReplayed: {Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "`true` when this answer is the stored answer of an earlier request with the same Idempotency-Key and body (nothing was done again).",
			Schema:      openapi3.NewStringSchema().WithEnum("true").NewRef(),
		}}},
		headerLocation: {Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "The path of the resource created (or started).",
			Required:    true, Schema: str.NewRef(),
		}}},
		headerRetry: {Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "How many seconds to wait before trying again.",
			Schema:      openapi3.NewIntegerSchema().WithMin(0).NewRef(),
		}}},
	}
}

func idempotencyKeyParameter() *openapi3.Parameter {
	return &openapi3.Parameter{
		Name: paramIdemKey, In: openapi3.ParameterInHeader,
		Description: "Makes a POST safe to retry: 1–255 printable ASCII characters, unique per operation you mean (a UUID). " +
			"The same key and body answer the first answer again (with Idempotent-Replayed: true) for at least 24 hours; " +
			"another body or path → 422 idempotency_key_reused; while the first request runs → 409 idempotency_key_in_use. Keys are per caller.",
		Schema:  openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(255).WithPattern(`^[\x20-\x7E]+$`).NewRef(),
		Example: "3f1c2a9e-8d4b-4c1e-9a57-0b6e2d7c5f10",
	}
}

// applyConventions makes the document say what every operation shares.
func applyConventions(doc *openapi3.T) error {
	if doc.Components.Headers == nil {
		doc.Components.Headers = openapi3.Headers{}
	}
	for name, h := range sharedHeaders() {
		doc.Components.Headers[name] = h
	}
	if doc.Components.Parameters == nil {
		doc.Components.Parameters = openapi3.ParametersMap{}
	}
	doc.Components.Parameters[paramIdemKey] = &openapi3.ParameterRef{Value: idempotencyKeyParameter()}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			idempotent := false
			for i, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && p.Value.Name == paramIdemKey {
					op.Parameters[i] = &openapi3.ParameterRef{Ref: "#/components/parameters/" + paramIdemKey, Value: idempotencyKeyParameter()}
					idempotent = true
				}
			}
			if method == http.MethodPost && strings.HasPrefix(path, "/v1/") && !idempotent {
				// The idempotency middleware serves every POST of /v1, annotated or not.
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/" + paramIdemKey, Value: idempotencyKeyParameter()})
				idempotent = true
			}
			edgeResponses(doc, op, path)
			for code, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				responseHeaders(resp.Value, code, idempotent)
			}
		}
	}
	requestExamples(doc)
	return problemCodeEnum(doc)
}

// edgeResponses adds the answers the HTTP edge may give to any operation, before its handler
// runs: 431 (headers too large) and 422 (a query that is not text) everywhere, 404 where the path
// names a resource, 429 (rate limited) on /v1, 415 (not JSON) where a
// body is taken.
func edgeResponses(doc *openapi3.T, op *openapi3.Operation, path string) {
	problem := doc.Components.Schemas["Problem"]
	add := func(status int, description string) {
		code := strconv.Itoa(status)
		if op.Responses.Value(code) != nil {
			return
		}
		op.Responses.Set(code, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(description).
			WithContent(openapi3.Content{"application/problem+json": openapi3.NewMediaType().WithSchemaRef(
				&openapi3.SchemaRef{Ref: "#/components/schemas/Problem", Value: problem.Value})})})
	}
	add(http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large (headers_too_large)")
	add(http.StatusUnprocessableEntity, "Unprocessable Entity (validation_failed): a query parameter that is not UTF-8 text or holds a NUL")
	if strings.Contains(path, "{") {
		add(http.StatusNotFound, "Not Found (not_found): no such resource (an id that is not UTF-8 text names none)")
	}
	if strings.HasPrefix(path, "/v1/") {
		add(http.StatusTooManyRequests, "Too Many Requests (rate_limited): wait Retry-After seconds")
	}
	if op.RequestBody != nil {
		add(http.StatusUnsupportedMediaType, "Unsupported Media Type (unsupported_media_type): send application/json")
	}
}

// responseHeaders references the shared headers from one response: the ones swag wrote inline
// (Location, Retry-After) and the ones every response has.
func responseHeaders(resp *openapi3.Response, code string, idempotent bool) {
	if resp.Headers == nil {
		resp.Headers = openapi3.Headers{}
	}
	shared := sharedHeaders()
	ref := func(name string) *openapi3.HeaderRef {
		return &openapi3.HeaderRef{Ref: "#/components/headers/" + name, Value: shared[name].Value}
	}
	for name := range resp.Headers {
		if name == headerLocation || name == headerRetry {
			resp.Headers[name] = ref(name)
		}
	}
	resp.Headers[headerRequestID] = ref(headerRequestID)
	status, _ := strconv.Atoi(code)
	if status == http.StatusTooManyRequests {
		resp.Headers[headerRetry] = ref(headerRetry)
	}
	// A replay answers a stored answer: any status except 5xx and 429, which are never kept.
	if idempotent && status < 500 && status != http.StatusTooManyRequests {
		resp.Headers[headerReplayed] = ref(headerReplayed)
	}
}

// problemCodeEnum lists every problem code in the Problem schema, from the HTTP edge's table.
func problemCodeEnum(doc *openapi3.T) error {
	problem, ok := doc.Components.Schemas["Problem"]
	if !ok || problem.Value == nil {
		return fmt.Errorf("no Problem schema")
	}
	code, ok := problem.Value.Properties["code"]
	if !ok || code.Value == nil {
		return fmt.Errorf("the Problem schema has no code property")
	}
	var codes []any
	for _, c := range httpapi.ProblemCodes() {
		codes = append(codes, c.Code)
	}
	if !slices.Contains(codes, any("validation_failed")) {
		return fmt.Errorf("validation_failed is not among the problem codes")
	}
	code.Value.Enum = codes
	code.Value.Description = "A stable code to branch on (never parse title or detail). Each is explained in docs/errors.md, with what the client should do."
	return nil
}

// requestExamples gives every JSON request body a whole example, composed from its properties'
// examples (swag's `example` tags), so that Swagger UI, the docs and API tools show a body that
// works as is; Spectral checks it against the schema.
func requestExamples(doc *openapi3.T) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Example != nil {
				continue
			}
			if ex, ok := exampleOf(mt.Schema, 0).(map[string]any); ok && len(ex) > 0 {
				mt.Example = ex
			}
		}
	}
}

// exampleOf composes an example value of a schema, or nil when it has none.
func exampleOf(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil || depth > 5 {
		return nil
	}
	s := ref.Value
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.AllOf) == 1:
		return exampleOf(s.AllOf[0], depth+1)
	case s.Type.Is("object"):
		out := map[string]any{}
		for name, p := range s.Properties {
			if v := exampleOf(p, depth+1); v != nil {
				out[name] = v
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case s.Type.Is("array"):
		if v := exampleOf(s.Items, depth+1); v != nil {
			return []any{v}
		}
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	return nil
}
