// Package parties holds the marketplace's companies: buyers (garages, identified by SIREN) and
// recycling centres (centres VHU, identified by SIRET).
package parties

import (
	"context"
	"errors"
	"strings"
	"time"

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

// Buyer is a garage company.
type Buyer struct {
	ID        string
	Name      string
	SIREN     string
	Email     string
	Address   Address
	CreatedAt time.Time
}

// Center is a recycling centre, the seller of orders.
type Center struct {
	ID        string
	Name      string
	SIRET     string
	Email     string
	Address   Address
	CreatedAt time.Time
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
}

// Service creates and reads buyers and centres, scoping reads to the caller.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns a Service.
func NewService(store Store, clk clock.Clock) *Service { return &Service{store: store, clock: clk} }

// NewBuyer is the input of CreateBuyer.
type NewBuyer struct {
	Name, SIREN, Email string
	Address            Address
}

// CreateBuyer validates and stores a buyer. Errors: *validation.Error, ErrBuyerExists.
func (s *Service) CreateBuyer(ctx context.Context, in NewBuyer) (Buyer, error) {
	in.SIREN = strings.TrimSpace(in.SIREN)
	if !ValidSIREN(in.SIREN) {
		return Buyer{}, validation.Field("siren", "siren", "must be 9 digits with a valid Luhn check digit")
	}
	b := Buyer{ID: id.New(id.Buyer), Name: in.Name, SIREN: in.SIREN, Email: in.Email, Address: in.Address, CreatedAt: s.clock.Now()}
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
	Name, SIRET, Email string
	Address            Address
}

// CreateCenter validates and stores a centre. Errors: *validation.Error, ErrCenterExists.
func (s *Service) CreateCenter(ctx context.Context, in NewCenter) (Center, error) {
	in.SIRET = strings.TrimSpace(in.SIRET)
	if !ValidSIRET(in.SIRET) {
		return Center{}, validation.Field("siret", "siret", "must be 14 digits with a valid Luhn check digit")
	}
	c := Center{ID: id.New(id.Center), Name: in.Name, SIRET: in.SIRET, Email: in.Email, Address: in.Address, CreatedAt: s.clock.Now()}
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
