-- +goose Up
-- A new SEPA intent leaves collection_id and provider_payin_id NULL and is scheduled: its
-- entries in these three indexes served no query, and each cost the one-trip payment's write
-- (issue #15 goal 2). Every query on these columns compares them with a value, which
-- implies IS NOT NULL (PostgreSQL proves it, generic plans included), so the partial indexes
-- serve the same reads; no ON CONFLICT targets provider_payin_id.
--
-- The collection's intents (month close, settlement, earnings, refunds): collection_id = ...
DROP INDEX payment_intents_collection_idx;
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id) WHERE collection_id IS NOT NULL;
-- The intent of a provider's pay-in (webhooks, sweep): still unique, NULLs were never compared.
ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_provider_payin_id_key;
CREATE UNIQUE INDEX payment_intents_provider_payin_id_key ON payment_intents (provider_payin_id)
    WHERE provider_payin_id IS NOT NULL;
-- (status, created_at) served the expiry of requires_action intents and the sweep of processing
-- card intents never sent: both read open intents only, which payment_intents_one_open_per_order
-- (order_id) WHERE status IN ('requires_action', 'processing') holds, and their statements write
-- the status as a literal so that every plan of them, generic ones included, may read it. Open
-- intents are few (requires_action expire, processing ones are sent or swept): reading them all
-- costs less than an entry per intent ever written.
DROP INDEX payment_intents_status_created_idx;

-- +goose Down
CREATE INDEX payment_intents_status_created_idx ON payment_intents (status, created_at);
DROP INDEX payment_intents_provider_payin_id_key;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_provider_payin_id_key UNIQUE (provider_payin_id);
DROP INDEX payment_intents_collection_idx;
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id);
