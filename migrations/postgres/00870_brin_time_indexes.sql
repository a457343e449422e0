-- +goose Up
-- Two indexes that only ever answer "rows older (or newer) than a time" become BRIN indexes
-- (issue #15 goal 2). Each accepted payment wrote three B-tree entries into them (its two events'
-- created_at, its idempotency record's expires_at), about 400 bytes of WAL and three B-tree
-- descents of its single commit. Both columns grow with insertion (the clock's time of the
-- change; that time plus the record's lifetime), so a block range of the table holds a narrow
-- span of times: a BRIN index answers the same range reads by reading the few ranges that can
-- match, and a new row costs it nothing until vacuum summarises its range (the tables are
-- insert-mostly, so their autovacuum runs on inserts).
--
-- events_created_idx: the event list's created[gt]/created[lt] filters and the retention purge
-- (DELETE … WHERE created_at < …). idempotency_keys_expires_at_idx: the purge of expired
-- records (DELETE … WHERE expires_at < …). Neither served an ordered scan: the event list pages
-- by id, and the purges delete whatever matches.
DROP INDEX events_created_idx;
CREATE INDEX events_created_idx ON events USING brin (created_at);
DROP INDEX idempotency_keys_expires_at_idx;
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys USING brin (expires_at);

-- +goose Down
DROP INDEX idempotency_keys_expires_at_idx;
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
DROP INDEX events_created_idx;
CREATE INDEX events_created_idx ON events (created_at);
