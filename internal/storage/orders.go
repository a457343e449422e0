package storage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/txn"
)

type orderRow struct {
	ID                string
	BuyerID           string
	CenterID          string
	Status            string
	DeliveryMode      string
	ExternalReference string
	TotalExclVAT      int64 `gorm:"column:total_excl_vat"`
	TotalVAT          int64 `gorm:"column:total_vat"`
	Total             int64
	Currency          string
	AmountRefunded    int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (orderRow) TableName() string { return "orders" }

type orderLineRow struct {
	OrderID          string
	BuyerID          string // the order's (migration 00860): a buyer's page reads its lines with one range scan
	CenterID         string // the order's (migration 00860): as a centre's page
	Position         int
	Reference        string
	Label            string
	Quantity         int
	UnitPriceExclVAT int64 `gorm:"column:unit_price_excl_vat"`
	VATRate          int   `gorm:"column:vat_rate"`
	TotalExclVAT     int64 `gorm:"column:total_excl_vat"`
	TotalVAT         int64 `gorm:"column:total_vat"`
	Total            int64
}

func (orderLineRow) TableName() string { return "order_lines" }

type deliveryNoteRow struct {
	OrderID   string
	CenterID  string
	BuyerID   string // the order's (migration 00860)
	Kind      string
	Number    string
	CreatedAt time.Time
}

func (deliveryNoteRow) TableName() string { return "delivery_notes" }

// Orders implements orders.Store.
type Orders struct {
	db    *gorm.DB
	units *DB         // nil inside a unit (reads only)
	reads *orderReads // the statements of pages of orders built so far (PostgreSQL); nil builds each
}

var _ orders.Store = Orders{}

// NewOrders returns the orders store.
func NewOrders(db *DB) Orders { return Orders{db: db.gorm, units: db, reads: &orderReads{}} }

// gate is the process's gate for reads of orders outside a unit (readGate), nil for a store
// made without the process's DB.
func (s Orders) gate() readGate {
	if s.units == nil {
		return nil
	}
	return s.units.reads
}

// CreateOrder implements orders.Store: the order and its lines in one transaction.
func (s Orders) CreateOrder(ctx context.Context, o orders.Order) error {
	row := orderRow{ID: o.ID, BuyerID: o.BuyerID, CenterID: o.CenterID, Status: string(o.Status),
		DeliveryMode: string(o.DeliveryMode), ExternalReference: o.ExternalReference,
		TotalExclVAT: o.TotalExclVAT, TotalVAT: o.TotalVAT, Total: o.Total, Currency: o.Currency,
		CreatedAt: utc(o.CreatedAt), UpdatedAt: utc(o.UpdatedAt)}
	lines := make([]orderLineRow, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = orderLineRow{OrderID: o.ID, BuyerID: o.BuyerID, CenterID: o.CenterID, Position: i, Reference: l.Reference, Label: l.Label, Quantity: l.Quantity,
			UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total}
	}
	return inTx(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if len(lines) > 0 {
			if err := tx.Create(&lines).Error; err != nil {
				return fmt.Errorf("insert order lines: %w", err)
			}
		}
		return nil
	})
}

// Order implements orders.Store.
func (s Orders) Order(ctx context.Context, id string) (orders.Order, error) {
	if isPostgres(s.db) {
		out, err := s.completeOrders(ctx, orderByIDRead, 1, id)
		if err != nil {
			return orders.Order{}, err
		}
		if len(out) == 0 {
			return orders.Order{}, orders.ErrNotFound
		}
		return out[0], nil
	}
	var rows []orderRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return orders.Order{}, err
	}
	if len(rows) == 0 {
		return orders.Order{}, orders.ErrNotFound
	}
	out, err := s.complete(ctx, rows)
	if err != nil {
		return orders.Order{}, err
	}
	return out[0], nil
}

// Orders implements orders.Store: on PostgreSQL one statement per page (completeOrders), on
// SQLite four queries: orders, lines, delivery notes and payment summaries.
func (s Orders) Orders(ctx context.Context, f orders.Filter, p page.Request) (page.Page[orders.Order], error) {
	if isPostgres(s.db) {
		shape := pageShape{buyer: f.BuyerID != "", center: f.CenterID != "", status: f.Status, after: p.After != "", limit: p.Limit}
		var args []any // in pageRead's order of the parameters
		if shape.buyer {
			args = append(args, f.BuyerID)
		}
		if shape.center {
			args = append(args, f.CenterID)
		}
		if f.Status != "" && !f.Status.Valid() {
			shape.status = pageStatusParam
			args = append(args, string(f.Status))
		}
		if shape.after {
			args = append(args, p.After)
		}
		out, err := s.completeOrders(ctx, s.reads.page(shape, func() orderRead { return pageRead(shape) }), p.Limit+1, args...)
		if err != nil {
			return page.Page[orders.Order]{}, err
		}
		return page.Build(out, p.Limit, func(o orders.Order) string { return o.ID }), nil
	}
	q := s.db.WithContext(ctx).Model(&orderRow{})
	if f.BuyerID != "" {
		q = q.Where("buyer_id = ?", f.BuyerID)
	}
	if f.CenterID != "" {
		q = q.Where("center_id = ?", f.CenterID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	} else {
		q = q.Where("status <> ?", string(orders.StatusCancelled))
	}
	var rows []orderRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[orders.Order]{}, err
	}
	out, err := s.complete(ctx, rows)
	if err != nil {
		return page.Page[orders.Order]{}, err
	}
	return page.Build(out, p.Limit, func(o orders.Order) string { return o.ID }), nil
}

// completeBatch is how many orders complete reads the lines, notes and payments of at once.
const completeBatch = 500

// complete turns order rows into orders with their lines, delivery notes and payment summary.
func (s Orders) complete(ctx context.Context, rows []orderRow) ([]orders.Order, error) {
	out := make([]orders.Order, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	db := s.db.WithContext(ctx)
	var lines []orderLineRow
	var notes []deliveryNoteRow
	var intents []struct {
		ID, OrderID, Method, Status string
	}
	// By batches of completeBatch orders: a long IN list (a statement's thousands of orders)
	// makes PostgreSQL scan the lines table whole rather than look each order up in the index.
	for chunk := range slices.Chunk(ids, completeBatch) {
		var l []orderLineRow
		if err := db.Where("order_id IN ?", chunk).Order("order_id, position").Find(&l).Error; err != nil {
			return nil, fmt.Errorf("read order lines: %w", err)
		}
		lines = append(lines, l...)
		var n []deliveryNoteRow
		if err := db.Where("order_id IN ?", chunk).Order("order_id, created_at, number").Find(&n).Error; err != nil {
			return nil, fmt.Errorf("read delivery notes: %w", err)
		}
		notes = append(notes, n...)
		var in []struct {
			ID, OrderID, Method, Status string
		}
		if err := db.Table("payment_intents").Select("id, order_id, method, status").
			Where("order_id IN ?", chunk).Order("id DESC").Find(&in).Error; err != nil {
			return nil, fmt.Errorf("read payment summaries: %w", err)
		}
		intents = append(intents, in...)
	}
	linesOf := map[string][]orders.Line{}
	for _, l := range lines {
		linesOf[l.OrderID] = append(linesOf[l.OrderID], orders.Line{Reference: l.Reference, Label: l.Label, Quantity: l.Quantity,
			UnitPriceExclVAT: l.UnitPriceExclVAT, VATRate: l.VATRate, TotalExclVAT: l.TotalExclVAT, TotalVAT: l.TotalVAT, Total: l.Total})
	}
	notesOf := map[string][]orders.DeliveryNote{}
	for _, n := range notes {
		notesOf[n.OrderID] = append(notesOf[n.OrderID], orders.DeliveryNote{Kind: orders.DeliveryNoteKind(n.Kind), Number: n.Number, CreatedAt: n.CreatedAt.UTC()})
	}
	// The payment shown is the intent that confirmed the order, else the newest one.
	paymentOf := map[string]*orders.PaymentSummary{}
	for _, pi := range intents { // newest first
		confirms := pi.Status == string(payments.StatusSucceeded) || pi.Status == string(payments.StatusScheduled)
		current, seen := paymentOf[pi.OrderID]
		if !seen || (confirms && current.Status != string(payments.StatusSucceeded) && current.Status != string(payments.StatusScheduled)) {
			paymentOf[pi.OrderID] = &orders.PaymentSummary{IntentID: pi.ID, Method: pi.Method, Status: pi.Status}
		}
	}
	for i, r := range rows {
		o := toOrder(r)
		o.Lines = linesOf[r.ID]
		o.DeliveryNotes = notesOf[r.ID]
		if o.DeliveryNotes == nil {
			o.DeliveryNotes = []orders.DeliveryNote{}
		}
		o.Payment = paymentOf[r.ID]
		out[i] = o
	}
	return out, nil
}

func toOrder(r orderRow) orders.Order {
	return orders.Order{ID: r.ID, BuyerID: r.BuyerID, CenterID: r.CenterID, Status: orders.Status(r.Status),
		DeliveryMode: orders.DeliveryMode(r.DeliveryMode), ExternalReference: r.ExternalReference,
		TotalExclVAT: r.TotalExclVAT, TotalVAT: r.TotalVAT, Total: r.Total, Currency: r.Currency,
		AmountRefunded: r.AmountRefunded, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// CancelOrder implements orders.Store.
// In the same unit of work it emits order.cancelled and payment_intent.canceled for each intent
// it canceled, with the objects as their GETs answer after the change.
func (s Orders) CancelOrder(ctx context.Context, id string, at time.Time) error {
	return s.units.inUnit(ctx, func(u *unit) error {
		tx := u.g.WithContext(ctx)
		res := tx.Model(&orderRow{}).Where("id = ? AND status = ?", id, string(orders.StatusPaymentPending)).
			Updates(map[string]any{"status": string(orders.StatusCancelled), "updated_at": utc(at)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&orderRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return orders.ErrNotFound
			}
			return orders.ErrNotDeletable
		}
		var processing int64
		if err := tx.Model(&intentRow{}).Where("order_id = ? AND status = ?", id, string(payments.StatusProcessing)).
			Count(&processing).Error; err != nil {
			return err
		}
		if processing > 0 {
			return fmt.Errorf("order %s has a payment in flight: %w", id, orders.ErrNotDeletable)
		}
		canceled, err := cancelOpenIntents(tx, id, at)
		if err != nil {
			return err
		}
		o, err := u.CurrentOrder(ctx, id)
		if err != nil {
			return err
		}
		for _, piID := range canceled {
			if err := u.emitIntent(ctx, piID, at); err != nil {
				return err
			}
		}
		return u.Emit(ctx, txn.Event{Type: "order.cancelled", BuyerID: o.BuyerID, CenterID: o.CenterID, Object: o, At: at})
	})
}

// cancelOpenIntents cancels the order's requires_action intents in one statement and returns
// the ids of those it canceled.
func cancelOpenIntents(tx *gorm.DB, orderID string, at time.Time) ([]string, error) {
	return updateReturning(tx, "payment_intents",
		map[string]any{"status": string(payments.StatusCanceled), "next_action_url": "", "next_action_return_url": "", "updated_at": utc(at)},
		"order_id = ? AND status = ?", orderID, string(payments.StatusRequiresAction))
}

// emitIntent emits the payment_intent.<status> event of an intent that has just reached its
// status, with the intent as its GET answers it after the unit's writes (see payments.EmitIntent,
// the same for the units of payments).
func (u *unit) emitIntent(ctx context.Context, id string, at time.Time) error {
	return payments.EmitIntent(ctx, paymentsUnit{u}, id, at)
}
