package storage

import (
	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/page"
)

// keyset applies newest-first keyset pagination on the id column (identifiers are time-ordered)
// and fetches one row more than the limit, so that page.Build can tell whether more follow.
func keyset(q *gorm.DB, p page.Request, column string) *gorm.DB {
	if p.After != "" {
		q = q.Where(column+" < ?", p.After)
	}
	return q.Order(column + " DESC").Limit(p.Limit + 1)
}
