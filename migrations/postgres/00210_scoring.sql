-- +goose Up
-- Every score check of a buyer: a score, or an attempt the partner could not answer (which
-- extends the grace on the last score), or an attempt for a SIREN the partner does not know.
CREATE TABLE score_checks (
    id           text PRIMARY KEY,
    buyer_id     text NOT NULL REFERENCES buyers (id),
    outcome      text NOT NULL CHECK (outcome IN ('scored', 'unavailable', 'unknown_company')),
    value        integer CHECK (value BETWEEN 0 AND 20),
    requested_by text NOT NULL,
    checked_at   timestamptz NOT NULL,
    CHECK ((outcome = 'scored') = (value IS NOT NULL))
);
CREATE INDEX score_checks_buyer_idx ON score_checks (buyer_id, checked_at);

-- What the sandbox score partner answers for a SIREN (14/20 when absent), shared by every
-- vhupay process on this database.
CREATE TABLE sandbox_scores (
    siren       text PRIMARY KEY,
    value       integer CHECK (value BETWEEN 0 AND 20),
    unavailable boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sandbox_scores;
DROP TABLE score_checks;
