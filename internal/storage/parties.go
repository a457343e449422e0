package storage

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/parties"
)

type buyerRow struct {
	ID             string
	Name           string
	SIREN          string `gorm:"column:siren"`
	Email          string
	AddressLine1   string `gorm:"column:address_line1"`
	AddressLine2   string `gorm:"column:address_line2"`
	PostalCode     string
	City           string
	Country        string
	CreatedAt      time.Time
	Representative representativeColumns `gorm:"embedded"`
}

func (buyerRow) TableName() string { return "buyers" }

type centerRow struct {
	ID             string
	Name           string
	SIRET          string `gorm:"column:siret"`
	Email          string
	AddressLine1   string `gorm:"column:address_line1"`
	AddressLine2   string `gorm:"column:address_line2"`
	PostalCode     string
	City           string
	Country        string
	FeeRateBPS     int `gorm:"column:fee_rate_bps"`
	PayoutsEnabled bool
	CreatedAt      time.Time
	Representative representativeColumns `gorm:"embedded"`
}

func (centerRow) TableName() string { return "centers" }

// representativeColumns are a party's legal representative, all NULL until given; the birthday
// is a civil date written YYYY-MM-DD.
type representativeColumns struct {
	RepresentativeFirstName          *string
	RepresentativeLastName           *string
	RepresentativeBirthday           *string
	RepresentativeNationality        *string
	RepresentativeCountryOfResidence *string
	RepresentativeEmail              *string
}

const civilDate = "2006-01-02"

func toRepresentativeColumns(r *parties.Representative) representativeColumns {
	if r == nil {
		return representativeColumns{}
	}
	birthday := ""
	if !r.Birthday.IsZero() {
		birthday = r.Birthday.Format(civilDate)
	}
	return representativeColumns{
		RepresentativeFirstName: &r.FirstName, RepresentativeLastName: &r.LastName, RepresentativeBirthday: &birthday,
		RepresentativeNationality: &r.Nationality, RepresentativeCountryOfResidence: &r.CountryOfResidence, RepresentativeEmail: &r.Email,
	}
}

func (c representativeColumns) toParties() *parties.Representative {
	if c.RepresentativeFirstName == nil {
		return nil
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	r := &parties.Representative{
		FirstName: deref(c.RepresentativeFirstName), LastName: deref(c.RepresentativeLastName),
		Nationality: deref(c.RepresentativeNationality), CountryOfResidence: deref(c.RepresentativeCountryOfResidence),
		Email: deref(c.RepresentativeEmail),
	}
	if b, err := time.Parse(civilDate, deref(c.RepresentativeBirthday)); err == nil {
		r.Birthday = b
	}
	return r
}

// updates are the columns' values for an UPDATE (gorm skips nothing in a map).
func (c representativeColumns) updates() map[string]any {
	return map[string]any{
		"representative_first_name": c.RepresentativeFirstName, "representative_last_name": c.RepresentativeLastName,
		"representative_birthday": c.RepresentativeBirthday, "representative_nationality": c.RepresentativeNationality,
		"representative_country_of_residence": c.RepresentativeCountryOfResidence, "representative_email": c.RepresentativeEmail,
	}
}

// Parties implements parties.Store.
type Parties struct{ db *gorm.DB }

var _ parties.Store = Parties{}

// NewParties returns the buyers and centres store.
func NewParties(db *DB) Parties { return Parties{db: db.gorm} }

// CreateBuyer implements parties.Store.
func (s Parties) CreateBuyer(ctx context.Context, b parties.Buyer) error {
	row := buyerRow{ID: b.ID, Name: b.Name, SIREN: b.SIREN, Email: b.Email,
		AddressLine1: b.Address.Line1, AddressLine2: b.Address.Line2, PostalCode: b.Address.PostalCode,
		City: b.Address.City, Country: b.Address.Country, CreatedAt: utc(b.CreatedAt),
		Representative: toRepresentativeColumns(b.LegalRepresentative)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if isUnique(err) {
			return parties.ErrBuyerExists
		}
		return err
	}
	return nil
}

// Buyer implements parties.Store.
func (s Parties) Buyer(ctx context.Context, id string) (parties.Buyer, error) {
	var row buyerRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return parties.Buyer{}, parties.ErrNotFound
		}
		return parties.Buyer{}, err
	}
	return toBuyer(row), nil
}

// Buyers implements parties.Store.
func (s Parties) Buyers(ctx context.Context, p page.Request, onlyID string) (page.Page[parties.Buyer], error) {
	q := s.db.WithContext(ctx).Model(&buyerRow{})
	if onlyID != "" {
		q = q.Where("id = ?", onlyID)
	}
	var rows []buyerRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[parties.Buyer]{}, err
	}
	out := make([]parties.Buyer, len(rows))
	for i, r := range rows {
		out[i] = toBuyer(r)
	}
	return page.Build(out, p.Limit, func(b parties.Buyer) string { return b.ID }), nil
}

func toBuyer(r buyerRow) parties.Buyer {
	return parties.Buyer{ID: r.ID, Name: r.Name, SIREN: r.SIREN, Email: r.Email, CreatedAt: r.CreatedAt.UTC(),
		Address:             parties.Address{Line1: r.AddressLine1, Line2: r.AddressLine2, PostalCode: r.PostalCode, City: r.City, Country: r.Country},
		LegalRepresentative: r.Representative.toParties()}
}

// CreateCenter implements parties.Store.
func (s Parties) CreateCenter(ctx context.Context, c parties.Center) error {
	row := centerRow{ID: c.ID, Name: c.Name, SIRET: c.SIRET, Email: c.Email,
		AddressLine1: c.Address.Line1, AddressLine2: c.Address.Line2, PostalCode: c.Address.PostalCode,
		City: c.Address.City, Country: c.Address.Country, FeeRateBPS: c.FeeRateBPS, CreatedAt: utc(c.CreatedAt),
		Representative: toRepresentativeColumns(c.LegalRepresentative)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if isUnique(err) {
			return parties.ErrCenterExists
		}
		return err
	}
	return nil
}

// Center implements parties.Store.
func (s Parties) Center(ctx context.Context, id string) (parties.Center, error) {
	var row centerRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		if isNotFound(err) {
			return parties.Center{}, parties.ErrNotFound
		}
		return parties.Center{}, err
	}
	return toCenter(row), nil
}

// Centers implements parties.Store.
func (s Parties) Centers(ctx context.Context, p page.Request) (page.Page[parties.Center], error) {
	var rows []centerRow
	if err := keyset(s.db.WithContext(ctx).Model(&centerRow{}), p, "id").Find(&rows).Error; err != nil {
		return page.Page[parties.Center]{}, err
	}
	out := make([]parties.Center, len(rows))
	for i, r := range rows {
		out[i] = toCenter(r)
	}
	return page.Build(out, p.Limit, func(c parties.Center) string { return c.ID }), nil
}

func toCenter(r centerRow) parties.Center {
	return parties.Center{ID: r.ID, Name: r.Name, SIRET: r.SIRET, Email: r.Email, FeeRateBPS: r.FeeRateBPS, PayoutsEnabled: r.PayoutsEnabled, CreatedAt: r.CreatedAt.UTC(),
		Address:             parties.Address{Line1: r.AddressLine1, Line2: r.AddressLine2, PostalCode: r.PostalCode, City: r.City, Country: r.Country},
		LegalRepresentative: r.Representative.toParties()}
}

// SetBuyerRepresentative implements parties.Store.
func (s Parties) SetBuyerRepresentative(ctx context.Context, buyerID string, r parties.Representative) (parties.Buyer, error) {
	res := s.db.WithContext(ctx).Model(&buyerRow{}).Where("id = ?", buyerID).Updates(toRepresentativeColumns(&r).updates())
	if res.Error != nil {
		return parties.Buyer{}, res.Error
	}
	if res.RowsAffected == 0 {
		return parties.Buyer{}, parties.ErrNotFound
	}
	return s.Buyer(ctx, buyerID)
}

// SetCenterRepresentative implements parties.Store.
func (s Parties) SetCenterRepresentative(ctx context.Context, centerID string, r parties.Representative) (parties.Center, error) {
	res := s.db.WithContext(ctx).Model(&centerRow{}).Where("id = ?", centerID).Updates(toRepresentativeColumns(&r).updates())
	if res.Error != nil {
		return parties.Center{}, res.Error
	}
	if res.RowsAffected == 0 {
		return parties.Center{}, parties.ErrNotFound
	}
	return s.Center(ctx, centerID)
}

// BuyersByID returns the buyers of ids that exist, by id, in one query per 1,000 (the month
// close's batches).
func (s Parties) BuyersByID(ctx context.Context, ids []string) (map[string]parties.Buyer, error) {
	out := make(map[string]parties.Buyer, len(ids))
	err := chunk(ids, 1000, func(part []string) error {
		var rows []buyerRow
		if err := s.db.WithContext(ctx).Where("id IN ?", part).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out[r.ID] = toBuyer(r)
		}
		return nil
	})
	return out, err
}
