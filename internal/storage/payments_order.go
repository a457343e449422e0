package storage

import (
	"context"

	"github.com/vhupay/vhupay/internal/orders"
	"github.com/vhupay/vhupay/internal/payments"
)

var _ payments.Orders = Payments{}

// Order implements payments.Orders with one query: the order's own row, without its lines,
// delivery notes or payment summary (Lines, DeliveryNotes and Payment are left empty). Paying an
// order needs only its id, buyer, status and total; Orders.Order reads the rest with three more
// queries, which the payment request's hot path does not need.
func (s Payments) Order(ctx context.Context, id string) (orders.Order, error) {
	var rows []orderRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return orders.Order{}, err
	}
	if len(rows) == 0 {
		return orders.Order{}, orders.ErrNotFound
	}
	return toOrder(rows[0]), nil
}
