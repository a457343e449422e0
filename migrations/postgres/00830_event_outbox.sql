-- +goose Up
-- The event outbox (issue #15 goal 2): a unit of work that emits events writes one row here, in
-- its own transaction, naming its events (a JSON array of their ids); the job queue's dispatcher
-- claims the rows in order and, in the transaction that deletes them, enqueues the events'
-- fan-out jobs (internal/jobs). A row costs one heap tuple and one btree entry (the key), where
-- a River job row per unit cost five index entries (two of them GIN). created_at is the time of
-- the unit's latest event (the injected clock's), for operators.
CREATE TABLE event_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_ids  text NOT NULL,
    created_at timestamptz NOT NULL
);
-- Rows are inserted and deleted within moments: vacuum it by row count, not by its (tiny) size.
ALTER TABLE event_outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);

-- +goose Down
DROP TABLE event_outbox;
