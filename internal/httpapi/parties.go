package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vhupay/vhupay/internal/parties"
)

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1" binding:"required" validate:"required,min=1,max=200" example:"12 rue des Casses"`
	Line2      string `json:"line2,omitempty" validate:"max=200"`
	PostalCode string `json:"postal_code" binding:"required" validate:"required,min=1,max=20" example:"69007"`
	City       string `json:"city" binding:"required" validate:"required,min=1,max=100" example:"Lyon"`
	Country    string `json:"country" binding:"required" validate:"required,iso3166_1_alpha2" example:"FR"`
} //	@name	Address

// LegalRepresentative is the person who legally represents a company (its "représentant
// légal"). With the MangoPay provider a buyer needs one (first and last name) before its first
// payment, and a centre needs one with every field before its first payout.
type LegalRepresentative struct {
	FirstName          string `json:"first_name" binding:"required" validate:"required,min=1,max=100" example:"Alice"`
	LastName           string `json:"last_name" binding:"required" validate:"required,min=1,max=100" example:"Martin"`
	Birthday           string `json:"birthday,omitempty" validate:"omitempty,datetime=2006-01-02" format:"date" example:"1978-04-02"`
	Nationality        string `json:"nationality,omitempty" validate:"omitempty,iso3166_1_alpha2" example:"FR"`
	CountryOfResidence string `json:"country_of_residence,omitempty" validate:"omitempty,iso3166_1_alpha2" example:"FR"`
	Email              string `json:"email,omitempty" validate:"omitempty,email,max=254" example:"alice.martin@garage-martin.fr"`
} //	@name	LegalRepresentative

// BuyerRequest creates a buyer.
type BuyerRequest struct {
	Name                string               `json:"name" binding:"required" validate:"required,min=1,max=200" example:"Garage Martin SARL"`
	SIREN               string               `json:"siren" binding:"required" validate:"required" example:"812345676"`
	Email               string               `json:"email" binding:"required" validate:"required,email,max=254" example:"compta@garage-martin.fr"`
	Address             Address              `json:"address" binding:"required" validate:"required"`
	LegalRepresentative *LegalRepresentative `json:"legal_representative,omitempty" validate:"omitempty"`
} //	@name	BuyerRequest

// BuyerUpdate changes a buyer: today, its legal representative (replaced as a whole).
type BuyerUpdate struct {
	LegalRepresentative *LegalRepresentative `json:"legal_representative" binding:"required" validate:"required"`
} //	@name	BuyerUpdate

// Buyer is a garage company.
type Buyer struct {
	ID                  string               `json:"id" binding:"required" example:"byr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Name                string               `json:"name" binding:"required"`
	SIREN               string               `json:"siren" binding:"required" example:"812345676"`
	Email               string               `json:"email" binding:"required"`
	Address             Address              `json:"address" binding:"required"`
	LegalRepresentative *LegalRepresentative `json:"legal_representative" binding:"required" extensions:"x-nullable"`
	CreatedAt           time.Time            `json:"created_at" binding:"required" format:"date-time"`
} //	@name	Buyer

// BuyerList is a page of buyers.
type BuyerList struct {
	Data []Buyer `json:"data" binding:"required"`
	listMeta
} //	@name	BuyerList

// CenterRequest creates a recycling centre.
type CenterRequest struct {
	Name                string               `json:"name" binding:"required" validate:"required,min=1,max=200" example:"Centre VHU du Rhône"`
	SIRET               string               `json:"siret" binding:"required" validate:"required" example:"81234567600017"`
	Email               string               `json:"email" binding:"required" validate:"required,email,max=254" example:"contact@cvhu-rhone.fr"`
	Address             Address              `json:"address" binding:"required" validate:"required"`
	LegalRepresentative *LegalRepresentative `json:"legal_representative,omitempty" validate:"omitempty"`
} //	@name	CenterRequest

// CenterUpdate changes a centre: today, its legal representative (replaced as a whole).
type CenterUpdate struct {
	LegalRepresentative *LegalRepresentative `json:"legal_representative" binding:"required" validate:"required"`
} //	@name	CenterUpdate

// Center is a recycling centre (centre VHU), the seller of orders.
type Center struct {
	ID                  string               `json:"id" binding:"required" example:"ctr_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b"`
	Name                string               `json:"name" binding:"required"`
	SIRET               string               `json:"siret" binding:"required" example:"81234567600017"`
	Email               string               `json:"email" binding:"required"`
	Address             Address              `json:"address" binding:"required"`
	LegalRepresentative *LegalRepresentative `json:"legal_representative" binding:"required" extensions:"x-nullable"`
	// FeeRateBPS is the platform's fee on each payment the centre earns, in basis points (500 = 5 %).
	FeeRateBPS int `json:"fee_rate_bps" binding:"required" minimum:"0" maximum:"10000" example:"500"`
	// PayoutsEnabled: the centre can be paid out (its payout account is accepted at the provider).
	PayoutsEnabled bool      `json:"payouts_enabled" binding:"required"`
	CreatedAt      time.Time `json:"created_at" binding:"required" format:"date-time"`
} //	@name	Center

// CenterList is a page of centres.
type CenterList struct {
	Data []Center `json:"data" binding:"required"`
	listMeta
} //	@name	CenterList

func toAddress(a parties.Address) Address {
	return Address{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}

func fromAddress(a Address) parties.Address {
	return parties.Address{Line1: a.Line1, Line2: a.Line2, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
}

func toBuyer(b parties.Buyer) Buyer {
	return Buyer{ID: b.ID, Name: b.Name, SIREN: b.SIREN, Email: b.Email, Address: toAddress(b.Address),
		LegalRepresentative: toLegalRepresentative(b.LegalRepresentative), CreatedAt: b.CreatedAt}
}

func toCenter(ct parties.Center) Center {
	return Center{ID: ct.ID, Name: ct.Name, SIRET: ct.SIRET, Email: ct.Email, Address: toAddress(ct.Address),
		LegalRepresentative: toLegalRepresentative(ct.LegalRepresentative), FeeRateBPS: ct.FeeRateBPS,
		PayoutsEnabled: ct.PayoutsEnabled, CreatedAt: ct.CreatedAt}
}

func toLegalRepresentative(r *parties.Representative) *LegalRepresentative {
	if r == nil {
		return nil
	}
	out := &LegalRepresentative{FirstName: r.FirstName, LastName: r.LastName, Nationality: r.Nationality,
		CountryOfResidence: r.CountryOfResidence, Email: r.Email}
	if !r.Birthday.IsZero() {
		out.Birthday = r.Birthday.Format(time.DateOnly)
	}
	return out
}

// fromLegalRepresentative converts a bound (hence validated) representative; nil stays nil.
func fromLegalRepresentative(r *LegalRepresentative) *parties.Representative {
	if r == nil {
		return nil
	}
	out := &parties.Representative{FirstName: r.FirstName, LastName: r.LastName, Nationality: r.Nationality,
		CountryOfResidence: r.CountryOfResidence, Email: r.Email}
	if r.Birthday != "" {
		out.Birthday, _ = time.Parse(time.DateOnly, r.Birthday) // the binding checked the format
	}
	return out
}

// createBuyer godoc
//
//	@Summary		Create a buyer
//	@ID			createBuyer
//	@Description	SIREN: 9 digits, Luhn-valid. The same SIREN twice answers 409 buyer_exists. legal_representative may be given now or later (PATCH /v1/buyers/{id}); the MangoPay provider needs it before the buyer's first card registration, bank account or payment.
//	@Tags			buyers
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		BuyerRequest	true	"The buyer"
//	@Success		201				{object}	Buyer
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/buyers [post]
func (s *Server) createBuyer(c *gin.Context) {
	var req BuyerRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	b, err := s.parties.CreateBuyer(c.Request.Context(), parties.NewBuyer{Name: req.Name, SIREN: req.SIREN, Email: req.Email,
		Address: fromAddress(req.Address), LegalRepresentative: fromLegalRepresentative(req.LegalRepresentative)})
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/buyers/"+b.ID, toBuyer(b))
}

// listBuyers godoc
//
//	@Summary		List buyers
//	@ID			listBuyers
//	@Description	Newest first. A buyer sees only itself.
//	@Tags			buyers
//	@Security		BearerAuth
//	@Produce		json,application/problem+json
//	@Param			limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	BuyerList
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/buyers [get]
func (s *Server) listBuyers(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.parties.Buyers(c.Request.Context(), principal(c), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := BuyerList{Data: make([]Buyer, len(res.Items)), listMeta: metaOf(res)}
	for i, b := range res.Items {
		out.Data[i] = toBuyer(b)
	}
	c.JSON(http.StatusOK, out)
}

// getBuyer godoc
//
//	@Summary	Get a buyer
//	@ID		getBuyer
//	@Description	A buyer reads itself only (another buyer answers 404); admin and service read any buyer.
//	@Tags		buyers
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		string	true	"Buyer id"
//	@Success	200	{object}	Buyer
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/buyers/{id} [get]
func (s *Server) getBuyer(c *gin.Context) {
	b, err := s.parties.Buyer(c.Request.Context(), principal(c), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBuyer(b))
}

// createCenter godoc
//
//	@Summary		Create a recycling centre
//	@ID			createCenter
//	@Description	SIRET: 14 digits, Luhn-valid (La Poste's establishments: digit sum a multiple of 5). The same SIRET twice answers 409 center_exists. legal_representative may be given now or later (PATCH /v1/centers/{id}); the MangoPay provider needs it, with every field, before the centre's first payout.
//	@Tags			centers
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			Idempotency-Key	header		string			false	"Makes the request safe to retry (1–255 printable ASCII)"
//	@Param			body			body		CenterRequest	true	"The centre"
//	@Success		201				{object}	Center
//	@Header		201				{string}	Location	"The created resource"
//	@Failure		401,403,409,413,422	{object}	Problem
//	@Router			/v1/centers [post]
func (s *Server) createCenter(c *gin.Context) {
	var req CenterRequest
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ct, err := s.parties.CreateCenter(c.Request.Context(), parties.NewCenter{Name: req.Name, SIRET: req.SIRET, Email: req.Email,
		Address: fromAddress(req.Address), LegalRepresentative: fromLegalRepresentative(req.LegalRepresentative)})
	if err != nil {
		s.writeError(c, err)
		return
	}
	created(c, "/v1/centers/"+ct.ID, toCenter(ct))
}

// listCenters godoc
//
//	@Summary	List recycling centres
//	@ID		listCenters
//	@Description	Any authenticated caller: the centres, newest first (a buyer picks one to order from or to ask for end-of-month invoicing).
//	@Tags		centers
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		limit	query		int		false	"Page size (1–100)"	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	CenterList
//	@Failure	401,422	{object}	Problem
//	@Router		/v1/centers [get]
func (s *Server) listCenters(c *gin.Context) {
	p, err := pageRequest(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res, err := s.parties.Centers(c.Request.Context(), p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := CenterList{Data: make([]Center, len(res.Items)), listMeta: metaOf(res)}
	for i, ct := range res.Items {
		out.Data[i] = toCenter(ct)
	}
	c.JSON(http.StatusOK, out)
}

// getCenter godoc
//
//	@Summary	Get a recycling centre
//	@ID		getCenter
//	@Description	Any authenticated caller.
//	@Tags		centers
//	@Security	BearerAuth
//	@Produce	json,application/problem+json
//	@Param		id	path		string	true	"Centre id"
//	@Success	200	{object}	Center
//	@Failure	401,404	{object}	Problem
//	@Router		/v1/centers/{id} [get]
func (s *Server) getCenter(c *gin.Context) {
	ct, err := s.parties.Center(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toCenter(ct))
}

// updateBuyer godoc
//
//	@Summary		Update a buyer
//	@Description	Sets the buyer's legal representative (replacing any previous one). With the MangoPay provider a buyer needs one before its first payment, card registration or bank account: 409 legal_representative_required otherwise. A buyer may update only itself (another buyer's id answers 404).
//	@ID				updateBuyer
//	@Tags			buyers
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string		true	"Buyer id"
//	@Param			body	body		BuyerUpdate	true	"What to change"
//	@Success		200		{object}	Buyer
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/buyers/{id} [patch]
func (s *Server) updateBuyer(c *gin.Context) {
	var req BuyerUpdate
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	b, err := s.parties.SetBuyerRepresentative(c.Request.Context(), principal(c), c.Param("id"), *fromLegalRepresentative(req.LegalRepresentative))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toBuyer(b))
}

// updateCenter godoc
//
//	@Summary		Update a recycling centre
//	@Description	Sets the centre's legal representative (replacing any previous one). With the MangoPay provider a centre needs one, with every field (birthday, nationality, country_of_residence, email), before its first payout: 409 legal_representative_required otherwise. A centre may update only itself (another centre's id answers 404).
//	@ID				updateCenter
//	@Tags			centers
//	@Security		BearerAuth
//	@Accept			json
//	@Produce		json,application/problem+json
//	@Param			id		path		string			true	"Centre id"
//	@Param			body	body		CenterUpdate	true	"What to change"
//	@Success		200		{object}	Center
//	@Failure		401,403,404,413,422	{object}	Problem
//	@Router			/v1/centers/{id} [patch]
func (s *Server) updateCenter(c *gin.Context) {
	var req CenterUpdate
	if err := s.bind(c, &req); err != nil {
		s.writeError(c, err)
		return
	}
	ct, err := s.parties.SetCenterRepresentative(c.Request.Context(), principal(c), c.Param("id"), *fromLegalRepresentative(req.LegalRepresentative))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toCenter(ct))
}
