package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/apikeys"
	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/txn"
)

// routes of API keys: admin (every key), centres (their own).
func (s *Server) routeAPIKeys(v1 *gin.RouterGroup) {
	owners := s.allow(auth.RoleCenter, auth.RoleAdmin)
	v1.POST("/api-keys", owners, s.createAPIKey)
	v1.GET("/api-keys", owners, s.listAPIKeys)
	v1.DELETE("/api-keys/:id", owners, s.revokeAPIKey)
}

var apiKeyErrors = []errorMapping{
	{apikeys.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{apikeys.ErrKeyCreatesKey, http.StatusForbidden, "forbidden", "Forbidden"},
}

// ApiKeyRequest creates an API key.
type ApiKeyRequest struct { //nolint:revive // the contract's schema name
	Name string `json:"name" binding:"required" example:"ERP of the Lyon centre"`
	// Role: service (admin only) or center.
	Role string `json:"role" binding:"required" enums:"service,center" example:"center"`
	// Org is the centre of a center key: required from an admin, left out (or the centre's own
	// id) from a centre; never given for a service key.
	Org string `json:"org,omitempty" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
} //	@name	ApiKeyRequest

// ApiKey is a long-lived credential of a partner's or a centre's system. Its secret is shown
// only when it is created.
type ApiKey struct { //nolint:revive // the contract's schema name
	ID   string `json:"id" binding:"required" example:"key_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Name string `json:"name" binding:"required"`
	Role string `json:"role" binding:"required" enums:"service,center"`
	// Org is the centre of a center key, null for a service key.
	Org *string `json:"org" binding:"required" extensions:"x-nullable"`
	// Last4 are the secret's last four characters, to tell keys apart.
	Last4     string    `json:"last4" binding:"required" example:"x9Qa"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
	// LastUsedAt is when the key last authenticated a request (to the minute; null: never).
	LastUsedAt *time.Time `json:"last_used_at" binding:"required" extensions:"x-nullable" format:"date-time"`
	// RevokedAt is when the key was revoked (null: active). A revoked key answers 401.
	RevokedAt *time.Time `json:"revoked_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	ApiKey

// ApiKeyWithSecret is a new API key with its secret, shown only here.
type ApiKeyWithSecret struct { //nolint:revive // the contract's schema name
	ApiKey
	// Secret authenticates as "Authorization: Bearer vhp_sk_…". vhupay keeps only its SHA-256.
	Secret string `json:"secret" binding:"required" example:"vhp_sk_3q2-7wBc1Zk0mJd9yTQvXr6uH4nLfP8aSe5gWiKo0x9Qa"`
} //	@name	ApiKeyWithSecret

// ApiKeyList is a page of API keys, newest first.
type ApiKeyList struct { //nolint:revive // the contract's schema name
	Data []ApiKey `json:"data" binding:"required"`
	listMeta
} //	@name	ApiKeyList

func toAPIKey(k apikeys.Key) ApiKey {
	return ApiKey{ID: k.ID, Name: k.Name, Role: string(k.Role), Org: optional(k.Org), Last4: k.Last4, CreatedAt: k.CreatedAt,
		LastUsedAt: optionalTime(k.LastUsedAt), RevokedAt: optionalTime(k.RevokedAt)}
}

// createAPIKey godoc
//
//	@Summary		Create an API key
//	@Description	An admin creates service keys (no org) and center keys for any centre (org required); a centre creates center keys for itself. Keys are created with a JWT: a caller authenticated with an API key gets 403 forbidden (so that revoking a leaked key cuts its holder off). The answer holds the secret, shown only here (it is not kept for Idempotency-Key replays either: a retry makes another key, revoke the one you did not get): it authenticates as "Authorization: Bearer vhp_sk_…" with the key's role and org, wherever a JWT is accepted. vhupay stores only its SHA-256. Audited (api_key.create).
//	@Tags			api-keys
//	@ID				createApiKey
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		ApiKeyRequest	true	"The key"
//	@Success		201				{object}	ApiKeyWithSecret
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/api-keys [post]
func (s *Server) createAPIKey(c *gin.Context) {
	var req ApiKeyRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	k, secret, err := s.apiKeys.Create(ctx, principal(c), apikeys.CreateInput{Name: req.Name, Role: auth.Role(req.Role), Org: req.Org})
	if err != nil {
		s.writeError(c, err)
		return
	}
	// The secret must not rest anywhere, the idempotency store included: this answer is not kept
	// for replay (a retry with the same Idempotency-Key makes another key).
	c.Set(ctxNotKept, true)
	created(c, "", ApiKeyWithSecret{ApiKey: toAPIKey(k), Secret: secret})
}

// listAPIKeys godoc
//
//	@Summary		List API keys
//	@Description	A centre's own keys; an admin sees every key. Revoked keys are listed (revoked_at); secrets never are.
//	@Tags			api-keys
//	@ID				listApiKeys
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	ApiKeyList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/api-keys [get]
func (s *Server) listAPIKeys(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.apiKeys.List(c.Request.Context(), principal(c), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := ApiKeyList{Data: make([]ApiKey, len(res.Items)), listMeta: metaOf(res)}
	for i, k := range res.Items {
		out.Data[i] = toAPIKey(k)
	}
	c.JSON(http.StatusOK, out)
}

// revokeAPIKey godoc
//
//	@Summary		Revoke an API key
//	@Description	At once: the next request with its secret answers 401. Answers the key with revoked_at; revoking a revoked key changes nothing. Another centre's key answers 404. Audited (api_key.revoke).
//	@Tags			api-keys
//	@ID				revokeApiKey
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path		string	true	"API key id"
//	@Success		200	{object}	ApiKey
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/api-keys/{id} [delete]
func (s *Server) revokeAPIKey(c *gin.Context) {
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	k, err := s.apiKeys.Revoke(ctx, principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toAPIKey(k))
}
