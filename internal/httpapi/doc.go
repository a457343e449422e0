// Package httpapi is vhupay's HTTP edge: the gin router, middleware (request ids, logs, metrics,
// authentication, idempotency), request and response DTOs with their OpenAPI annotations, and the
// one table that turns domain errors into RFC 9457 problems. Handlers are thin: bind, call a
// domain service, convert.
//
//	@title						vhupay API
//	@version					1.0
//	@description				Payments back end of a B2B marketplace of used car parts: orders, card payments with 3-D Secure, SEPA direct debit collected at month end within a ceiling, and end-of-month invoicing by the selling centre. Money is integer euro cents; months are Europe/Paris calendar months ("2026-11"). Errors are RFC 9457 problems (application/problem+json) with a stable `code`. Every POST accepts an `Idempotency-Key` header.
//	@BasePath					/
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				A JWT: `Bearer <token>` (get one with `vhupay token --role admin`).
package httpapi
