-- +goose Up
-- Payouts to centres (issue #11 item 6): a centre's payout account (the IBAN is never stored:
-- only its masked form, country, last 4 characters and keyed fingerprint), the payouts, the weekly
-- automatic runs, and whether the provider allows the centre's payouts.
ALTER TABLE centers ADD COLUMN payouts_enabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE payout_accounts (
    id          text PRIMARY KEY,
    center_id   text NOT NULL REFERENCES centers (id),
    provider_id text NOT NULL,
    owner_name  text NOT NULL,
    country     text NOT NULL,
    last4       text NOT NULL,
    masked_iban text NOT NULL,
    fingerprint text NOT NULL,
    bic         text NOT NULL DEFAULT '',
    active      INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
-- A centre has at most one active payout account.
CREATE UNIQUE INDEX payout_accounts_active_idx ON payout_accounts (center_id) WHERE active = 1;
CREATE INDEX payout_accounts_center_idx ON payout_accounts (center_id, id);

-- A payout is recorded (and the centre's balance debited in the ledger) before the provider is
-- asked, with its id as the provider's idempotency key; provider_payout_id is set once the
-- provider answered. run_slot is the weekly run of an automatic payout: one per centre and run.
CREATE TABLE payouts (
    id                 text PRIMARY KEY,
    center_id          text NOT NULL REFERENCES centers (id),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    bank_account_id    text NOT NULL REFERENCES payout_accounts (id),
    status             text NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'returned')),
    failure_code       text NOT NULL DEFAULT '',
    automatic          INTEGER NOT NULL DEFAULT 0,
    run_slot           text,
    provider_payout_id text NOT NULL DEFAULT '',
    arrival_date       text NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (center_id, run_slot)
);
CREATE INDEX payouts_center_idx ON payouts (center_id, id);
CREATE INDEX payouts_status_idx ON payouts (status, id);

-- The weekly automatic runs (Monday 06:00 Paris), one row per run: claimed once across processes.
CREATE TABLE payout_runs (
    slot        text PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('running', 'finished')),
    payouts     integer NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);

-- The sandbox provider's payouts (bank wires from an owner's wallet to its payout account).
CREATE TABLE sandbox_payouts (
    id                text PRIMARY KEY,
    status            text NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    author_id         text NOT NULL,
    debited_wallet_id text NOT NULL,
    bank_account_id   text NOT NULL,
    amount            INTEGER NOT NULL,
    result_code       text NOT NULL DEFAULT '',
    result_message    text NOT NULL DEFAULT '',
    tag               text NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    executed_at       TIMESTAMP
);
CREATE INDEX sandbox_payouts_created_idx ON sandbox_payouts (status, created_at);

-- +goose Down
DROP TABLE sandbox_payouts;
DROP TABLE payout_runs;
DROP TABLE payouts;
DROP TABLE payout_accounts;
ALTER TABLE centers DROP COLUMN payouts_enabled;
