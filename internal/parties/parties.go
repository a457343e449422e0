// Package parties holds the marketplace's companies: buyers (garages, identified by SIREN) and
// recycling centres (centres VHU, identified by SIRET).
package parties

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/vhupay/vhupay/internal/auth"
	"github.com/vhupay/vhupay/internal/clock"
	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/validation"
)

// Errors.
var (
	ErrBuyerExists  = errors.New("a buyer with this SIREN already exists")
	ErrCenterExists = errors.New("a centre with this SIRET already exists")
	ErrNotFound     = errors.New("not found")
)

// Address is a postal address; Country is ISO 3166-1 alpha-2.
type Address struct {
	Line1, Line2, PostalCode, City, Country string
}

// Representative is the person who legally represents a company (its "représentant légal"). A
// payment provider may need it before the company pays or is paid (MangoPay refuses placeholder
// names). FirstName and LastName are always set; the other fields may be empty.
type Representative struct {
	FirstName          string
	LastName           string
	Birthday           time.Time // a civil date, at UTC midnight; zero when unknown
	Nationality        string    // ISO 3166-1 alpha-2
	CountryOfResidence string    // ISO 3166-1 alpha-2
	Email              string
}

// Buyer is a garage company.
type Buyer struct {
	ID      string
	Name    string
	SIREN   string
	Email   string
	Address Address
	// LegalRepresentative is nil until given.
	LegalRepresentative *Representative
	CreatedAt           time.Time
}

// Center is a recycling centre, the seller of orders.
type Center struct {
	ID      string
	Name    string
	SIRET   string
	Email   string
	Address Address
	// LegalRepresentative is nil until given.
	LegalRepresentative *Representative
	// FeeRateBPS is the platform's fee on the payments the centre earns, in basis points.
	FeeRateBPS int
	// PayoutsEnabled: the centre can be paid out (its payout account is accepted).
	PayoutsEnabled bool
	CreatedAt      time.Time
}

// Store keeps buyers and centres.
type Store interface {
	// CreateBuyer inserts b; ErrBuyerExists when its SIREN is taken.
	CreateBuyer(ctx context.Context, b Buyer) error
	// Buyer returns a buyer or ErrNotFound.
	Buyer(ctx context.Context, id string) (Buyer, error)
	// Buyers lists buyers newest first; onlyID restricts the list to one buyer when not "".
	Buyers(ctx context.Context, p page.Request, onlyID string) (page.Page[Buyer], error)
	// CreateCenter inserts c; ErrCenterExists when its SIRET is taken.
	CreateCenter(ctx context.Context, c Center) error
	// Center returns a centre or ErrNotFound.
	Center(ctx context.Context, id string) (Center, error)
	// Centers lists centres newest first.
	Centers(ctx context.Context, p page.Request) (page.Page[Center], error)
	// SetBuyerRepresentative replaces a buyer's legal representative and returns the buyer.
	// Errors: ErrNotFound.
	SetBuyerRepresentative(ctx context.Context, buyerID string, r Representative) (Buyer, error)
	// SetCenterRepresentative replaces a centre's legal representative and returns the centre.
	// Errors: ErrNotFound.
	SetCenterRepresentative(ctx context.Context, centerID string, r Representative) (Center, error)
}

// Service creates and reads buyers and centres, scoping reads to the caller.
type Service struct {
	store      Store
	clock      clock.Clock
	defaultFee int
}

// NewService returns a Service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// WithDefaultFeeRate makes new centres start with the fee rate bps (VHUPAY_PLATFORM_FEE_BPS) and
// returns s. Call it before the service is used.
func (s *Service) WithDefaultFeeRate(bps int) *Service {
	s.defaultFee = bps
	return s
}

// NewBuyer is the input of CreateBuyer.
type NewBuyer struct {
	Name, SIREN, Email  string
	Address             Address
	LegalRepresentative *Representative // optional
}

// CreateBuyer validates and stores a buyer. Errors: *validation.Error, ErrBuyerExists.
func (s *Service) CreateBuyer(ctx context.Context, in NewBuyer) (Buyer, error) {
	in.SIREN = strings.TrimSpace(in.SIREN)
	if !ValidSIREN(in.SIREN) {
		return Buyer{}, validation.Field("siren", "siren", "must be 9 digits with a valid Luhn check digit")
	}
	rep, err := s.checkRepresentative(in.LegalRepresentative)
	if err != nil {
		return Buyer{}, err
	}
	b := Buyer{ID: id.New(id.Buyer), Name: in.Name, SIREN: in.SIREN, Email: in.Email, Address: in.Address,
		LegalRepresentative: rep, CreatedAt: s.clock.Now()}
	if err := s.store.CreateBuyer(ctx, b); err != nil {
		return Buyer{}, err
	}
	return b, nil
}

// Buyer returns a buyer the caller may see: a buyer sees only itself. Errors: ErrNotFound.
func (s *Service) Buyer(ctx context.Context, who auth.Principal, buyerID string) (Buyer, error) {
	if who.Role == auth.RoleBuyer && who.Org != buyerID {
		return Buyer{}, ErrNotFound
	}
	return s.store.Buyer(ctx, buyerID)
}

// Buyers lists the buyers the caller may see.
func (s *Service) Buyers(ctx context.Context, who auth.Principal, p page.Request) (page.Page[Buyer], error) {
	only := ""
	if who.Role == auth.RoleBuyer {
		only = who.Org
	}
	return s.store.Buyers(ctx, p, only)
}

// NewCenter is the input of CreateCenter.
type NewCenter struct {
	Name, SIRET, Email  string
	Address             Address
	LegalRepresentative *Representative // optional
}

// CreateCenter validates and stores a centre. Errors: *validation.Error, ErrCenterExists.
func (s *Service) CreateCenter(ctx context.Context, in NewCenter) (Center, error) {
	in.SIRET = strings.TrimSpace(in.SIRET)
	if !ValidSIRET(in.SIRET) {
		return Center{}, validation.Field("siret", "siret", "must be 14 digits with a valid Luhn check digit")
	}
	rep, err := s.checkRepresentative(in.LegalRepresentative)
	if err != nil {
		return Center{}, err
	}
	c := Center{ID: id.New(id.Center), Name: in.Name, SIRET: in.SIRET, Email: in.Email, Address: in.Address,
		LegalRepresentative: rep, FeeRateBPS: s.defaultFee, CreatedAt: s.clock.Now()}
	if err := s.store.CreateCenter(ctx, c); err != nil {
		return Center{}, err
	}
	return c, nil
}

// Center returns a centre (every authenticated caller may see centres). Errors: ErrNotFound.
func (s *Service) Center(ctx context.Context, centerID string) (Center, error) {
	return s.store.Center(ctx, centerID)
}

// Centers lists centres.
func (s *Service) Centers(ctx context.Context, p page.Request) (page.Page[Center], error) {
	return s.store.Centers(ctx, p)
}

// SetBuyerRepresentative sets a buyer's legal representative: the buyer itself, admin or
// service. A buyer naming another buyer gets ErrNotFound. Errors: *validation.Error, ErrNotFound.
func (s *Service) SetBuyerRepresentative(ctx context.Context, who auth.Principal, buyerID string, r Representative) (Buyer, error) {
	if who.Role == auth.RoleBuyer && who.Org != buyerID {
		return Buyer{}, ErrNotFound
	}
	rep, err := s.checkRepresentative(&r)
	if err != nil {
		return Buyer{}, err
	}
	return s.store.SetBuyerRepresentative(ctx, buyerID, *rep)
}

// SetCenterRepresentative sets a centre's legal representative: the centre itself, admin or
// service. A centre naming another centre gets ErrNotFound. Errors: *validation.Error,
// ErrNotFound.
func (s *Service) SetCenterRepresentative(ctx context.Context, who auth.Principal, centerID string, r Representative) (Center, error) {
	if who.Role == auth.RoleCenter && who.Org != centerID {
		return Center{}, ErrNotFound
	}
	rep, err := s.checkRepresentative(&r)
	if err != nil {
		return Center{}, err
	}
	return s.store.SetCenterRepresentative(ctx, centerID, *rep)
}

// earliestBirthday bounds a representative's birthday from below (our choice: a typo guard).
var earliestBirthday = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// checkRepresentative trims a representative and checks what the field validation cannot: the
// names are not blank and the birthday is a past date. nil stays nil.
func (s *Service) checkRepresentative(r *Representative) (*Representative, error) {
	if r == nil {
		return nil, nil
	}
	out := *r
	out.FirstName, out.LastName = strings.TrimSpace(out.FirstName), strings.TrimSpace(out.LastName)
	out.Email = strings.TrimSpace(out.Email)
	var errs validation.Collector
	if out.FirstName == "" {
		errs.Add("legal_representative.first_name", "required", "must not be blank")
	}
	if out.LastName == "" {
		errs.Add("legal_representative.last_name", "required", "must not be blank")
	}
	for _, f := range []struct{ name, value string }{{"first_name", out.FirstName}, {"last_name", out.LastName},
		{"nationality", out.Nationality}, {"country_of_residence", out.CountryOfResidence}, {"email", out.Email}} {
		if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			errs.Add("legal_representative."+f.name, "invalid", "must not contain control characters")
		}
	}
	if !out.Birthday.IsZero() {
		out.Birthday = time.Date(out.Birthday.Year(), out.Birthday.Month(), out.Birthday.Day(), 0, 0, 0, 0, time.UTC)
		if out.Birthday.Before(earliestBirthday) || !out.Birthday.Before(s.clock.Now()) {
			errs.Add("legal_representative.birthday", "invalid", "must be a past date after 1900-01-01")
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &out, nil
}
