// Package goclient is vhupay's Go client, generated from api/openapi.yaml by oapi-codegen
// (client.gen.go, never edited by hand; `go generate ./...` regenerates it):
//
//	c, err := goclient.NewClientWithResponses("http://127.0.0.1:8080",
//		goclient.WithRequestEditorFn(goclient.Bearer(token)))
//	res, err := c.GetOrderWithResponse(ctx, orderID)
//	// res.JSON200 is the Order; res.ApplicationproblemJSON404 the problem of a 404.
//
// Every operation is a method named after its operationId (createPaymentIntent →
// CreatePaymentIntent); the *WithResponse variants decode the documented answers.
package goclient

import (
	"context"
	"net/http"
)

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml

// Bearer returns a request editor that sends token as the bearer token.
func Bearer(token string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
