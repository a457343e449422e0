-- +goose Up
-- SEPA direct debit: each buyer's standing (ceiling, suspension, probation), the history of its
-- ceiling, its monthly outstanding, its bank accounts (never the IBAN) and its mandates.

-- One row per buyer, created on first use with the initial ceiling (see sepa_ceiling_changes).
CREATE TABLE sepa_profiles (
    buyer_id             TEXT PRIMARY KEY REFERENCES buyers (id),
    ceiling              INTEGER NOT NULL CHECK (ceiling >= 0),
    suspended            INTEGER NOT NULL DEFAULT 0,
    suspended_reason     TEXT NOT NULL DEFAULT '',
    suspended_at         TIMESTAMP,
    -- the first signed mandate, or the last reinstatement; NULL before any signature
    probation_start      TIMESTAMP,
    -- the last score check a buyer asked for itself (rate limit)
    buyer_score_check_at TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

CREATE TABLE sepa_ceiling_changes (
    id          TEXT PRIMARY KEY,
    buyer_id    TEXT NOT NULL REFERENCES buyers (id),
    from_amount INTEGER NOT NULL,
    to_amount   INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual')),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX sepa_ceiling_changes_buyer_idx ON sepa_ceiling_changes (buyer_id, id);

-- The sum of a buyer's SEPA payments accepted in a Europe/Paris month: what the SEPA payment
-- method reserves against, with one conditional UPDATE.
CREATE TABLE sepa_outstanding (
    buyer_id    TEXT NOT NULL REFERENCES buyers (id),
    month       TEXT NOT NULL,
    outstanding INTEGER NOT NULL DEFAULT 0 CHECK (outstanding >= 0),
    PRIMARY KEY (buyer_id, month)
);

CREATE TABLE bank_accounts (
    id             TEXT PRIMARY KEY,
    buyer_id       TEXT NOT NULL REFERENCES buyers (id),
    provider_id    TEXT NOT NULL,
    owner_name     TEXT NOT NULL,
    country        TEXT NOT NULL,
    iban_last4     TEXT NOT NULL,
    masked_iban    TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    bic            TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    is_default     INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    deactivated_at TIMESTAMP,
    CHECK (status = 'active' OR NOT is_default)
);
-- The same IBAN once among a buyer's active accounts; a deleted account's IBAN may come back.
CREATE UNIQUE INDEX bank_accounts_active_fingerprint_idx ON bank_accounts (buyer_id, fingerprint) WHERE status = 'active';
-- At most one default account per buyer.
CREATE UNIQUE INDEX bank_accounts_default_idx ON bank_accounts (buyer_id) WHERE is_default = 1;
CREATE INDEX bank_accounts_buyer_idx ON bank_accounts (buyer_id, id);

CREATE TABLE mandates (
    id              TEXT PRIMARY KEY,
    buyer_id        TEXT NOT NULL REFERENCES buyers (id),
    bank_account_id TEXT NOT NULL REFERENCES bank_accounts (id),
    provider_id     TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending_signature', 'submitted', 'active', 'failed', 'expired', 'cancelled')),
    reference       TEXT NOT NULL DEFAULT '',
    signature_url   TEXT NOT NULL,
    return_url      TEXT NOT NULL,
    failure_code    TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    signed_at       TIMESTAMP
);
CREATE INDEX mandates_buyer_idx ON mandates (buyer_id, id);
CREATE INDEX mandates_bank_account_idx ON mandates (bank_account_id, id);

-- +goose Down
DROP TABLE mandates;
DROP TABLE bank_accounts;
DROP TABLE sepa_outstanding;
DROP TABLE sepa_ceiling_changes;
DROP TABLE sepa_profiles;
