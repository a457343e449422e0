-- +goose Up
-- A card intent is written (processing) before the provider is charged. request_key is a
-- fingerprint of the caller's Idempotency-Key (scope and key), so that the same request retried
-- after a crash resumes its intent instead of charging again; card_return_url is the client's
-- return URL, needed when a resumed pay-in asks for 3-D Secure.
ALTER TABLE payment_intents ADD COLUMN request_key text;
ALTER TABLE payment_intents ADD COLUMN card_return_url text NOT NULL DEFAULT '';
-- A request key names one live intent; intents canceled before any charge let the retry pay anew.
CREATE UNIQUE INDEX payment_intents_request_key ON payment_intents (request_key)
    WHERE request_key IS NOT NULL AND status <> 'canceled';

-- Succeeded pay-ins found at the provider that no intent keeps, and their refunds (the sweep).
CREATE TABLE orphan_payin_refunds (
    payin_id   text PRIMARY KEY,
    refund_id  text NOT NULL,
    amount     bigint NOT NULL,
    created_at timestamp NOT NULL
);

-- +goose Down
DROP TABLE orphan_payin_refunds;
DROP INDEX payment_intents_request_key;
ALTER TABLE payment_intents DROP COLUMN card_return_url;
ALTER TABLE payment_intents DROP COLUMN request_key;
