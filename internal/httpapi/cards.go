package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/payments"
)

// routes of the cards capability (buyers only).
func (s *Server) routeCards(v1 *gin.RouterGroup) {
	buyer := s.allow(auth.RoleBuyer)
	v1.POST("/card-registrations", buyer, s.createCardRegistration)
	v1.PUT("/card-registrations/:id", buyer, s.completeCardRegistration)
	v1.GET("/cards", buyer, s.listCards)
	v1.GET("/cards/:id", buyer, s.getCard)
	v1.DELETE("/cards/:id", buyer, s.deleteCard)
}

// CardRegistrationRequest starts a card registration; it has no field.
type CardRegistrationRequest struct{} //	@name	CardRegistrationRequest

// CardRegistration is a card registration just created. The browser posts the card form (data =
// preregistration_data, accessKeyRef = access_key, cardNumber, cardExpirationDate MMYY, cardCvx)
// to card_registration_url and gets back a text body "data=..." for PUT /v1/card-registrations/{id}.
type CardRegistration struct {
	ID                  string `json:"id" binding:"required" example:"cr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Status              string `json:"status" binding:"required" enums:"created"`
	CardRegistrationURL string `json:"card_registration_url" binding:"required"`
	PreregistrationData string `json:"preregistration_data" binding:"required"`
	AccessKey           string `json:"access_key" binding:"required"`
} //	@name	CardRegistration

// CardRegistrationCompletion hands the tokenisation answer to vhupay.
type CardRegistrationCompletion struct {
	RegistrationData string `json:"registration_data" binding:"required" example:"data=mKu8eAsIEOmC9l-Jbq7tWQ"`
} //	@name	CardRegistrationCompletion

// CardRegistrationResult is a validated card registration.
type CardRegistrationResult struct {
	ID     string `json:"id" binding:"required"`
	Status string `json:"status" binding:"required" enums:"validated"`
	CardID string `json:"card_id" binding:"required" example:"card_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
} //	@name	CardRegistrationResult

// Card is a buyer's card, tokenised at the provider; vhupay never holds its number.
type Card struct {
	ID         string    `json:"id" binding:"required" example:"card_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Alias      string    `json:"alias" binding:"required" example:"497010XXXXXX0154"`
	Expiration string    `json:"expiration" binding:"required" example:"1229"`
	Brand      string    `json:"brand" binding:"required" example:"VISA"`
	Status     string    `json:"status" binding:"required" enums:"active,blocked,inactive"`
	CreatedAt  time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	Card

// CardList is a page of cards.
type CardList struct {
	Data []Card `json:"data" binding:"required"`
	listMeta
} //	@name	CardList

func toCard(c payments.Card) Card {
	return Card{ID: c.ID, Alias: c.Alias, Expiration: c.Expiration, Brand: c.Brand, Status: string(c.Status), CreatedAt: c.CreatedAt}
}

// createCardRegistration godoc
//
//	@Summary		Start registering a card
//	@ID			createCardRegistration
//	@Description	Buyer only. The answer's secrets are given once: post the card form to card_registration_url from the browser, then complete with PUT /v1/card-registrations/{id}.
//	@Tags			cards
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string					false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		CardRegistrationRequest	false	"An empty object"
//	@Success		201				{object}	CardRegistration
//	@Failure		401,403,404,413,422,502	{object}	Problem
//	@Router			/v1/card-registrations [post]
func (s *Server) createCardRegistration(c *gin.Context) {
	if len(bodyOf(c)) > 0 {
		var req CardRegistrationRequest
		if err := s.bind(c, &req); err != nil {
			s.writeError(c, err)
			return
		}
	}
	r, err := s.payments.CreateCardRegistration(c.Request.Context(), principal(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "", CardRegistration{ID: r.ID, Status: string(r.Status), CardRegistrationURL: r.CardRegistrationURL,
		PreregistrationData: r.PreregistrationData, AccessKey: r.AccessKey})
}

// completeCardRegistration godoc
//
//	@Summary		Complete a card registration
//	@ID			completeCardRegistration
//	@Description	Buyer only. Hands the tokenisation answer ("data=...") to the provider; the card is kept and its id returned. The provider refusing it answers 422 card_registration_failed (the registration cannot be used again: start another).
//	@Tags			cards
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string						true	"Card registration id"
//	@Param			body	body		CardRegistrationCompletion	true	"The tokenisation answer"
//	@Success		200		{object}	CardRegistrationResult
//	@Failure		401,403,404,413,422,502	{object}	Problem
//	@Router			/v1/card-registrations/{id} [put]
func (s *Server) completeCardRegistration(c *gin.Context) {
	var req CardRegistrationCompletion
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	r, err := s.payments.CompleteCardRegistration(c.Request.Context(), principal(c), c.Param("id"), req.RegistrationData)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, CardRegistrationResult{ID: r.ID, Status: string(r.Status), CardID: r.CardID})
}

// listCards godoc
//
//	@Summary		List the buyer's cards
//	@ID			listCards
//	@Description	Buyer only; newest first, every status.
//	@Tags			cards
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	CardList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/cards [get]
func (s *Server) listCards(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.payments.Cards(c.Request.Context(), principal(c), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := CardList{Data: make([]Card, len(res.Items)), listMeta: metaOf(res)}
	for i, card := range res.Items {
		out.Data[i] = toCard(card)
	}
	c.JSON(http.StatusOK, out)
}

// getCard godoc
//
//	@Summary	Get a card
//	@ID		getCard
//	@Description	The buyer's own card (another buyer's answers 404): masked alias, expiry MMYY, brand and status (active, blocked after three wrong 3-D Secure codes, inactive once deleted).
//	@Tags		cards
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		string	true	"Card id"
//	@Success	200	{object}	Card
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/cards/{id} [get]
func (s *Server) getCard(c *gin.Context) {
	card, err := s.payments.Card(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toCard(card))
}

// deleteCard godoc
//
//	@Summary		Delete a card
//	@ID			deleteCard
//	@Description	Deactivates the card at the provider; its status becomes inactive, for good.
//	@Tags			cards
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			id	path	string	true	"Card id"
//	@Success		204
//	@Failure		401,403,404,502	{object}	Problem
//	@Router			/v1/cards/{id} [delete]
func (s *Server) deleteCard(c *gin.Context) {
	if err := s.payments.DeleteCard(c.Request.Context(), principal(c), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
