package storage

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
)

type eventRow struct {
	ID        string
	Type      string
	BuyerID   *string
	CenterID  *string
	Data      string
	CreatedAt time.Time
}

func (eventRow) TableName() string { return "events" }

func toEvent(r eventRow) events.Event {
	e := events.Event{ID: r.ID, Type: r.Type, Data: json.RawMessage(r.Data), CreatedAt: r.CreatedAt.UTC()}
	if r.BuyerID != nil {
		e.BuyerID = *r.BuyerID
	}
	if r.CenterID != nil {
		e.CenterID = *r.CenterID
	}
	return e
}

// Events implements events.Store.
type Events struct{ db *DB }

var _ events.Store = Events{}

// NewEvents returns the events store.
func NewEvents(db *DB) Events { return Events{db: db} }

// Events implements events.Store.
func (s Events) Events(ctx context.Context, f events.Filter, p page.Request) (page.Page[events.Event], error) {
	q := s.db.gorm.WithContext(ctx).Model(&eventRow{})
	if len(f.Types) > 0 {
		q = q.Where("type IN ?", f.Types)
	}
	if len(f.ExcludeTypes) > 0 {
		q = q.Where("type NOT IN ?", f.ExcludeTypes)
	}
	if !f.CreatedAfter.IsZero() {
		q = q.Where("created_at > ?", utc(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		q = q.Where("created_at < ?", utc(f.CreatedBefore))
	}
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	var rows []eventRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[events.Event]{}, err
	}
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = toEvent(r)
	}
	return page.Build(out, p.Limit, func(e events.Event) string { return e.ID }), nil
}

// Event implements events.Store.
func (s Events) Event(ctx context.Context, id string) (events.Event, error) {
	var rows []eventRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return events.Event{}, err
	}
	if len(rows) == 0 {
		return events.Event{}, events.ErrNotFound
	}
	return toEvent(rows[0]), nil
}

// purgeBatch bounds one delete statement of a purge.
const purgeBatch = 5000

// PurgeEvents implements events.Store: batches of deletes (their deliveries go with them).
func (s Events) PurgeEvents(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		res := s.db.gorm.WithContext(ctx).Exec(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < ? LIMIT ?)`,
			utc(cutoff), purgeBatch)
		if res.Error != nil {
			return total, res.Error
		}
		total += int(res.RowsAffected)
		if res.RowsAffected < purgeBatch {
			return total, nil
		}
	}
}

// CurrentOrder reads an order inside the unit, after its writes, completely (lines, payment,
// delivery notes) as orders.Service.Order gives it: the data.object of order.* events, which must
// equal the order's GET. A capability's unit interface may declare it.
func (u *unit) CurrentOrder(ctx context.Context, orderID string) (orders.Order, error) {
	return Orders{db: u.g}.Order(ctx, orderID)
}
