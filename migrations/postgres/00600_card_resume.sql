-- +goose Up
-- A card intent is written (processing) before the provider is charged. request_key is a
-- fingerprint of the caller's Idempotency-Key (scope and key), so that the same request retried
-- after a crash resumes its intent instead of charging again; card_return_url is the client's
-- return URL, needed when a resumed pay-in asks for 3-D Secure.
ALTER TABLE payment_intents ADD COLUMN request_key text;
ALTER TABLE payment_intents ADD COLUMN card_return_url text NOT NULL DEFAULT '';
-- A request key names at most one open intent (the idempotency lock already serialises the
-- requests of one key; this is the database's guard).
CREATE UNIQUE INDEX payment_intents_request_key ON payment_intents (request_key)
    WHERE request_key IS NOT NULL AND status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_request_key_idx ON payment_intents (request_key, id) WHERE request_key IS NOT NULL;

-- The provider's succeeded pay-ins the sweep settled for good, so that it reads each one once:
-- outcome 'not_card' (a direct debit: the collections' own) or 'orphan_refunded' (a card pay-in
-- no intent keeps, refunded by refund_id).
CREATE TABLE swept_payins (
    payin_id   text PRIMARY KEY,
    outcome    text NOT NULL CHECK (outcome IN ('not_card', 'orphan_refunded')),
    refund_id  text NOT NULL DEFAULT '',
    amount     bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE swept_payins;
DROP INDEX payment_intents_request_key_idx;
DROP INDEX payment_intents_request_key;
ALTER TABLE payment_intents DROP COLUMN card_return_url;
ALTER TABLE payment_intents DROP COLUMN request_key;
