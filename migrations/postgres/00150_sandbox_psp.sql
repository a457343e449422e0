-- +goose Up
-- The sandbox payment provider's state (internal/psp/sandbox). It never holds a card number nor a
-- full IBAN: cards keep their alias, bank accounts their masked IBAN, both a behaviour class.

-- One row per (kind of resource, idempotency key): the resource the first create made, or '' when
-- the first create was refused.
CREATE TABLE sandbox_idempotency (
    kind        text NOT NULL,
    key         text NOT NULL,
    resource_id text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE TABLE sandbox_users (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL,
    company_number text NOT NULL DEFAULT '',
    kind           text NOT NULL,
    tag            text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);

CREATE TABLE sandbox_wallets (
    id          text PRIMARY KEY,
    owner_id    text NOT NULL REFERENCES sandbox_users (id),
    description text NOT NULL,
    tag         text NOT NULL DEFAULT '',
    balance     bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);

CREATE TABLE sandbox_card_registrations (
    id                   text PRIMARY KEY,
    user_id              text NOT NULL REFERENCES sandbox_users (id),
    status               text NOT NULL CHECK (status IN ('created', 'validated', 'error')),
    access_key           text NOT NULL,
    preregistration_data text NOT NULL,
    card_id              text NOT NULL DEFAULT '',
    result_code          text NOT NULL DEFAULT '',
    tag                  text NOT NULL DEFAULT '',
    token_hash           text NOT NULL DEFAULT '',
    token_alias          text NOT NULL DEFAULT '',
    token_expiration     text NOT NULL DEFAULT '',
    token_brand          text NOT NULL DEFAULT '',
    token_class          text NOT NULL DEFAULT '',
    token_fingerprint    text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

CREATE TABLE sandbox_cards (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES sandbox_users (id),
    registration_id text NOT NULL UNIQUE REFERENCES sandbox_card_registrations (id),
    alias           text NOT NULL,
    expiration_date text NOT NULL,
    brand           text NOT NULL,
    card_type       text NOT NULL,
    country         text NOT NULL,
    class           text NOT NULL CHECK (class IN ('challenge', 'frictionless', 'normal')),
    fingerprint     text NOT NULL,
    active          boolean NOT NULL,
    validity        text NOT NULL CHECK (validity IN ('unknown', 'valid', 'invalid')),
    created_at      timestamptz NOT NULL
);

CREATE TABLE sandbox_bank_accounts (
    id          text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES sandbox_users (id),
    owner_name  text NOT NULL,
    masked_iban text NOT NULL,
    country     text NOT NULL,
    last4       text NOT NULL,
    bic         text NOT NULL DEFAULT '',
    outcome     text NOT NULL CHECK (outcome IN ('succeed', 'insufficient_funds', 'account_closed')),
    active      boolean NOT NULL,
    tag         text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE sandbox_mandates (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES sandbox_users (id),
    bank_account_id text NOT NULL REFERENCES sandbox_bank_accounts (id),
    status          text NOT NULL CHECK (status IN ('created', 'submitted', 'active', 'failed', 'expired', 'cancelled')),
    return_url      text NOT NULL,
    culture         text NOT NULL,
    bank_reference  text NOT NULL UNIQUE,
    scheme          text NOT NULL DEFAULT '',
    result_code     text NOT NULL DEFAULT '',
    tag             text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE sandbox_payins (
    id                   text PRIMARY KEY,
    method               text NOT NULL CHECK (method IN ('card', 'direct_debit')),
    status               text NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    author_id            text NOT NULL,
    credited_wallet_id   text NOT NULL REFERENCES sandbox_wallets (id),
    card_id              text REFERENCES sandbox_cards (id),
    mandate_id           text REFERENCES sandbox_mandates (id),
    amount               bigint NOT NULL,
    refunded             bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    secure_mode_needed   boolean NOT NULL DEFAULT FALSE,
    return_url           text NOT NULL DEFAULT '',
    wrong_codes          integer NOT NULL DEFAULT 0 CHECK (wrong_codes BETWEEN 0 AND 3),
    result_code          text NOT NULL DEFAULT '',
    result_message       text NOT NULL DEFAULT '',
    statement_descriptor text NOT NULL DEFAULT '',
    tag                  text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    executed_at          timestamptz,
    charge_date          timestamptz
);
-- Settlement looks for created direct debits, oldest first.
CREATE INDEX sandbox_payins_pending_idx ON sandbox_payins (method, status, created_at);

CREATE TABLE sandbox_refunds (
    id             text PRIMARY KEY,
    payin_id       text NOT NULL REFERENCES sandbox_payins (id),
    author_id      text NOT NULL,
    status         text NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    amount         bigint NOT NULL,
    result_code    text NOT NULL DEFAULT '',
    result_message text NOT NULL DEFAULT '',
    tag            text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);
CREATE INDEX sandbox_refunds_payin_idx ON sandbox_refunds (payin_id, amount, created_at);

-- +goose Down
DROP TABLE sandbox_refunds;
DROP TABLE sandbox_payins;
DROP TABLE sandbox_mandates;
DROP TABLE sandbox_bank_accounts;
DROP TABLE sandbox_cards;
DROP TABLE sandbox_card_registrations;
DROP TABLE sandbox_wallets;
DROP TABLE sandbox_users;
DROP TABLE sandbox_idempotency;
