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
	r.GET("/v1/psp/mangopay/hooks", s.mangopayHook)
}

// mangopayHook godoc
//
//	@Summary		MangoPay notification
//	@ID			receiveMangopayHook
//	@Description	No token. Answers 200 at once; the resource named by the query is then re-read from the provider and its state applied in the background. The query itself is never trusted; event types vhupay does not act on and unknown resources are ignored.
//	@Tags			provider
//	@Param			EventType	query	string	false	"MangoPay event type, e.g. PAYIN_NORMAL_SUCCEEDED"
//	@Param			RessourceId	query	string	false	"The resource's id at MangoPay (sic)"
//	@Param			Date		query	string	false	"Unix time of the event"
//	@Success		200
//	@Router			/v1/psp/mangopay/hooks [get]
func (s *Server) mangopayHook(c *gin.Context) {
	n, ok := mangopay.ParseHook(c.Request.URL.Query())
	switch {
	case !ok:
		logger(c).Info("provider notification ignored", slog.String("event", c.Query("EventType")))
	case s.notifications == nil:
		logger(c).Warn("provider notification ignored: no payment provider", slog.String("event", n.Event))
	default:
		s.notifications.Receive(n)
	}
	c.Status(http.StatusOK)
}
