package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// ClockState is the sandbox test clock.
type ClockState struct {
	Now time.Time `json:"now" binding:"required" example:"2026-12-01T00:40:00+01:00" format:"date-time"`
} //	@name	ClockState

// ClockRequest moves the sandbox test clock.
type ClockRequest struct {
	Now time.Time `json:"now" binding:"required" validate:"required" example:"2026-12-01T00:40:00+01:00" format:"date-time"`
	// Settle settles every submitted SEPA collection at once (otherwise they settle when the
	// clock is 2 or more days past their submission), opens the dispute test card's disputes and
	// decides the answered disputes at once (otherwise 1 and 2 days later).
	Settle bool `json:"settle,omitempty"`
} //	@name	ClockRequest

// getClock godoc
//
//	@Summary		Read the sandbox test clock
//	@ID			getSandboxClock
//	@Description	Sandbox mode only.
//	@Tags			sandbox
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Success		200	{object}	ClockState
//	@Failure		401,404	{object}	Problem
//	@Router			/v1/sandbox/clock [get]
func (s *Server) getClock(c *gin.Context) {
	c.JSON(http.StatusOK, ClockState{Now: s.clock.Now()})
}

// putClock godoc
//
//	@Summary		Move the sandbox test clock
//	@ID			moveSandboxClock
//	@Description	Admin only, sandbox mode only. Time only moves forward (409 invalid_transition otherwise) and keeps flowing from the instant set. Everything that reads the time reads this clock, and the work the move makes due runs before the answer: card intents past their expiry are canceled, the previous month's close starts when the move enters a new month, submitted debits 2 or more days old settle. With settle: true, every submitted debit settles, those of the close the move started included (the answer then waits for that close).
//	@Tags			sandbox
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			body	body		ClockRequest	true	"The new time"
//	@Success		200		{object}	ClockState
//	@Failure		401,403,404,409,422	{object}	Problem
//	@Router			/v1/sandbox/clock [put]
func (s *Server) putClock(c *gin.Context) {
	var req ClockRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	if err := s.clock.Move(c.Request.Context(), req.Now); err != nil {
		s.writeError(c, err)
		return
	}
	switch {
	case s.clockMoved != nil:
		if err := s.clockMoved(c.Request.Context(), req.Settle); err != nil {
			s.writeError(c, err)
			return
		}
	case req.Settle && s.settle != nil:
		if _, err := s.settle(c.Request.Context(), true); err != nil {
			s.writeError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, ClockState{Now: s.clock.Now()})
}
