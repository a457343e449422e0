-- +goose Up
-- Provider notifications coalesce per resource, whatever their event: the resource is re-read
-- from the provider when the notification is applied, so one pending notification per resource
-- means one provider read however many hooks name it (a flood of hooks cannot spend the
-- provider's quota).
DELETE FROM provider_notifications
WHERE status = 'pending' AND EXISTS (
    SELECT 1 FROM provider_notifications q
    WHERE q.status = 'pending' AND q.kind = provider_notifications.kind
      AND q.resource_id = provider_notifications.resource_id AND q.id < provider_notifications.id);
DROP INDEX provider_notifications_pending_idx;
CREATE UNIQUE INDEX provider_notifications_pending_idx ON provider_notifications (kind, resource_id) WHERE status = 'pending';

-- +goose Down
DROP INDEX provider_notifications_pending_idx;
CREATE UNIQUE INDEX provider_notifications_pending_idx ON provider_notifications (resource_id, event) WHERE status = 'pending';
