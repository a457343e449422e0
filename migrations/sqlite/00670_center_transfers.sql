-- +goose Up
-- Each centre's owner user and wallet at the payment provider (created once, lazily).
CREATE TABLE payees (
    center_id text PRIMARY KEY REFERENCES centers (id),
    user_id   text NOT NULL,
    wallet_id text NOT NULL
);

-- The transfers that move a centre's earning from the buyer's wallet to the centre's at the
-- provider: recorded in the transaction that posts the earning, then sent by the job queue with
-- the record's id as idempotency key, then marked with the provider's answer.
CREATE TABLE center_transfers (
    id                   text PRIMARY KEY,
    kind                 text NOT NULL,
    source_id            text NOT NULL,
    buyer_id             text NOT NULL,
    center_id            text NOT NULL,
    amount               INTEGER NOT NULL CHECK (amount > 0),
    fees                 INTEGER NOT NULL CHECK (fees >= 0),
    status               text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    provider_transfer_id text NOT NULL DEFAULT '',
    result_code          text NOT NULL DEFAULT '',
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    UNIQUE (kind, source_id)
);
CREATE INDEX center_transfers_pending_idx ON center_transfers (status, id);

-- +goose Down
DROP TABLE center_transfers;
DROP TABLE payees;
