-- +goose Up
-- Which collection debits which SEPA intent, instead of payment_intents.collection_id (see the
-- PostgreSQL migration of the same number).
CREATE TABLE sepa_collection_intents (
    collection_id TEXT NOT NULL,
    intent_id     TEXT NOT NULL,
    PRIMARY KEY (collection_id, intent_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX sepa_collection_intents_intent_key ON sepa_collection_intents (intent_id);
INSERT INTO sepa_collection_intents (collection_id, intent_id)
    SELECT collection_id, id FROM payment_intents WHERE collection_id IS NOT NULL;
DROP INDEX payment_intents_to_collect_idx;
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled';
DROP INDEX payment_intents_collection_idx;
ALTER TABLE payment_intents DROP COLUMN collection_id;

-- +goose Down
ALTER TABLE payment_intents ADD COLUMN collection_id TEXT;
UPDATE payment_intents SET collection_id = (SELECT l.collection_id FROM sepa_collection_intents l WHERE l.intent_id = payment_intents.id);
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id);
DROP INDEX payment_intents_to_collect_idx;
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled' AND collection_id IS NULL;
DROP TABLE sepa_collection_intents;
