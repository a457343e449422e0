package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/detail"
	"github.com/vhupay/vhupay/internal/idempotency"
	"github.com/vhupay/vhupay/internal/invoicing"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
	"github.com/vhupay/vhupay/internal/sepa"
	"github.com/vhupay/vhupay/internal/validation"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string       `json:"type" binding:"required" example:"https://docs.vhupay.dev/errors/validation_failed"`
	Title     string       `json:"title" binding:"required" example:"Validation failed"`
	Status    int          `json:"status" binding:"required" example:"422"`
	Detail    string       `json:"detail,omitempty" example:"The request has invalid fields."`
	Code      string       `json:"code" binding:"required" example:"validation_failed"`
	RequestID string       `json:"request_id" binding:"required" example:"0193a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b"`
	Errors    []FieldError `json:"errors,omitempty"`
	// Reasons (sepa_not_eligible) lists why SEPA is refused.
	Reasons []string `json:"reasons,omitempty"`
	// Available (sepa_ceiling_exceeded) is the SEPA balance left this month, in cents.
	Available *int64 `json:"available,omitempty"`
	// ActionURL (provider_action_required) is the payment provider's page where the company's
	// representative must authenticate, valid a few minutes; add an encoded returnUrl query
	// parameter to come back.
	ActionURL string `json:"action_url,omitempty" example:"https://sca.mangopay.com/?token=0193d02f30df7a188c51cf890a191d21"`
} //	@name	Problem

// FieldError names one invalid field.
type FieldError struct {
	Field   string `json:"field" binding:"required" example:"lines[0].quantity"`
	Code    string `json:"code" binding:"required" example:"min"`
	Message string `json:"message" binding:"required" example:"must be at least 1"`
} //	@name	FieldError

const problemBase = "https://docs.vhupay.dev/errors/"

// apiError is an error already shaped for the edge (status, code, title).
type apiError struct {
	status int
	code   string
	title  string
	detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func newAPIError(status int, code, title, detail string) *apiError {
	return &apiError{status: status, code: code, title: title, detail: detail}
}

var (
	errUnauthenticated  = newAPIError(http.StatusUnauthorized, "unauthenticated", "Unauthenticated", "A valid bearer token is required.")
	errForbidden        = newAPIError(http.StatusForbidden, "forbidden", "Forbidden", "Your role may not do this.")
	errNotFound         = newAPIError(http.StatusNotFound, "not_found", "Not found", "No such resource.")
	errMethodNotAllowed = newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "This path does not accept this method.")
	errTooLarge         = newAPIError(http.StatusRequestEntityTooLarge, "payload_too_large", "Payload too large", "Request bodies are limited to 1 MiB.")
	errUnreadableBody   = newAPIError(http.StatusBadRequest, "validation_failed", "Unreadable body", "The request body could not be read.")
	errNotReady         = newAPIError(http.StatusServiceUnavailable, "unavailable", "Not ready", "The database does not answer.")
	errInternal         = newAPIError(http.StatusInternalServerError, "internal", "Internal error", "")
)

// edgeErrors are the problems the HTTP edge answers by itself (no domain error behind them).
var edgeErrors = []*apiError{errUnauthenticated, errForbidden, errNotFound, errMethodNotAllowed, errTooLarge,
	errUnreadableBody, errNotReady, errInternal, errUnsupportedMediaType, errHeadersTooLarge, errRateLimited, errOriginNotAllowed}

// errorMapping turns a domain error into a status, a code and a title.
type errorMapping struct {
	err    error
	status int
	code   string
	title  string
}

// errorTable is the one place where domain errors meet HTTP: each capability lists its errors in
// its own slice (next to its handlers) and adds it here.
var errorTable = slices.Concat(foundationErrors, sepaErrors, sepaDebitErrors, collectionErrors, orderErrors, paymentErrors, monthCloseErrors, invoicingErrors, eventErrors, webhookErrors, balanceErrors, payoutErrors, reconciliationErrors, apiKeyErrors, refundErrors, disputeErrors)

var foundationErrors = []errorMapping{
	{auth.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated", "Unauthenticated"},
	{idempotency.ErrReused, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused"},
	{idempotency.ErrInUse, http.StatusConflict, "idempotency_key_in_use", "Idempotency key in use"},
	{parties.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{parties.ErrBuyerExists, http.StatusConflict, "buyer_exists", "Buyer exists"},
	{parties.ErrCenterExists, http.StatusConflict, "center_exists", "Centre exists"},
	{clock.ErrBackwards, http.StatusConflict, "invalid_transition", "The clock only moves forward"},
	{page.ErrBadCursor, http.StatusUnprocessableEntity, "validation_failed", "Validation failed"},
	{psp.ErrUnavailable, http.StatusBadGateway, "psp_unavailable", "Payment provider unavailable"},
	{psp.ErrRepresentativeRequired, http.StatusConflict, "legal_representative_required", "Legal representative required"},
	{psp.ErrPendingAction, http.StatusConflict, "provider_action_required", "Authentication at the payment provider required"},
}

// ProblemCode is a problem code the API answers with, and the HTTP statuses it comes with.
type ProblemCode struct {
	Code     string
	Statuses []int
}

// ProblemCodes lists every problem code the API can answer with, sorted by code: the domain
// errors' table, the edge's own problems and validation_failed. The OpenAPI document's enum of
// Problem.code is generated from it, and docs/errors.md is checked against it by a test, so a code
// added to the table fails that test until it is documented.
func ProblemCodes() []ProblemCode {
	statuses := map[string][]int{"validation_failed": {http.StatusUnprocessableEntity}}
	add := func(code string, status int) {
		if !slices.Contains(statuses[code], status) {
			statuses[code] = append(statuses[code], status)
		}
	}
	for _, m := range errorTable {
		add(m.code, m.status)
	}
	for _, e := range edgeErrors {
		add(e.code, e.status)
	}
	out := make([]ProblemCode, 0, len(statuses))
	for code, st := range statuses {
		slices.Sort(st)
		out = append(out, ProblemCode{Code: code, Statuses: st})
	}
	slices.SortFunc(out, func(a, b ProblemCode) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// problemExtras add error-specific members (reasons, available) to a problem.
var problemExtras = []func(err error, p *Problem){sepaProblemExtras, providerProblemExtras}

// providerProblemExtras gives a provider_action_required problem the page to send the person to.
func providerProblemExtras(err error, p *Problem) {
	var pending *psp.PendingActionError
	if errors.As(err, &pending) {
		p.ActionURL = pending.Action.URL
	}
}

// writeError answers with the problem for err, logging unknown errors once.
func (s *Server) writeError(c *gin.Context, err error) {
	p := s.problemFor(c, err)
	writeProblem(c, p)
}

func (s *Server) problemFor(c *gin.Context, err error) Problem {
	rid := requestID(c)
	var ae *apiError
	if errors.As(err, &ae) {
		return Problem{Type: problemBase + ae.code, Title: ae.title, Status: ae.status, Detail: ae.detail, Code: ae.code, RequestID: rid}
	}
	var ve *validation.Error
	if errors.As(err, &ve) {
		p := Problem{Type: problemBase + "validation_failed", Title: "Validation failed", Status: http.StatusUnprocessableEntity,
			Detail: "The request has invalid fields.", Code: "validation_failed", RequestID: rid}
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
		}
		return p
	}
	if errors.Is(err, page.ErrBadCursor) {
		return Problem{Type: problemBase + "validation_failed", Title: "Validation failed", Status: http.StatusUnprocessableEntity,
			Code: "validation_failed", RequestID: rid, Errors: []FieldError{{Field: "cursor", Code: "invalid", Message: "unknown cursor"}}}
	}
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			// The detail is the sentinel's own text: sentinels are written for people and never
			// carry provider or SQL text (wrapped context is left out on purpose).
			p := Problem{Type: problemBase + m.code, Title: m.title, Status: m.status, Detail: detailOf(err, m.err), Code: m.code, RequestID: rid}
			for _, extra := range problemExtras {
				extra(err, &p)
			}
			return p
		}
	}
	logger(c).Error("request failed", slog.String("err", err.Error()))
	return Problem{Type: problemBase + "internal", Title: "Internal error", Status: http.StatusInternalServerError, Code: "internal", RequestID: rid}
}

// sentinelDetails say what to do for the sentinels whose own text is terse or internal
// ("sepa: ceiling exceeded"); an error carrying its own sentence (package detail) wins.
var sentinelDetails = map[error]string{
	sepa.ErrNotEligible:       "SEPA debit is not available to this buyer now; `reasons` says why. Offer another payment method.",
	sepa.ErrCeilingExceeded:   "The payment does not fit in what is left of the buyer's monthly SEPA ceiling (`available`, in cents). Pay by card, or lower the amount.",
	sepa.ErrRateLimited:       "A buyer may run one score check per rolling 24 hours: wait the Retry-After seconds.",
	orders.ErrNotPayable:      "The order is not payment_pending: it cannot be paid. Read it (GET /v1/orders/{id}) and show its status and payment.",
	orders.ErrNotDeletable:    "Only a payment_pending order can be deleted. Read it (GET /v1/orders/{id}) and show its status.",
	payments.ErrNotCancelable: "Only a payment intent waiting for 3-D Secure (requires_action) can be cancelled. Read it for its outcome.",
	payments.ErrCardBlocked:   "The card is blocked at the payment provider: ask the buyer for another card.",
	invoicing.ErrNotApproved:  "There is no approved invoicing account for this buyer and centre: ask the centre to approve one, or pay by card.",
}

// detailOf is the problem's detail for err, matched by the sentinel known.
func detailOf(err, known error) string {
	if d, ok := detail.Of(err); ok {
		return d
	}
	if d, ok := sentinelDetails[known]; ok {
		return d
	}
	return known.Error()
}

func writeProblem(c *gin.Context, p Problem) {
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="vhupay"`)
	}
	// Set before rendering: gin keeps a Content-Type that is already there.
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
