-- +goose Up
-- Which collection debits which SEPA intent (issue #15 goal 4). The month close used to write
-- payment_intents.collection_id on every intent of the month: a new version of each intent row
-- and an entry in each of its indexes (about 80 µs per payment at a million). A link row costs a
-- narrow tuple and two btree entries. The close locks the intents it links (FOR SHARE) in the
-- statement that links them; a refund of a scheduled payment locks the intent (FOR NO KEY
-- UPDATE) before it checks for a link, so it either lowers the payment before the close reads it
-- or finds it linked (see refunds.Tx.LowerScheduled).
CREATE TABLE sepa_collection_intents (
    collection_id text NOT NULL,
    intent_id     text NOT NULL,
    PRIMARY KEY (collection_id, intent_id)
);
-- An intent is debited by one collection at most.
CREATE UNIQUE INDEX sepa_collection_intents_intent_key ON sepa_collection_intents (intent_id);
INSERT INTO sepa_collection_intents (collection_id, intent_id)
    SELECT collection_id, id FROM payment_intents WHERE collection_id IS NOT NULL;
-- The scheduled SEPA intents of a month (the close reads those without a link).
DROP INDEX payment_intents_to_collect_idx;
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled';
DROP INDEX payment_intents_collection_idx;
ALTER TABLE payment_intents DROP COLUMN collection_id;

-- +goose Down
ALTER TABLE payment_intents ADD COLUMN collection_id text;
UPDATE payment_intents i SET collection_id = l.collection_id FROM sepa_collection_intents l WHERE l.intent_id = i.id;
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id) WHERE collection_id IS NOT NULL;
DROP INDEX payment_intents_to_collect_idx;
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled' AND collection_id IS NULL;
DROP TABLE sepa_collection_intents;
