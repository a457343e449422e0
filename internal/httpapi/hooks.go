package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/psp/mangopay"
)

// routeHooks registers the provider notification endpoints; they carry no token, so they hang off
// the engine, not the authenticated /v1 group.
func (s *Server) routeHooks(r *gin.Engine) {
	r.GET("/v1/psp/mangopay/hooks", s.hookRateLimit, s.mangopayHook)
}

// mangopayHook godoc
//
//	@Summary		MangoPay notification
//	@Description	No token. Answers 200 once the notification is kept in the database (notifications of a resource while one of it still waits are kept as that one: one provider read); the job queue then re-reads the named resource from the provider and applies its state, retrying until it applies. The query itself is never trusted; event types vhupay does not act on and unknown resources are ignored. 503 when it could not be kept (the provider sends it again). 429 rate_limited beyond VHUPAY_HOOK_RATE_LIMIT notifications a second from one address.
//	@Tags			provider
//	@ID				receiveMangopayHook
//	@Param			EventType	query	string	false	"MangoPay event type, e.g. PAYIN_NORMAL_SUCCEEDED"
//	@Param			RessourceId	query	string	false	"The resource's id at MangoPay (sic)"
//	@Param			Date		query	string	false	"Unix time of the event"
//	@Produce		application/problem+json
//	@Success		200
//	@Failure		503	{object}	Problem
//	@Router			/v1/psp/mangopay/hooks [get]
func (s *Server) mangopayHook(c *gin.Context) {
	n, ok := mangopay.ParseHook(c.Request.URL.Query())
	switch {
	case !ok:
		logger(c).Info("provider notification ignored", slog.String("event", c.Query("EventType")))
	case s.notifications == nil:
		logger(c).Warn("provider notification ignored: no payment provider", slog.String("event", n.Event))
	default:
		if err := s.notifications.Receive(c.Request.Context(), n); err != nil {
			logger(c).Error("provider notification not kept", slog.String("event", n.Event), slog.String("err", err.Error()))
			s.writeError(c, newAPIError(http.StatusServiceUnavailable, "unavailable", "Unavailable", "The notification could not be kept; send it again."))
			return
		}
	}
	c.Status(http.StatusOK)
}
