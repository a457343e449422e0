-- +goose Up
-- Every score check of a buyer: a score, or an attempt the partner could not answer (which
-- extends the grace on the last score), or an attempt for a SIREN the partner does not know.
CREATE TABLE score_checks (
    id           TEXT PRIMARY KEY,
    buyer_id     TEXT NOT NULL REFERENCES buyers (id),
    outcome      TEXT NOT NULL CHECK (outcome IN ('scored', 'unavailable', 'unknown_company')),
    value        INTEGER CHECK (value BETWEEN 0 AND 20),
    requested_by TEXT NOT NULL,
    checked_at   TIMESTAMP NOT NULL,
    CHECK ((outcome = 'scored') = (value IS NOT NULL))
);
CREATE INDEX score_checks_buyer_idx ON score_checks (buyer_id, checked_at);

-- What the sandbox score partner answers for a SIREN (14/20 when absent), shared by every
-- vhupay process on this database.
CREATE TABLE sandbox_scores (
    siren       TEXT PRIMARY KEY,
    value       INTEGER CHECK (value BETWEEN 0 AND 20),
    unavailable INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE sandbox_scores;
DROP TABLE score_checks;
