-- +goose Up
-- SEPA direct debit: each buyer's standing (ceiling, suspension, probation), the history of its
-- ceiling, its monthly outstanding, its bank accounts (never the IBAN) and its mandates.

-- One row per buyer, created on first use with the initial ceiling (see sepa_ceiling_changes).
CREATE TABLE sepa_profiles (
    buyer_id             text PRIMARY KEY REFERENCES buyers (id),
    ceiling              bigint NOT NULL CHECK (ceiling >= 0),
    suspended            boolean NOT NULL DEFAULT false,
    suspended_reason     text NOT NULL DEFAULT '',
    suspended_at         timestamptz,
    -- the first signed mandate, or the last reinstatement; NULL before any signature
    probation_start      timestamptz,
    -- the last score check a buyer asked for itself (rate limit)
    buyer_score_check_at timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

CREATE TABLE sepa_ceiling_changes (
    id          text PRIMARY KEY,
    buyer_id    text NOT NULL REFERENCES buyers (id),
    from_amount bigint NOT NULL,
    to_amount   bigint NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual')),
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE INDEX sepa_ceiling_changes_buyer_idx ON sepa_ceiling_changes (buyer_id, id);

-- The sum of a buyer's SEPA payments accepted in a Europe/Paris month: what the SEPA payment
-- method reserves against, with one conditional UPDATE.
CREATE TABLE sepa_outstanding (
    buyer_id    text NOT NULL REFERENCES buyers (id),
    month       text NOT NULL,
    outstanding bigint NOT NULL DEFAULT 0 CHECK (outstanding >= 0),
    PRIMARY KEY (buyer_id, month)
);

CREATE TABLE bank_accounts (
    id             text PRIMARY KEY,
    buyer_id       text NOT NULL REFERENCES buyers (id),
    provider_id    text NOT NULL,
    owner_name     text NOT NULL,
    country        text NOT NULL,
    iban_last4     text NOT NULL,
    masked_iban    text NOT NULL,
    fingerprint    text NOT NULL,
    bic            text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('active', 'inactive')),
    is_default     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deactivated_at timestamptz,
    CHECK (status = 'active' OR NOT is_default)
);
-- The same IBAN once among a buyer's active accounts; a deleted account's IBAN may come back.
CREATE UNIQUE INDEX bank_accounts_active_fingerprint_idx ON bank_accounts (buyer_id, fingerprint) WHERE status = 'active';
-- At most one default account per buyer.
CREATE UNIQUE INDEX bank_accounts_default_idx ON bank_accounts (buyer_id) WHERE is_default;
CREATE INDEX bank_accounts_buyer_idx ON bank_accounts (buyer_id, id);

CREATE TABLE mandates (
    id              text PRIMARY KEY,
    buyer_id        text NOT NULL REFERENCES buyers (id),
    bank_account_id text NOT NULL REFERENCES bank_accounts (id),
    provider_id     text NOT NULL UNIQUE,
    status          text NOT NULL CHECK (status IN ('pending_signature', 'submitted', 'active', 'failed', 'expired', 'cancelled')),
    reference       text NOT NULL DEFAULT '',
    signature_url   text NOT NULL,
    return_url      text NOT NULL,
    failure_code    text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    signed_at       timestamptz
);
CREATE INDEX mandates_buyer_idx ON mandates (buyer_id, id);
CREATE INDEX mandates_bank_account_idx ON mandates (bank_account_id, id);

-- +goose Down
DROP TABLE mandates;
DROP TABLE bank_accounts;
DROP TABLE sepa_outstanding;
DROP TABLE sepa_ceiling_changes;
DROP TABLE sepa_profiles;
