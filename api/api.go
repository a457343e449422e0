// Package api holds the published OpenAPI 3 document of vhupay, generated from the handlers'
// annotations (never hand-edited): `go generate ./...` runs swag (Swagger 2.0 into docs/) and
// converts its output to OpenAPI 3.0 (openapi.yaml and openapi.json here).
package api

import _ "embed"

//go:generate go tool swag init --quiet --generalInfo doc.go --dir ../internal/httpapi --output ../docs --outputTypes json,yaml
//go:generate go run ../internal/httpapi/openapigen -in ../docs/swagger.json -yaml openapi.yaml -json openapi.json

// OpenAPIJSON is the OpenAPI 3.0 document served at /openapi.json.
//
//go:embed openapi.json
var OpenAPIJSON []byte

// OpenAPIYAML is the same document in YAML.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
