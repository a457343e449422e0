// Command openapigen converts swag's Swagger 2.0 output to the published OpenAPI 3.0 document
// (run by `go generate ./...` in package api). It makes the bearer scheme an HTTP bearer scheme,
// so Swagger UI asks for the bare token, and applies the conventions every operation shares
// (conventions.go): the response headers, the Idempotency-Key parameter and the enum of problem
// codes, which comes from the HTTP edge's one table (httpapi.ProblemCodes).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"
)

func main() {
	in := flag.String("in", "", "swagger 2.0 JSON")
	outYAML := flag.String("yaml", "", "OpenAPI 3 YAML output")
	outJSON := flag.String("json", "", "OpenAPI 3 JSON output")
	flag.Parse()
	if err := run(*in, *outYAML, *outJSON); err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

// splitMediaTypes keeps application/json for successes and application/problem+json for errors
// (swag's Swagger 2.0 can only list one set of media types per operation).
func splitMediaTypes(doc *openapi3.T) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for code, resp := range op.Responses.Map() {
				if resp.Value == nil || resp.Value.Content == nil {
					continue
				}
				drop := "application/problem+json"
				if len(code) == 3 && code[0] >= '4' {
					drop = "application/json"
				}
				if len(resp.Value.Content) > 1 {
					delete(resp.Value.Content, drop)
				}
			}
		}
	}
}

func run(in, outYAML, outJSON string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(b, &doc2); err != nil {
		return fmt.Errorf("parse %s: %w", in, err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	doc3.Components.SecuritySchemes["BearerAuth"] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
		Type: "http", Scheme: "bearer", BearerFormat: "JWT",
		Description: "A JWT (get one with `vhupay token --role admin`).",
	}}
	splitMediaTypes(doc3)
	if err := applyConventions(doc3); err != nil {
		return err
	}
	doc3.Servers = openapi3.Servers{{URL: "/", Description: "this vhupay server"}}
	if err := doc3.Validate(openapi3.NewLoader().Context); err != nil {
		return fmt.Errorf("the converted document is invalid: %w", err)
	}
	j, err := json.MarshalIndent(doc3, "", "  ")
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return err
	}
	if err := os.WriteFile(outJSON, append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(outYAML, y, 0o644)
}
