-- +goose Up
-- Recovery by card (DOMAIN-2.md): a buyer pays a failed SEPA collection by card. Such a payment
-- intent pays no order (order_id NULL) but the collection it recovers (recovers_collection_id;
-- the API keeps exactly one of the two set).
--
-- SQLite cannot drop a NOT NULL constraint with ALTER TABLE. Rebuilding payment_intents would
-- drop the columns and break the foreign keys other migrations add to it, so this uses SQLite's
-- documented procedure for removing a NOT NULL constraint: the table's stored definition is
-- edited (writable_schema; RESET reloads this connection's schema), then a DDL statement (the
-- index below) bumps the schema cookie so that every other connection reloads it too.
ALTER TABLE payment_intents ADD COLUMN recovers_collection_id TEXT;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'order_id               TEXT NOT NULL REFERENCES orders (id)',
    'order_id               TEXT REFERENCES orders (id)')
WHERE type = 'table' AND name = 'payment_intents';
PRAGMA writable_schema = RESET;
CREATE INDEX payment_intents_recovers_idx ON payment_intents (recovers_collection_id, id) WHERE recovers_collection_id IS NOT NULL;

-- +goose Down
DROP INDEX payment_intents_recovers_idx;
DELETE FROM payment_intents WHERE order_id IS NULL;
ALTER TABLE payment_intents DROP COLUMN recovers_collection_id;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'order_id               TEXT REFERENCES orders (id)',
    'order_id               TEXT NOT NULL REFERENCES orders (id)')
WHERE type = 'table' AND name = 'payment_intents';
PRAGMA writable_schema = RESET;
CREATE INDEX payment_intents_recovers_down_idx ON payment_intents (id);
DROP INDEX payment_intents_recovers_down_idx;
