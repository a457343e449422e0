-- +goose Up
-- Recovery by card (DOMAIN-2.md): a buyer pays a failed SEPA collection by card. Such a payment
-- intent pays no order (order_id NULL) but the collection it recovers. SQLite cannot drop a NOT
-- NULL constraint: the table is rebuilt (no other table has a foreign key to it).
CREATE TABLE payment_intents_v2 (
    id                     TEXT PRIMARY KEY,
    order_id               TEXT REFERENCES orders (id),
    buyer_id               TEXT NOT NULL REFERENCES buyers (id),
    amount                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    method                 TEXT NOT NULL CHECK (method IN ('card', 'sepa_debit', 'vhu_invoice')),
    status                 TEXT NOT NULL CHECK (status IN ('requires_action', 'processing', 'scheduled', 'succeeded', 'failed', 'canceled')),
    next_action_url        TEXT NOT NULL DEFAULT '',
    next_action_return_url TEXT NOT NULL DEFAULT '',
    last_error_code        TEXT NOT NULL DEFAULT '',
    last_error_message     TEXT NOT NULL DEFAULT '',
    card_id                TEXT REFERENCES cards (id),
    mandate_id             TEXT NOT NULL DEFAULT '',
    collection_month       TEXT NOT NULL DEFAULT '',
    invoicing_account_id   TEXT NOT NULL DEFAULT '',
    provider_payin_id      TEXT UNIQUE,
    provider_refund_id     TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    collection_id          TEXT,
    request_key            TEXT,
    card_return_url        TEXT NOT NULL DEFAULT '',
    recovers_collection_id TEXT,
    CHECK ((order_id IS NULL) <> (recovers_collection_id IS NULL))
);
INSERT INTO payment_intents_v2 (id, order_id, buyer_id, amount, currency, method, status, next_action_url, next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month, invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at, collection_id, request_key, card_return_url) SELECT id, order_id, buyer_id, amount, currency, method, status, next_action_url, next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month, invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at, collection_id, request_key, card_return_url FROM payment_intents;
DROP TABLE payment_intents;
ALTER TABLE payment_intents_v2 RENAME TO payment_intents;
CREATE INDEX payment_intents_order_idx ON payment_intents (order_id, id);
CREATE INDEX payment_intents_buyer_idx ON payment_intents (buyer_id, id);
CREATE INDEX payment_intents_status_created_idx ON payment_intents (status, created_at);
CREATE UNIQUE INDEX payment_intents_one_open_per_order ON payment_intents (order_id)
    WHERE status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id);
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled' AND collection_id IS NULL;
CREATE UNIQUE INDEX payment_intents_request_key ON payment_intents (request_key)
    WHERE request_key IS NOT NULL AND status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_request_key_idx ON payment_intents (request_key, id) WHERE request_key IS NOT NULL;
CREATE INDEX payment_intents_recovers_idx ON payment_intents (recovers_collection_id, id) WHERE recovers_collection_id IS NOT NULL;

-- +goose Down
CREATE TABLE payment_intents_v1 (
    id                     TEXT PRIMARY KEY,
    order_id               TEXT NOT NULL REFERENCES orders (id),
    buyer_id               TEXT NOT NULL REFERENCES buyers (id),
    amount                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    method                 TEXT NOT NULL CHECK (method IN ('card', 'sepa_debit', 'vhu_invoice')),
    status                 TEXT NOT NULL CHECK (status IN ('requires_action', 'processing', 'scheduled', 'succeeded', 'failed', 'canceled')),
    next_action_url        TEXT NOT NULL DEFAULT '',
    next_action_return_url TEXT NOT NULL DEFAULT '',
    last_error_code        TEXT NOT NULL DEFAULT '',
    last_error_message     TEXT NOT NULL DEFAULT '',
    card_id                TEXT REFERENCES cards (id),
    mandate_id             TEXT NOT NULL DEFAULT '',
    collection_month       TEXT NOT NULL DEFAULT '',
    invoicing_account_id   TEXT NOT NULL DEFAULT '',
    provider_payin_id      TEXT UNIQUE,
    provider_refund_id     TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    collection_id          TEXT,
    request_key            TEXT,
    card_return_url        TEXT NOT NULL DEFAULT ''
);
INSERT INTO payment_intents_v1 (id, order_id, buyer_id, amount, currency, method, status, next_action_url, next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month, invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at, collection_id, request_key, card_return_url) SELECT id, order_id, buyer_id, amount, currency, method, status, next_action_url, next_action_return_url, last_error_code, last_error_message, card_id, mandate_id, collection_month, invoicing_account_id, provider_payin_id, provider_refund_id, created_at, updated_at, collection_id, request_key, card_return_url FROM payment_intents WHERE order_id IS NOT NULL;
DROP TABLE payment_intents;
ALTER TABLE payment_intents_v1 RENAME TO payment_intents;
CREATE INDEX payment_intents_order_idx ON payment_intents (order_id, id);
CREATE INDEX payment_intents_buyer_idx ON payment_intents (buyer_id, id);
CREATE INDEX payment_intents_status_created_idx ON payment_intents (status, created_at);
CREATE UNIQUE INDEX payment_intents_one_open_per_order ON payment_intents (order_id)
    WHERE status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id);
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled' AND collection_id IS NULL;
CREATE UNIQUE INDEX payment_intents_request_key ON payment_intents (request_key)
    WHERE request_key IS NOT NULL AND status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_request_key_idx ON payment_intents (request_key, id) WHERE request_key IS NOT NULL;
