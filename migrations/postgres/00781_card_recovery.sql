-- +goose Up
-- Recovery by card (DOMAIN-2.md): a buyer pays a failed SEPA collection by card. Such a payment
-- intent pays no order (order_id NULL) but the collection it recovers.
ALTER TABLE payment_intents ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE payment_intents ADD COLUMN recovers_collection_id text;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_pays_something
    CHECK ((order_id IS NULL) <> (recovers_collection_id IS NULL));
CREATE INDEX payment_intents_recovers_idx ON payment_intents (recovers_collection_id, id) WHERE recovers_collection_id IS NOT NULL;

-- +goose Down
DROP INDEX payment_intents_recovers_idx;
ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_pays_something;
DELETE FROM payment_intents WHERE order_id IS NULL;
ALTER TABLE payment_intents DROP COLUMN recovers_collection_id;
ALTER TABLE payment_intents ALTER COLUMN order_id SET NOT NULL;
