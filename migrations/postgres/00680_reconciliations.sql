-- +goose Up
-- Reconciliations: every provider wallet's balance compared with the ledger account it mirrors.
-- mismatches is a JSON array of {account, ledger_balance, provider_balance, difference}.
CREATE TABLE reconciliations (
    id               text PRIMARY KEY,
    status           text NOT NULL CHECK (status IN ('running', 'matched', 'mismatched')),
    checked_accounts integer NOT NULL DEFAULT 0,
    mismatches       jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz
);

-- +goose Down
DROP TABLE reconciliations;
