package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vhupay/vhupay/internal/events"
	"github.com/vhupay/vhupay/internal/page"
	"github.com/vhupay/vhupay/internal/webhooks"
)

type webhookEndpointRow struct {
	ID                  string
	CenterID            *string
	URL                 string `gorm:"column:url"`
	EnabledEvents       string
	Description         string
	Status              string
	Secret              string
	PreviousSecret      *string
	PreviousSecretUntil *time.Time
	FailingSince        *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (webhookEndpointRow) TableName() string { return "webhook_endpoints" }

type webhookDeliveryRow struct {
	ID             string
	EndpointID     string
	EventID        string
	EventType      string
	Status         string
	Attempts       int
	LastStatusCode *int
	LastError      *string
	NextAttemptAt  *time.Time
	LeaseUntil     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := utc(t)
	return &v
}

func fromTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func fromEndpoint(ep webhooks.Endpoint) (webhookEndpointRow, error) {
	types, err := json.Marshal(ep.EnabledEvents)
	if err != nil {
		return webhookEndpointRow{}, err
	}
	return webhookEndpointRow{ID: ep.ID, CenterID: nullable(ep.CenterID), URL: ep.URL, EnabledEvents: string(types),
		Description: ep.Description, Status: string(ep.Status), Secret: ep.Secret, PreviousSecret: nullable(ep.PreviousSecret),
		PreviousSecretUntil: optTime(ep.PreviousSecretUntil), FailingSince: optTime(ep.FailingSince),
		CreatedAt: utc(ep.CreatedAt), UpdatedAt: utc(ep.UpdatedAt)}, nil
}

func toEndpoint(r webhookEndpointRow) (webhooks.Endpoint, error) {
	ep := webhooks.Endpoint{ID: r.ID, URL: r.URL, Description: r.Description, Status: webhooks.Status(r.Status), Secret: r.Secret,
		PreviousSecretUntil: fromTime(r.PreviousSecretUntil), FailingSince: fromTime(r.FailingSince),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.CenterID != nil {
		ep.CenterID = *r.CenterID
	}
	if r.PreviousSecret != nil {
		ep.PreviousSecret = *r.PreviousSecret
	}
	if err := json.Unmarshal([]byte(r.EnabledEvents), &ep.EnabledEvents); err != nil {
		return ep, fmt.Errorf("webhook endpoint %s: enabled events: %w", r.ID, err)
	}
	return ep, nil
}

func toDelivery(r webhookDeliveryRow) webhooks.Delivery {
	d := webhooks.Delivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType,
		Status: webhooks.DeliveryStatus(r.Status), Attempts: r.Attempts, NextAttemptAt: fromTime(r.NextAttemptAt),
		LeaseUntil: fromTime(r.LeaseUntil), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.LastStatusCode != nil {
		d.LastStatusCode = *r.LastStatusCode
	}
	if r.LastError != nil {
		d.LastError = *r.LastError
	}
	return d
}

// Webhooks implements webhooks.Store.
type Webhooks struct {
	runner[webhooks.Tx]
	events Events
}

var _ webhooks.Store = Webhooks{}

// NewWebhooks returns the webhook endpoints and deliveries store.
func NewWebhooks(db *DB) Webhooks {
	return Webhooks{runner: runner[webhooks.Tx]{db: db, bind: func(u *unit) webhooks.Tx { return u }}, events: NewEvents(db)}
}

var _ webhooks.Tx = (*unit)(nil)

// InsertWebhookEndpoint implements webhooks.Tx.
func (u *unit) InsertWebhookEndpoint(ctx context.Context, ep webhooks.Endpoint) error {
	row, err := fromEndpoint(ep)
	if err != nil {
		return err
	}
	return u.g.WithContext(ctx).Create(&row).Error
}

// UpdateWebhookEndpoint implements webhooks.Tx.
func (u *unit) UpdateWebhookEndpoint(ctx context.Context, ep webhooks.Endpoint) error {
	row, err := fromEndpoint(ep)
	if err != nil {
		return err
	}
	res := u.g.WithContext(ctx).Model(&webhookEndpointRow{}).Where("id = ?", ep.ID).Updates(map[string]any{
		"url": row.URL, "enabled_events": row.EnabledEvents, "description": row.Description, "status": row.Status,
		"secret": row.Secret, "previous_secret": row.PreviousSecret, "previous_secret_until": row.PreviousSecretUntil,
		"failing_since": row.FailingSince, "updated_at": row.UpdatedAt})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update webhook endpoint %s: %w", ep.ID, webhooks.ErrNotFound)
	}
	return nil
}

// DeleteWebhookEndpoint implements webhooks.Tx (its deliveries go with it).
func (u *unit) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	g := u.g.WithContext(ctx)
	if err := g.Exec(`DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, id).Error; err != nil {
		return err
	}
	res := g.Exec(`DELETE FROM webhook_endpoints WHERE id = ?`, id)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, webhooks.ErrNotFound)
	}
	return nil
}

// InsertWebhookDeliveries implements webhooks.Tx: one insert per 500 deliveries.
func (u *unit) InsertWebhookDeliveries(ctx context.Context, ds []webhooks.Delivery) ([]string, error) {
	var added []string
	for chunk := range slices.Chunk(ds, deliveryInsertBatch) {
		var q strings.Builder
		q.WriteString(`INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at, updated_at) VALUES `)
		args := make([]any, 0, 8*len(chunk))
		for i, d := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, 0, ?, ?, ?)")
			args = append(args, d.ID, d.EndpointID, d.EventID, d.EventType, string(d.Status), optTime(d.NextAttemptAt), utc(d.CreatedAt), utc(d.UpdatedAt))
		}
		q.WriteString(" ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id")
		var ids []string
		if err := u.g.WithContext(ctx).Raw(q.String(), args...).Scan(&ids).Error; err != nil {
			return nil, err
		}
		added = append(added, ids...)
	}
	return added, nil
}

// deliveryInsertBatch bounds the rows of one insert of deliveries (8 parameters each).
const deliveryInsertBatch = 500

// RecordWebhookAttempt implements webhooks.Tx.
func (u *unit) RecordWebhookAttempt(ctx context.Context, d webhooks.Delivery) error {
	code, updated, err := attemptColumns(d)
	if err != nil {
		return err
	}
	return u.g.WithContext(ctx).Model(&webhookDeliveryRow{}).Where("id = ?", d.ID).Updates(map[string]any{
		"status": string(d.Status), "attempts": d.Attempts, "last_status_code": code, "last_error": nullable(d.LastError),
		"next_attempt_at": optTime(d.NextAttemptAt), "lease_until": nil, "updated_at": utc(updated)}).Error
}

// SetWebhookEndpointFailing implements webhooks.Tx.
func (u *unit) SetWebhookEndpointFailing(ctx context.Context, id string, since time.Time) error {
	g := u.g.WithContext(ctx)
	if since.IsZero() {
		return g.Exec(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, id).Error
	}
	return g.Exec(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`, utc(since), id).Error
}

// DisableFailingWebhookEndpoint implements webhooks.Tx.
func (u *unit) DisableFailingWebhookEndpoint(ctx context.Context, id string, cutoff, at time.Time) (bool, error) {
	res := u.g.WithContext(ctx).Exec(`UPDATE webhook_endpoints SET status = 'disabled', updated_at = ?
		WHERE id = ? AND status = 'enabled' AND failing_since IS NOT NULL AND failing_since <= ?`, utc(at), id, utc(cutoff))
	return res.RowsAffected == 1, res.Error
}

// RequeueWebhookDelivery implements webhooks.Tx.
func (u *unit) RequeueWebhookDelivery(ctx context.Context, id string, at time.Time) error {
	return u.g.WithContext(ctx).Exec(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ? WHERE id = ?`,
		utc(at), utc(at), id).Error
}

// WebhookEndpoint implements webhooks.Store.
func (s Webhooks) WebhookEndpoint(ctx context.Context, id string) (webhooks.Endpoint, error) {
	var rows []webhookEndpointRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return webhooks.Endpoint{}, err
	}
	if len(rows) == 0 {
		return webhooks.Endpoint{}, webhooks.ErrNotFound
	}
	return toEndpoint(rows[0])
}

func toEndpoints(rows []webhookEndpointRow) ([]webhooks.Endpoint, error) {
	out := make([]webhooks.Endpoint, len(rows))
	for i, r := range rows {
		ep, err := toEndpoint(r)
		if err != nil {
			return nil, err
		}
		out[i] = ep
	}
	return out, nil
}

// WebhookEndpoints implements webhooks.Store.
func (s Webhooks) WebhookEndpoints(ctx context.Context, centerID string, p page.Request) (page.Page[webhooks.Endpoint], error) {
	q := s.db.gorm.WithContext(ctx).Model(&webhookEndpointRow{})
	if centerID != "" {
		q = q.Where("center_id = ?", centerID)
	}
	var rows []webhookEndpointRow
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[webhooks.Endpoint]{}, err
	}
	out, err := toEndpoints(rows)
	if err != nil {
		return page.Page[webhooks.Endpoint]{}, err
	}
	return page.Build(out, p.Limit, func(ep webhooks.Endpoint) string { return ep.ID }), nil
}

// SubscriberCandidates implements webhooks.Store.
func (s Webhooks) SubscriberCandidates(ctx context.Context, centerID string) ([]webhooks.Endpoint, error) {
	q := s.db.gorm.WithContext(ctx).Where("status = ?", string(webhooks.StatusEnabled))
	if centerID != "" {
		q = q.Where("center_id IS NULL OR center_id = ?", centerID)
	} else {
		q = q.Where("center_id IS NULL")
	}
	var rows []webhookEndpointRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	return toEndpoints(rows)
}

// WebhookDelivery implements webhooks.Store.
func (s Webhooks) WebhookDelivery(ctx context.Context, id string) (webhooks.Delivery, error) {
	var rows []webhookDeliveryRow
	if err := s.db.gorm.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return webhooks.Delivery{}, err
	}
	if len(rows) == 0 {
		return webhooks.Delivery{}, webhooks.ErrNotFound
	}
	return toDelivery(rows[0]), nil
}

// WebhookDeliveries implements webhooks.Store.
func (s Webhooks) WebhookDeliveries(ctx context.Context, endpointID string, p page.Request) (page.Page[webhooks.Delivery], error) {
	var rows []webhookDeliveryRow
	q := s.db.gorm.WithContext(ctx).Model(&webhookDeliveryRow{}).Where("endpoint_id = ?", endpointID)
	if err := keyset(q, p, "id").Find(&rows).Error; err != nil {
		return page.Page[webhooks.Delivery]{}, err
	}
	out := make([]webhooks.Delivery, len(rows))
	for i, r := range rows {
		out[i] = toDelivery(r)
	}
	return page.Build(out, p.Limit, func(d webhooks.Delivery) string { return d.ID }), nil
}

// LeaseWebhookDelivery implements webhooks.Store: one conditional update.
func (s Webhooks) LeaseWebhookDelivery(ctx context.Context, id string, now, until time.Time) (bool, error) {
	res := s.db.gorm.WithContext(ctx).Exec(`UPDATE webhook_deliveries SET lease_until = ?
		WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until < ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)`,
		utc(until), id, utc(now), utc(now))
	return res.RowsAffected == 1, res.Error
}

// Event implements webhooks.Store.
func (s Webhooks) Event(ctx context.Context, id string) (events.Event, error) {
	return s.events.Event(ctx, id)
}

// EventsByID implements webhooks.Store: one query.
func (s Webhooks) EventsByID(ctx context.Context, ids []string) ([]events.Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []eventRow
	if err := s.db.gorm.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(rows, func(a, b eventRow) int { return at[a.ID] - at[b.ID] })
	out := make([]events.Event, len(rows))
	for i, r := range rows {
		out[i] = toEvent(r)
	}
	return out, nil
}

// leaseDueSQL takes a due delivery's lease and reads it with its endpoint and its event, in one
// statement (PostgreSQL: a data-modifying CTE).
const leaseDueSQL = `WITH d AS (
	UPDATE webhook_deliveries SET lease_until = $2
	WHERE id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3) AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
	RETURNING id, endpoint_id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, lease_until,
		created_at, updated_at)
SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at,
	d.lease_until, d.created_at, d.updated_at,
	ep.id, ep.center_id, ep.url, ep.enabled_events, ep.description, ep.status, ep.secret, ep.previous_secret, ep.previous_secret_until,
	ep.failing_since, ep.created_at, ep.updated_at,
	ev.id, ev.type, ev.buyer_id, ev.center_id, ev.data::text, ev.created_at
FROM d LEFT JOIN webhook_endpoints ep ON ep.id = d.endpoint_id LEFT JOIN events ev ON ev.id = d.event_id`

// LeaseDueWebhookDelivery implements webhooks.Store: on PostgreSQL one statement (leaseDueSQL),
// on SQLite the lease and three reads.
func (s Webhooks) LeaseDueWebhookDelivery(ctx context.Context, id string, now, until time.Time) (webhooks.Leased, bool, error) {
	g := s.db.gorm
	if !isPostgres(g) {
		leased, err := s.LeaseWebhookDelivery(ctx, id, now, until)
		if err != nil || !leased {
			return webhooks.Leased{}, false, err
		}
		var out webhooks.Leased
		if out.Delivery, err = s.WebhookDelivery(ctx, id); err != nil {
			return webhooks.Leased{}, false, err
		}
		ep, err := s.WebhookEndpoint(ctx, out.Delivery.EndpointID)
		switch {
		case err == nil:
			out.Endpoint = &ep
		case !errors.Is(err, webhooks.ErrNotFound):
			return out, true, err
		}
		e, err := s.Event(ctx, out.Delivery.EventID)
		switch {
		case err == nil:
			out.Event = &e
		case !errors.Is(err, events.ErrNotFound):
			return out, true, err
		}
		return out, true, nil
	}
	var (
		d                              webhookDeliveryRow
		epID, epURL, epEnabled, epDesc *string
		epStatus, epSecret             *string
		ep                             webhookEndpointRow
		epCreated, epUpdated           *time.Time
		evID, evType, evData           *string
		ev                             eventRow
		evCreated                      *time.Time
	)
	err := conn(g).QueryRowContext(ctx, leaseDueSQL, id, utc(until), utc(now)).Scan(
		&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.Status, &d.Attempts, &d.LastStatusCode, &d.LastError, &d.NextAttemptAt,
		&d.LeaseUntil, &d.CreatedAt, &d.UpdatedAt,
		&epID, &ep.CenterID, &epURL, &epEnabled, &epDesc, &epStatus, &epSecret, &ep.PreviousSecret, &ep.PreviousSecretUntil,
		&ep.FailingSince, &epCreated, &epUpdated,
		&evID, &evType, &ev.BuyerID, &ev.CenterID, &evData, &evCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return webhooks.Leased{}, false, nil
	}
	if err != nil {
		return webhooks.Leased{}, false, err
	}
	out := webhooks.Leased{Delivery: toDelivery(d)}
	if epID != nil {
		ep.ID, ep.URL, ep.EnabledEvents, ep.Description, ep.Status, ep.Secret = *epID, *epURL, *epEnabled, *epDesc, *epStatus, *epSecret
		ep.CreatedAt, ep.UpdatedAt = *epCreated, *epUpdated
		e, err := toEndpoint(ep)
		if err != nil {
			return out, true, err
		}
		out.Endpoint = &e
	}
	if evID != nil {
		ev.ID, ev.Type, ev.Data, ev.CreatedAt = *evID, *evType, *evData, *evCreated
		e := toEvent(ev)
		out.Event = &e
	}
	return out, true, nil
}

// recordSuccessSQL records a successful attempt and clears the endpoint's failing_since in one
// statement (PostgreSQL: a data-modifying CTE; both updates commit together).
const recordSuccessSQL = `WITH d AS (
	UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status_code = $4, last_error = $5, next_attempt_at = $6,
		lease_until = NULL, updated_at = $7
	WHERE id = $1)
UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $8 AND failing_since IS NOT NULL`

// RecordWebhookSuccess implements webhooks.Store: on PostgreSQL one statement (recordSuccessSQL),
// on SQLite both updates in one transaction.
func (s Webhooks) RecordWebhookSuccess(ctx context.Context, d webhooks.Delivery) error {
	g := s.db.gorm
	if !isPostgres(g) {
		return s.InTx(ctx, func(tx webhooks.Tx) error {
			if err := tx.RecordWebhookAttempt(ctx, d); err != nil {
				return err
			}
			return tx.SetWebhookEndpointFailing(ctx, d.EndpointID, time.Time{})
		})
	}
	code, updated, err := attemptColumns(d)
	if err != nil {
		return err
	}
	_, err = conn(g).ExecContext(ctx, recordSuccessSQL, d.ID, string(d.Status), d.Attempts, code, nullable(d.LastError),
		optTime(d.NextAttemptAt), utc(updated), d.EndpointID)
	return err
}

// attemptColumns are the status code (NULL when none) and the update time of a delivery's
// recorded attempt, as RecordWebhookAttempt and RecordWebhookSuccess write them. The update time
// is the caller's (the webhooks service's clock): a zero one is a programming error.
func attemptColumns(d webhooks.Delivery) (*int, time.Time, error) {
	if d.UpdatedAt.IsZero() {
		return nil, time.Time{}, fmt.Errorf("record webhook delivery %s: no update time", d.ID)
	}
	var code *int
	if d.LastStatusCode != 0 {
		code = &d.LastStatusCode
	}
	return code, d.UpdatedAt, nil
}
