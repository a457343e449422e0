-- +goose Up
-- The companions of every state change, written in the same transaction as the change (the unit
-- of work, internal/txn): events for integrators, the double-entry ledger, the audit trail.
-- SQLite cannot defer a check to commit: each ledger transaction is checked in the write path
-- (ledger.Transaction.Check) before its postings are inserted.

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    buyer_id   TEXT,
    center_id  TEXT,
    data       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_buyer_idx ON events (buyer_id, id) WHERE buyer_id IS NOT NULL;
CREATE INDEX events_center_idx ON events (center_id, id) WHERE center_id IS NOT NULL;
CREATE INDEX events_type_idx ON events (type, id);
CREATE INDEX events_created_idx ON events (created_at);

CREATE TABLE ledger_transactions (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, source_id)
);
CREATE INDEX ledger_transactions_source_idx ON ledger_transactions (source_id);

CREATE TABLE ledger_postings (
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    seq            INTEGER NOT NULL,
    account        TEXT NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount <> 0),
    currency       TEXT NOT NULL DEFAULT 'EUR' CHECK (currency = 'EUR'),
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (transaction_id, seq)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account, transaction_id);

-- +goose StatementBegin
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
-- +goose StatementEnd

CREATE TABLE audit_events (
    id               TEXT PRIMARY KEY,
    action           TEXT NOT NULL,
    actor_sub        TEXT NOT NULL,
    actor_role       TEXT NOT NULL,
    actor_org        TEXT NOT NULL DEFAULT '',
    actor_api_key_id TEXT NOT NULL DEFAULT '',
    target_id        TEXT NOT NULL DEFAULT '',
    request_id       TEXT NOT NULL DEFAULT '',
    before           TEXT,
    after            TEXT,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_sub, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE ledger_postings;
DROP TABLE ledger_transactions;
DROP TABLE events;
