-- +goose Up
-- Webhook endpoints and their deliveries (events pushed to integrators, Standard Webhooks), and
-- the provider's notifications queued durably before they are answered.

-- A webhook endpoint belongs to a centre (center_id: it gets that centre's events) or to the
-- platform (center_id NULL: admin and service, every event). The signing secret is kept to sign;
-- after a rotation the previous one signs too until previous_secret_until.
CREATE TABLE webhook_endpoints (
    id                    text PRIMARY KEY,
    center_id             text,
    url                   text NOT NULL,
    enabled_events        text NOT NULL,
    description           text NOT NULL DEFAULT '',
    status                text NOT NULL CHECK (status IN ('enabled', 'disabled')),
    secret                text NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_center_idx ON webhook_endpoints (center_id, id);
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (status, id);

-- One delivery per (endpoint, event). lease_until is held by the attempt in flight, so that no
-- two attempts of one delivery ever run at once, across processes.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Provider notifications (MangoPay hooks), kept before the hook is answered and applied by the
-- job queue. One pending row per (resource, event): repeats while it waits are one notification.
CREATE TABLE provider_notifications (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    event       text NOT NULL,
    resource_id text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'applying', 'applied')),
    attempts    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    applied_at  timestamptz
);
CREATE UNIQUE INDEX provider_notifications_pending_idx ON provider_notifications (resource_id, event) WHERE status = 'pending';
CREATE INDEX provider_notifications_applied_idx ON provider_notifications (applied_at) WHERE applied_at IS NOT NULL;

-- +goose Down
DROP TABLE provider_notifications;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
