// Package httpapi is vhupay's HTTP edge: the gin router, middleware (request ids, logs, metrics,
// authentication, idempotency), request and response DTOs with their OpenAPI annotations, and the
// one table that turns domain errors into RFC 9457 problems. Handlers are thin: bind, call a
// domain service, convert.
//
//	@title						vhupay API
//	@version					1.0
//	@description				Payments back end of a B2B marketplace of used car parts: orders, card payments with 3-D Secure, SEPA direct debit collected at month end within a ceiling, and end-of-month invoicing by the selling centre. Money is integer euro cents; months are Europe/Paris calendar months ("2026-11"). Errors are RFC 9457 problems (application/problem+json) with a stable `code`. Every POST accepts an `Idempotency-Key` header.
//	@BasePath					/
//	@tag.name			buyers
//	@tag.description	Garages (buyers), identified by SIREN.
//	@tag.name			centers
//	@tag.description	Recycling centres (centres VHU), the sellers, identified by SIRET.
//	@tag.name			orders
//	@tag.description	Orders: payment_pending (paiement non finalisé), confirmed, cancelled; delivery notes.
//	@tag.name			cards
//	@tag.description	Cards tokenised at the payment provider.
//	@tag.name			payment-intents
//	@tag.description	Paying an order: card (3-D Secure), sepa_debit, vhu_invoice.
//	@tag.name			refunds
//	@tag.description	Refunds of payments (card, SEPA, invoice): full or partial, any number, never more than the payment.
//	@tag.name			bank accounts
//	@tag.description	Bank accounts and their e-signed SEPA mandates.
//	@tag.name			sepa
//	@tag.description	SEPA profile, ceiling, score checks and month-end collections (Gestion des prélèvements).
//	@tag.name			invoicing
//	@tag.description	End-of-month invoicing by the selling centre: accounts, statements, exports.
//	@tag.name			balance
//	@tag.description	The centres' money: fee, balance, balance transactions and the monthly sales report.
//	@tag.name			disputes
//	@tag.description	Card chargebacks: the centre is debited at once, answers with evidence (text, the order's delivery note) or accepts, before evidence_due_by.
//	@tag.name			payouts
//	@tag.description	Payouts of the centres' balances to their payout bank accounts: on demand and every Monday.
//	@tag.name			ledger
//	@tag.description	The double-entry ledger, its trial balance and the reconciliation with the provider (operators).
//	@tag.name			month-close
//	@tag.description	Month close: collections, statements, ceiling reviews (operators).
//	@tag.name			events
//	@tag.description	Events: every change told to integrators, kept 90 days.
//	@tag.name			webhooks
//	@tag.description	Webhook endpoints: events pushed to integrators, signed (Standard Webhooks), retried for 3 days.
//	@tag.name			api-keys
//	@tag.description	API keys (vhp_sk_…) for partners' and centres' systems: shown once, stored hashed, revocable at once.
//	@tag.name			audit
//	@tag.description	The audit trail of operators' and integrators' acts, written with each change (admin).
//	@tag.name			sandbox
//	@tag.description	Sandbox mode only: test clock and score partner.
//	@tag.name			provider
//	@tag.description	Payment provider notifications.
//	@tag.name			operations
//	@tag.description	Health, readiness.
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				A JWT: `Bearer <token>` (get one with `vhupay token --role admin`), or an API key: `Bearer vhp_sk_…` (POST /v1/api-keys).
package httpapi
