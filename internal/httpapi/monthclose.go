package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/monthclose"
	"github.com/vhupay/vhupay/internal/txn"
)

// MonthCloseRequest starts (or resumes) a month's close.
type MonthCloseRequest struct {
	Month string `json:"month" binding:"required" validate:"required" example:"2026-11"`
} //	@name	MonthCloseRequest

// MonthClose is the close of one month: its status and what each step produced.
type MonthClose struct {
	Month  string `json:"month" binding:"required" example:"2026-11"`
	Status string `json:"status" binding:"required" enums:"running,completed,failed" example:"completed"`
	// Collections is the number of SEPA collections created for the month.
	Collections int `json:"collections" binding:"required" example:"12"`
	// Statements is the number of invoicing statements issued for the month.
	Statements int `json:"statements" binding:"required" example:"7"`
	// CeilingReviews is the number of SEPA ceilings reviewed.
	CeilingReviews int `json:"ceiling_reviews" binding:"required" example:"30"`
	// ScoreChecks is the number of financial scores refreshed.
	ScoreChecks int       `json:"score_checks" binding:"required" example:"30"`
	StartedAt   time.Time `json:"started_at" binding:"required" format:"date-time"`
	// FinishedAt is null while the close runs.
	FinishedAt *time.Time `json:"finished_at" binding:"required" extensions:"x-nullable" format:"date-time"`
} //	@name	MonthClose

var monthCloseErrors = []errorMapping{
	{monthclose.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{monthclose.ErrMonthNotEnded, http.StatusConflict, "month_not_ended", "Month not ended"},
}

func (s *Server) routeMonthClose(v1 *gin.RouterGroup) {
	admin := s.allow(auth.RoleAdmin)
	v1.POST("/admin/month-closes", admin, s.startMonthClose)
	v1.GET("/admin/month-closes/:month", admin, s.getMonthClose)
}

func toMonthClose(c monthclose.MonthClose) MonthClose {
	return MonthClose{Month: c.Month, Status: string(c.Status), Collections: c.Collections, Statements: c.Statements,
		CeilingReviews: c.CeilingReviews, ScoreChecks: c.ScoreChecks, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt}
}

// startMonthClose godoc
//
//	@Summary		Start or resume a month's close
//	@ID			startMonthClose
//	@Description	Runs once month M has ended in Europe/Paris (per the clock; the scheduler also starts it shortly after midnight on the 1st): refresh scores, SEPA collections, invoicing statements, ceiling reviews. 202 when this call started the close; 200 with the existing close when it already exists (running or completed: nothing is started twice). A close that has failed (its job ran out of attempts) is resumed after its last completed step and answers 202. A month that has not ended answers 409 month_not_ended. A month more than 13 months back, or before the month of the platform's first buyer or centre, answers 422 (field month, code range) unless its close exists. Poll GET /v1/admin/month-closes/{month} for its progress. Audited (month_close.start, see GET /v1/admin/audit-events).
//	@Tags			month-close
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		MonthCloseRequest	true	"The month"
//	@Success		200				{object}	MonthClose			"The close already existed"
//	@Success		202				{object}	MonthClose			"The close was started (or resumed)"
//	@Header		202				{string}	Location	"The close's resource"
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/admin/month-closes [post]
func (s *Server) startMonthClose(c *gin.Context) {
	var req MonthCloseRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := txn.WithRequestID(c.Request.Context(), requestID(c))
	mc, outcome, err := s.monthCloses.StartAs(ctx, principal(c).Actor(), req.Month)
	if err != nil {
		s.writeError(c, err)
		return
	}
	status := http.StatusOK
	if outcome != monthclose.Existing {
		status = http.StatusAccepted
		c.Header("Location", "/v1/admin/month-closes/"+mc.Month)
	}
	c.JSON(status, toMonthClose(mc))
}

// getMonthClose godoc
//
//	@Summary	Get a month's close
//	@ID		getMonthClose
//	@Description	Admin only. The close of a month (YYYY-MM, Europe/Paris) with its status and counters; 404 when it was never started.
//	@Tags		month-close
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		month	path		string	true	"The month, YYYY-MM"	example(2026-11)
//	@Success	200		{object}	MonthClose
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/admin/month-closes/{month} [get]
func (s *Server) getMonthClose(c *gin.Context) {
	mc, err := s.monthCloses.Get(c.Request.Context(), c.Param("month"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toMonthClose(mc))
}
