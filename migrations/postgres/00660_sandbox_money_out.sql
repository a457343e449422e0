-- +goose Up
-- The sandbox provider's money out: owner users (centres) that receive transfers and, once their
-- payout account is added, payouts; transfers between wallets with the platform's fee; the
-- platform's own user and fee wallet.
ALTER TABLE sandbox_users ADD COLUMN category text NOT NULL DEFAULT 'payer';
ALTER TABLE sandbox_users ADD COLUMN payouts_enabled boolean NOT NULL DEFAULT false;

INSERT INTO sandbox_users (id, name, email, company_number, kind, tag, created_at, category)
    VALUES ('sbx_user_platform', 'vhupay marketplace', 'platform@vhupay.invalid', '', 'business', 'platform',
            '2026-01-01 00:00:00', 'platform');
INSERT INTO sandbox_wallets (id, owner_id, description, tag, balance, created_at)
    VALUES ('sbx_wallet_fees', 'sbx_user_platform', 'the platform''s fees', 'fees', 0, '2026-01-01 00:00:00');

CREATE TABLE sandbox_transfers (
    id                 text PRIMARY KEY,
    status             text NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    author_id          text NOT NULL,
    debited_wallet_id  text NOT NULL,
    credited_wallet_id text NOT NULL,
    amount             bigint NOT NULL,
    fees               bigint NOT NULL,
    result_code        text NOT NULL DEFAULT '',
    result_message     text NOT NULL DEFAULT '',
    tag                text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    executed_at        timestamptz
);

-- +goose Down
DROP TABLE sandbox_transfers;
DELETE FROM sandbox_wallets WHERE id = 'sbx_wallet_fees';
DELETE FROM sandbox_users WHERE id = 'sbx_user_platform';
ALTER TABLE sandbox_users DROP COLUMN payouts_enabled;
ALTER TABLE sandbox_users DROP COLUMN category;
