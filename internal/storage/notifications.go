package storage

import (
	"context"
	"time"

	"github.com/vhupay/vhupay/internal/id"
	"github.com/vhupay/vhupay/internal/payments"
	"github.com/vhupay/vhupay/internal/psp"
)

// notificationPrefix starts the ids of kept provider notifications (never shown outside).
const notificationPrefix = "pnt"

type providerNotificationRow struct {
	ID         string
	Kind       string
	Event      string
	ResourceID string
	Status     string
	Attempts   int
	CreatedAt  time.Time
	AppliedAt  *time.Time
}

func (providerNotificationRow) TableName() string { return "provider_notifications" }

// Notifications implements payments.NotificationQueue.
type Notifications struct{ db *DB }

var _ payments.NotificationQueue = Notifications{}

// NewNotifications returns the provider notifications queue.
func NewNotifications(db *DB) Notifications { return Notifications{db: db} }

// EnqueueNotification implements payments.NotificationQueue.
func (s Notifications) EnqueueNotification(ctx context.Context, n psp.Notification, at time.Time) error {
	return s.db.inUnit(ctx, func(u *unit) error {
		ntfID := id.New(notificationPrefix)
		res := u.g.WithContext(ctx).Exec(`INSERT INTO provider_notifications (id, kind, event, resource_id, status, created_at)
			VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (kind, resource_id) WHERE status = 'pending' DO NOTHING`,
			ntfID, string(n.Kind), n.Event, n.ResourceID, utc(at))
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // 0 rows: the same notification is already waiting
		}
		return u.Enqueue(ctx, payments.NotificationJob{ID: ntfID})
	})
}

// ClaimNotification implements payments.NotificationQueue.
func (s Notifications) ClaimNotification(ctx context.Context, ntfID string) (psp.Notification, bool, error) {
	g := s.db.gorm.WithContext(ctx)
	res := g.Exec(`UPDATE provider_notifications SET status = 'applying', attempts = attempts + 1 WHERE id = ? AND status <> 'applied'`, ntfID)
	if res.Error != nil || res.RowsAffected == 0 {
		return psp.Notification{}, false, res.Error
	}
	var row providerNotificationRow
	if err := g.Where("id = ?", ntfID).Take(&row).Error; err != nil {
		return psp.Notification{}, false, err
	}
	return psp.Notification{Kind: psp.ResourceKind(row.Kind), Event: row.Event, ResourceID: row.ResourceID}, true, nil
}

// NotificationApplied implements payments.NotificationQueue.
func (s Notifications) NotificationApplied(ctx context.Context, ntfID string, at time.Time) error {
	return s.db.gorm.WithContext(ctx).Exec(`UPDATE provider_notifications SET status = 'applied', applied_at = ? WHERE id = ?`,
		utc(at), ntfID).Error
}

// UnappliedNotifications implements payments.NotificationQueue.
func (s Notifications) UnappliedNotifications(ctx context.Context) (int, error) {
	var n int64
	err := s.db.gorm.WithContext(ctx).Model(&providerNotificationRow{}).Where("status <> 'applied'").Count(&n).Error
	return int(n), err
}

// PurgeNotifications deletes the notifications applied before cutoff and returns how many.
func (s Notifications) PurgeNotifications(ctx context.Context, cutoff time.Time) (int, error) {
	res := s.db.gorm.WithContext(ctx).Exec(`DELETE FROM provider_notifications WHERE status = 'applied' AND applied_at < ?`, utc(cutoff))
	return int(res.RowsAffected), res.Error
}
