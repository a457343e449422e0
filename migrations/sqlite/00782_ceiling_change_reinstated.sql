-- +goose Up
-- A buyer that pays its failed collection by card is reinstated at once: ceiling change reason
-- reinstated. SQLite cannot change a CHECK constraint: the table is rebuilt (no foreign key
-- points to it).
CREATE TABLE sepa_ceiling_changes_v2 (
    id          TEXT PRIMARY KEY,
    buyer_id    TEXT NOT NULL REFERENCES buyers (id),
    from_amount INTEGER NOT NULL,
    to_amount   INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual', 'reinstated')),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO sepa_ceiling_changes_v2 (id, buyer_id, from_amount, to_amount, reason, note, created_at)
SELECT id, buyer_id, from_amount, to_amount, reason, note, created_at FROM sepa_ceiling_changes;
DROP TABLE sepa_ceiling_changes;
ALTER TABLE sepa_ceiling_changes_v2 RENAME TO sepa_ceiling_changes;
CREATE INDEX sepa_ceiling_changes_buyer_idx ON sepa_ceiling_changes (buyer_id, id);

-- +goose Down
CREATE TABLE sepa_ceiling_changes_v1 (
    id          TEXT PRIMARY KEY,
    buyer_id    TEXT NOT NULL REFERENCES buyers (id),
    from_amount INTEGER NOT NULL,
    to_amount   INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual')),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO sepa_ceiling_changes_v1 (id, buyer_id, from_amount, to_amount, reason, note, created_at)
SELECT id, buyer_id, from_amount, to_amount, CASE reason WHEN 'reinstated' THEN 'unpaid_reset' ELSE reason END, note, created_at
FROM sepa_ceiling_changes;
DROP TABLE sepa_ceiling_changes;
ALTER TABLE sepa_ceiling_changes_v1 RENAME TO sepa_ceiling_changes;
CREATE INDEX sepa_ceiling_changes_buyer_idx ON sepa_ceiling_changes (buyer_id, id);
