-- +goose Up
-- An order read (a page of a buyer's orders, one order, a statement's orders) is one statement:
-- the orders, then for each its lines, delivery notes and payment intents (storage/orders_pg.go).
-- A buyer's orders are spread over the whole table (every other buyer's orders were written in
-- between), so each order of a random buyer's page cost a heap page of orders, one of
-- order_lines and one of payment_intents, mostly outside PostgreSQL's buffers at a million
-- orders (issue #15 goal 3: the buyer's page cost PostgreSQL 500 µs, three times an admin's).
-- These indexes carry every column the read takes (orderColumns, the lines' and the intents'
-- branches of completeOrdersSQL), so PostgreSQL answers it from the indexes alone (an index-only
-- scan: the heap is visited only for pages vacuum has not yet marked all-visible). The keys are
-- unchanged, so every other reader of these indexes keeps its plan.
--
-- The widest line entry (a reference of 100 and a label of 500 four-byte characters, the
-- catalogue's limits) is about 2,500 bytes, under B-tree's 2,704 (TestOrderLineAtLimits).
DROP INDEX orders_buyer_idx;
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id)
    INCLUDE (center_id, status, delivery_mode, external_reference, currency,
             total_excl_vat, total_vat, total, amount_refunded, created_at, updated_at);
ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, position)
    INCLUDE (reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total);
DROP INDEX payment_intents_order_idx;
CREATE INDEX payment_intents_order_idx ON payment_intents (order_id, id) INCLUDE (method, status);

-- +goose Down
DROP INDEX payment_intents_order_idx;
CREATE INDEX payment_intents_order_idx ON payment_intents (order_id, id);
ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (order_id, position);
DROP INDEX orders_buyer_idx;
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id);
