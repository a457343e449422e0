-- +goose Up
-- SEPA recovery (DOMAIN-2.md): each collection is pre-notified before its submission (due date,
-- mandate reference, creditor identifier); a collection that fails for insufficient funds is
-- presented once more (status retrying until retry_at, attempts counts the submissions); a failed
-- collection may be paid by card (status recovered, recovered_by the card intent). SQLite cannot
-- change a CHECK constraint: the table is rebuilt (sepa_unpaid_debits too, whose foreign key
-- follows the rename).
CREATE TABLE sepa_collections_v2 (
    id                TEXT PRIMARY KEY,
    buyer_id          TEXT NOT NULL REFERENCES buyers (id),
    month             TEXT NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed', 'retrying', 'recovered')),
    failure_code      TEXT NOT NULL DEFAULT '',
    mandate_id        TEXT NOT NULL DEFAULT '',
    provider_payin_id TEXT UNIQUE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    submitted_at      TIMESTAMP,
    settled_at        TIMESTAMP,
    polled_at         TIMESTAMP,
    due_date          TEXT,
    prenotified_at    TIMESTAMP,
    mandate_reference TEXT NOT NULL DEFAULT '',
    creditor_id       TEXT NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    retry_at          TIMESTAMP,
    first_payin_id    TEXT NOT NULL DEFAULT '',
    recovered_by      TEXT NOT NULL DEFAULT '',
    UNIQUE (buyer_id, month),
    CHECK (status = 'pending' OR status = 'failed' OR provider_payin_id IS NOT NULL)
);
INSERT INTO sepa_collections_v2 (id, buyer_id, month, amount, currency, status, failure_code, mandate_id, provider_payin_id, created_at, updated_at, submitted_at, settled_at, polled_at, attempts)
SELECT id, buyer_id, month, amount, currency, status, failure_code, mandate_id, provider_payin_id, created_at, updated_at, submitted_at, settled_at, polled_at, CASE WHEN provider_payin_id IS NULL THEN 0 ELSE 1 END FROM sepa_collections;
CREATE TABLE sepa_unpaid_debits_v2 (
    collection_id TEXT PRIMARY KEY REFERENCES sepa_collections_v2 (id),
    buyer_id      TEXT NOT NULL REFERENCES buyers (id),
    amount        INTEGER NOT NULL,
    failure_code  TEXT NOT NULL,
    after_success INTEGER NOT NULL,
    reference     TEXT NOT NULL DEFAULT '',
    occurred_at   TIMESTAMP NOT NULL
);
INSERT INTO sepa_unpaid_debits_v2 (collection_id, buyer_id, amount, failure_code, after_success, reference, occurred_at) SELECT collection_id, buyer_id, amount, failure_code, after_success, reference, occurred_at FROM sepa_unpaid_debits;
DROP TABLE sepa_unpaid_debits;
DROP TABLE sepa_collections;
ALTER TABLE sepa_collections_v2 RENAME TO sepa_collections;
ALTER TABLE sepa_unpaid_debits_v2 RENAME TO sepa_unpaid_debits;
CREATE INDEX sepa_collections_buyer_idx ON sepa_collections (buyer_id, id);
CREATE INDEX sepa_collections_month_idx ON sepa_collections (month, status, id);
CREATE INDEX sepa_collections_submitted_idx ON sepa_collections (status, submitted_at);
CREATE INDEX sepa_unpaid_debits_buyer_idx ON sepa_unpaid_debits (buyer_id, occurred_at);
CREATE INDEX sepa_collections_retrying_idx ON sepa_collections (retry_at, id) WHERE status = 'retrying';
CREATE INDEX sepa_collections_buyer_retrying_idx ON sepa_collections (buyer_id) WHERE status = 'retrying';
CREATE INDEX sepa_collections_to_prenotify_idx ON sepa_collections (month, id) WHERE status = 'pending' AND prenotified_at IS NULL;

-- The sandbox's re-presentation IBAN: its first debit fails for insufficient funds, the next
-- debit of the same collection (the pay-in's tag) succeeds.
ALTER TABLE sandbox_bank_accounts ADD COLUMN fails_once INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE sandbox_bank_accounts DROP COLUMN fails_once;
CREATE TABLE sepa_collections_v1 (
    id                TEXT PRIMARY KEY,
    buyer_id          TEXT NOT NULL REFERENCES buyers (id),
    month             TEXT NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed')),
    failure_code      TEXT NOT NULL DEFAULT '',
    mandate_id        TEXT NOT NULL DEFAULT '',
    provider_payin_id TEXT UNIQUE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    submitted_at      TIMESTAMP,
    settled_at        TIMESTAMP,
    polled_at         TIMESTAMP,
    UNIQUE (buyer_id, month),
    CHECK (status = 'pending' OR status = 'failed' OR provider_payin_id IS NOT NULL)
);
INSERT INTO sepa_collections_v1 (id, buyer_id, month, amount, currency, status, failure_code, mandate_id, provider_payin_id, created_at, updated_at, submitted_at, settled_at, polled_at)
SELECT id, buyer_id, month, amount, currency, status, failure_code, mandate_id, provider_payin_id, created_at, updated_at, submitted_at, settled_at, polled_at FROM sepa_collections WHERE status IN ('pending', 'submitted', 'succeeded', 'failed');
CREATE TABLE sepa_unpaid_debits_v1 (
    collection_id TEXT PRIMARY KEY REFERENCES sepa_collections_v1 (id),
    buyer_id      TEXT NOT NULL REFERENCES buyers (id),
    amount        INTEGER NOT NULL,
    failure_code  TEXT NOT NULL,
    after_success INTEGER NOT NULL,
    reference     TEXT NOT NULL DEFAULT '',
    occurred_at   TIMESTAMP NOT NULL
);
INSERT INTO sepa_unpaid_debits_v1 (collection_id, buyer_id, amount, failure_code, after_success, reference, occurred_at)
SELECT collection_id, buyer_id, amount, failure_code, after_success, reference, occurred_at FROM sepa_unpaid_debits WHERE collection_id IN (SELECT id FROM sepa_collections_v1);
DROP TABLE sepa_unpaid_debits;
DROP TABLE sepa_collections;
ALTER TABLE sepa_collections_v1 RENAME TO sepa_collections;
ALTER TABLE sepa_unpaid_debits_v1 RENAME TO sepa_unpaid_debits;
CREATE INDEX sepa_collections_buyer_idx ON sepa_collections (buyer_id, id);
CREATE INDEX sepa_collections_month_idx ON sepa_collections (month, status, id);
CREATE INDEX sepa_collections_submitted_idx ON sepa_collections (status, submitted_at);
CREATE INDEX sepa_unpaid_debits_buyer_idx ON sepa_unpaid_debits (buyer_id, occurred_at);
