-- +goose Up
-- Refunds of payments (card, sepa_debit, vhu_invoice). amount_refunded on an intent is what its
-- live refunds (pending or succeeded) hold: a conditional update keeps it within the intent's
-- amount, so that concurrent refunds of one payment never exceed it. An order's amount_refunded
-- is its paying intent's; the order is refunded once its refunds succeeded for the whole amount.
ALTER TABLE payment_intents ADD COLUMN amount_refunded INTEGER NOT NULL DEFAULT 0
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount);
ALTER TABLE orders ADD COLUMN amount_refunded INTEGER NOT NULL DEFAULT 0;
-- SQLite cannot alter a CHECK constraint, and rebuilding orders would break the foreign keys
-- that point at it: the constraint's text is widened in the schema (a change that leaves the
-- stored rows as they are, as SQLite's ALTER TABLE documentation describes); the CREATE TABLE
-- statements below change the schema version, so that every connection reloads the schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (status IN (''payment_pending'', ''confirmed'', ''cancelled''))',
    'CHECK (status IN (''payment_pending'', ''confirmed'', ''cancelled'', ''refunded''))')
    WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = OFF;

-- stage is how far the refund went at the provider (card and collected SEPA): recorded (nothing
-- asked yet), awaiting_collection (a SEPA payment whose collection was created before the refund:
-- refunded once collected), transfer_refunded (the centre's transfer given back), done.
-- posted: its ledger transaction is written. not_before: the provider is not asked earlier (a
-- direct debit is refundable from the 8th day; the same amount twice a day is refused).
CREATE TABLE refunds (
    id                          TEXT PRIMARY KEY,
    payment_intent_id           TEXT NOT NULL REFERENCES payment_intents (id),
    order_id                    TEXT NOT NULL,
    buyer_id                    TEXT NOT NULL,
    center_id                   TEXT NOT NULL,
    method                      TEXT NOT NULL,
    amount                      INTEGER NOT NULL CHECK (amount > 0),
    fee                         INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0),
    currency                    TEXT NOT NULL,
    reason                      TEXT NOT NULL,
    note                        TEXT NOT NULL DEFAULT '',
    status                      TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    failure_code                TEXT NOT NULL DEFAULT '',
    stage                       TEXT NOT NULL DEFAULT 'recorded',
    posted                      BOOLEAN NOT NULL DEFAULT false,
    attempts                    INTEGER NOT NULL DEFAULT 0,
    provider_transfer_refund_id TEXT NOT NULL DEFAULT '',
    provider_refund_id          TEXT NOT NULL DEFAULT '',
    statement_id                TEXT NOT NULL DEFAULT '',
    not_before                  TIMESTAMP NOT NULL,
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);
CREATE INDEX refunds_intent_idx ON refunds (payment_intent_id, id);
CREATE INDEX refunds_buyer_idx ON refunds (buyer_id, id);
CREATE INDEX refunds_center_idx ON refunds (center_id, id);
CREATE INDEX refunds_pending_idx ON refunds (status, not_before);

-- The credit lines of statements: one per vhu_invoice refund, on the statement of the refund's
-- month; amounts are negative; vat_lines is the JSON [{rate, base, vat}] of its VAT breakdown.
CREATE TABLE statement_credits (
    refund_id      TEXT PRIMARY KEY,
    statement_id   TEXT NOT NULL REFERENCES statements (id),
    order_id       TEXT NOT NULL,
    total_excl_vat INTEGER NOT NULL,
    total_vat      INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    vat_lines      TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX statement_credits_statement_idx ON statement_credits (statement_id);

-- The sandbox provider's refunds of transfers.
ALTER TABLE sandbox_transfers ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandbox_transfers ADD COLUMN refunded_fees INTEGER NOT NULL DEFAULT 0;
CREATE TABLE sandbox_transfer_refunds (
    id             TEXT PRIMARY KEY,
    transfer_id    TEXT NOT NULL REFERENCES sandbox_transfers (id),
    author_id      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    amount         INTEGER NOT NULL,
    fees           INTEGER NOT NULL,
    result_code    TEXT NOT NULL DEFAULT '',
    result_message TEXT NOT NULL DEFAULT '',
    tag            TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE sandbox_transfer_refunds;
ALTER TABLE sandbox_transfers DROP COLUMN refunded_fees;
ALTER TABLE sandbox_transfers DROP COLUMN refunded;
DROP TABLE statement_credits;
DROP TABLE refunds;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (status IN (''payment_pending'', ''confirmed'', ''cancelled'', ''refunded''))',
    'CHECK (status IN (''payment_pending'', ''confirmed'', ''cancelled''))')
    WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = OFF;
ALTER TABLE orders DROP COLUMN amount_refunded;
ALTER TABLE payment_intents DROP COLUMN amount_refunded;
