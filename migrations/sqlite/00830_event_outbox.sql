-- +goose Up
-- The event outbox (see the PostgreSQL migration of the same version): one row per unit of work
-- that emitted events, claimed in order by the job queue's dispatcher.
CREATE TABLE event_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_ids  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE event_outbox;
