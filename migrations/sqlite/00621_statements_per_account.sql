-- +goose Up
-- One statement per invoicing account and month (was: per buyer, centre and month). A pair has one
-- statement a month, except when its account is revoked and a new one approved in the same month:
-- the revoked account's statement keeps the payments it accepted, and the payments the new account
-- accepts go on the new account's statement. SQLite cannot drop a table's UNIQUE constraint: the
-- tables are rebuilt (statement_orders too, whose foreign key follows the rename).
CREATE TABLE statements_v2 (
    id                   TEXT PRIMARY KEY,
    invoicing_account_id TEXT NOT NULL REFERENCES invoicing_accounts (id),
    buyer_id             TEXT NOT NULL REFERENCES buyers (id),
    center_id            TEXT NOT NULL REFERENCES centers (id),
    month                TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'issued', 'paid')),
    total_excl_vat       INTEGER NOT NULL DEFAULT 0,
    total_vat            INTEGER NOT NULL DEFAULT 0,
    total                INTEGER NOT NULL DEFAULT 0,
    currency             TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    issued_at            TIMESTAMP,
    paid_at              TIMESTAMP,
    UNIQUE (invoicing_account_id, month)
);
INSERT INTO statements_v2 (id, invoicing_account_id, buyer_id, center_id, month, status, total_excl_vat, total_vat, total,
    currency, created_at, updated_at, issued_at, paid_at)
SELECT id, invoicing_account_id, buyer_id, center_id, month, status, total_excl_vat, total_vat, total,
    currency, created_at, updated_at, issued_at, paid_at FROM statements;
CREATE TABLE statement_orders_v2 (
    statement_id TEXT NOT NULL REFERENCES statements_v2 (id),
    order_id     TEXT NOT NULL UNIQUE REFERENCES orders (id),
    intent_id    TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (statement_id, order_id)
);
INSERT INTO statement_orders_v2 (statement_id, order_id, intent_id, created_at)
SELECT statement_id, order_id, intent_id, created_at FROM statement_orders;
DROP TABLE statement_orders;
DROP TABLE statements;
ALTER TABLE statements_v2 RENAME TO statements;
ALTER TABLE statement_orders_v2 RENAME TO statement_orders;
CREATE INDEX statements_month_status_idx ON statements (month, status);
CREATE INDEX statements_buyer_idx ON statements (buyer_id, id);
CREATE INDEX statements_center_idx ON statements (center_id, id);

-- +goose Down
CREATE TABLE statements_v1 (
    id                   TEXT PRIMARY KEY,
    invoicing_account_id TEXT NOT NULL REFERENCES invoicing_accounts (id),
    buyer_id             TEXT NOT NULL REFERENCES buyers (id),
    center_id            TEXT NOT NULL REFERENCES centers (id),
    month                TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'issued', 'paid')),
    total_excl_vat       INTEGER NOT NULL DEFAULT 0,
    total_vat            INTEGER NOT NULL DEFAULT 0,
    total                INTEGER NOT NULL DEFAULT 0,
    currency             TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    issued_at            TIMESTAMP,
    paid_at              TIMESTAMP,
    UNIQUE (buyer_id, center_id, month)
);
INSERT INTO statements_v1 (id, invoicing_account_id, buyer_id, center_id, month, status, total_excl_vat, total_vat, total,
    currency, created_at, updated_at, issued_at, paid_at)
SELECT id, invoicing_account_id, buyer_id, center_id, month, status, total_excl_vat, total_vat, total,
    currency, created_at, updated_at, issued_at, paid_at FROM statements;
CREATE TABLE statement_orders_v1 (
    statement_id TEXT NOT NULL REFERENCES statements_v1 (id),
    order_id     TEXT NOT NULL UNIQUE REFERENCES orders (id),
    intent_id    TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (statement_id, order_id)
);
INSERT INTO statement_orders_v1 (statement_id, order_id, intent_id, created_at)
SELECT statement_id, order_id, intent_id, created_at FROM statement_orders;
DROP TABLE statement_orders;
DROP TABLE statements;
ALTER TABLE statements_v1 RENAME TO statements;
ALTER TABLE statement_orders_v1 RENAME TO statement_orders;
CREATE INDEX statements_month_status_idx ON statements (month, status);
CREATE INDEX statements_buyer_idx ON statements (buyer_id, id);
CREATE INDEX statements_center_idx ON statements (center_id, id);
