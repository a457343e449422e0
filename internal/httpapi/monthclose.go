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
	// Progress is how far the step under way is, while the close runs; null otherwise.
	Progress *MonthCloseProgress `json:"progress" binding:"required" extensions:"x-nullable"`
} //	@name	MonthClose

// MonthCloseProgress is how far a running close's current step is: done of total items (the SEPA
// collections submitted of the month's, for the collections step); 0 of 0 until the step has
// counted its items.
type MonthCloseProgress struct {
	Step  string `json:"step" binding:"required" enums:"refresh_scores,collections,statements,ceiling_reviews" example:"collections"`
	Done  int    `json:"done" binding:"required" example:"1200"`
	Total int    `json:"total" binding:"required" example:"20000"`
} //	@name	MonthCloseProgress

// MonthCloseStranded lists what a month's close should have taken and did not. It is always
// empty: a payment and the close of its month are serialised.
type MonthCloseStranded struct {
	Month string `json:"month" binding:"required" example:"2026-11"`
	// PaymentIntentCount is the number of scheduled sepa_debit intents of the month left without
	// a collection once the close's collections step has completed.
	PaymentIntentCount int `json:"payment_intent_count" binding:"required" example:"0"`
	// StatementCount is the number of the month's statements still open once the close's
	// statements step has completed.
	StatementCount int `json:"statement_count" binding:"required" example:"0"`
	// PaymentIntents are those intents, oldest first (at most 100).
	PaymentIntents []StrandedPaymentIntent `json:"payment_intents" binding:"required"`
	// Statements are those statements, oldest first (at most 100).
	Statements []StrandedStatement `json:"statements" binding:"required"`
} //	@name	MonthCloseStranded

// StrandedPaymentIntent is a scheduled sepa_debit intent its month's collections left out.
type StrandedPaymentIntent struct {
	ID      string `json:"id" binding:"required" example:"pi_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	OrderID string `json:"order_id" binding:"required" example:"ord_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	BuyerID string `json:"buyer_id" binding:"required" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Amount in euro cents.
	Amount    int64     `json:"amount" binding:"required" example:"12000"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	StrandedPaymentIntent

// StrandedStatement is a statement still open after its month's statements were issued.
type StrandedStatement struct {
	ID       string `json:"id" binding:"required" example:"stm_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	BuyerID  string `json:"buyer_id" binding:"required" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	CenterID string `json:"center_id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	// Total in euro cents, VAT included.
	Total     int64     `json:"total" binding:"required" example:"12000"`
	CreatedAt time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	StrandedStatement

var monthCloseErrors = []errorMapping{
	{monthclose.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{monthclose.ErrMonthNotEnded, http.StatusConflict, "month_not_ended", "Month not ended"},
}

func (s *Server) routeMonthClose(v1 *gin.RouterGroup) {
	admin := s.allow(auth.RoleAdmin)
	v1.POST("/admin/month-closes", admin, s.startMonthClose)
	v1.GET("/admin/month-closes/:month", admin, s.getMonthClose)
	v1.GET("/admin/month-closes/:month/stranded", admin, s.getMonthCloseStranded)
}

func toMonthClose(c monthclose.MonthClose) MonthClose {
	out := MonthClose{Month: c.Month, Status: string(c.Status), Collections: c.Collections, Statements: c.Statements,
		CeilingReviews: c.CeilingReviews, ScoreChecks: c.ScoreChecks, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt}
	if p, ok := c.Progress(); ok {
		out.Progress = &MonthCloseProgress{Step: p.Step, Done: p.Done, Total: p.Total}
	}
	return out
}

// startMonthClose godoc
//
//	@Summary		Start or resume a month's close
//	@ID			startMonthClose
//	@Description	Runs once month M has ended in Europe/Paris (per the clock; the scheduler also starts it shortly after midnight on the 1st): refresh scores, SEPA collections, invoicing statements, ceiling reviews. 202 when this call started the close; 200 with the existing close when it already exists (running, completed or failed: nothing is started twice). A close that has failed (its job ran out of attempts) exists: it is re-opened and resumes after its last completed step, and the call answers 200 with it as re-opened (status running). A month that has not ended answers 409 month_not_ended. A month more than 13 months back, or before the month of the platform's first buyer or centre, answers 422 (field month, code range) unless its close exists. Poll GET /v1/admin/month-closes/{month} for its progress. Audited (month_close.start, see GET /v1/admin/audit-events).
//	@Tags			month-close
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string				false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		MonthCloseRequest	true	"The month"
//	@Success		200				{object}	MonthClose			"The close already existed (a failed one is resumed)"
//	@Success		202				{object}	MonthClose			"The close was started"
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
	// The contract: 202 when this call starts the close, 200 when the month's close exists —
	// a failed close resumed by this call included (it is not started again).
	status := http.StatusOK
	if outcome == monthclose.Started {
		status = http.StatusAccepted
		c.Header("Location", "/v1/admin/month-closes/"+mc.Month)
	}
	c.JSON(status, toMonthClose(mc))
}

// getMonthClose godoc
//
//	@Summary	Get a month's close
//	@ID		getMonthClose
//	@Description	Admin only. The close of a month (YYYY-MM, Europe/Paris) with its status, counters and, while it runs, the progress of its current step ({step, done, total}: the collections step counts the SEPA collections submitted, at the pace of the provider's rate limit); 404 when it was never started.
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

// getMonthCloseStranded godoc
//
//	@Summary	List what a month's close left behind
//	@ID		getMonthCloseStranded
//	@Description	Admin only. The scheduled sepa_debit intents of the month (YYYY-MM, Europe/Paris) left without a collection once its close's collections step has completed, and the month's statements still open once its statements step has completed. Always empty: a payment counts in a month only if it commits before the month's close begins, and one arriving later counts in the next month. The metric vhupay_month_close_stranded counts the same over every month. 404 when the month's close was never started.
//	@Tags		month-close
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		month	path		string	true	"The month, YYYY-MM"	example(2026-11)
//	@Success	200		{object}	MonthCloseStranded
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/admin/month-closes/{month}/stranded [get]
func (s *Server) getMonthCloseStranded(c *gin.Context) {
	st, err := s.monthCloses.Stranded(c.Request.Context(), c.Param("month"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := MonthCloseStranded{Month: st.Month, PaymentIntentCount: st.IntentCount, StatementCount: st.StatementCount,
		PaymentIntents: make([]StrandedPaymentIntent, 0, len(st.Intents)), Statements: make([]StrandedStatement, 0, len(st.Statements))}
	for _, pi := range st.Intents {
		out.PaymentIntents = append(out.PaymentIntents, StrandedPaymentIntent{ID: pi.ID, OrderID: pi.OrderID, BuyerID: pi.BuyerID,
			Amount: pi.Amount, CreatedAt: pi.CreatedAt})
	}
	for _, stm := range st.Statements {
		out.Statements = append(out.Statements, StrandedStatement{ID: stm.ID, BuyerID: stm.BuyerID, CenterID: stm.CenterID,
			Total: stm.Total, CreatedAt: stm.CreatedAt})
	}
	c.JSON(http.StatusOK, out)
}
