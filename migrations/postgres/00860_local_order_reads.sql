-- +goose Up
-- A page of orders (GET /v1/orders) read each order's lines, delivery notes and payment intents
-- with one B-tree descent per order into order_lines_pkey, delivery_notes_order_idx and
-- payment_intents_order_idx, whose keys start with the order's id. A buyer's or a centre's newest
-- orders are spread over those indexes (every other party's orders were written in between), so
-- a buyer's page of 21 orders touched about 150 index pages, mostly cold ones (issue #15 goal 3:
-- p99 12.7–14.6 ms at a million orders, against 9–10 ms for the admin's page).
--
-- The lines carry their order's buyer and centre, the delivery notes their order's buyer (they
-- had its centre already), and these indexes keep a party's rows together, sorted by order:
--   order_lines_buyer_idx, delivery_notes_buyer_idx, payment_intents_buyer_order_idx (a buyer's);
--   order_lines_center_idx, delivery_notes_center_idx (a centre's; its intents are still looked
--   up one order at a time: an intent's index entry more on the payment's hot path was not worth
--   it).
-- A page reads them with one range scan each, between the page's lowest and highest order id
-- (storage/orders_pg.go, rangeBranches). They carry every column the read takes, so the scans
-- are index-only. A line's buyer and centre are its order's (written with the order in
-- CreateOrder; an order's parties never change), a note's buyer too (copied from the order by
-- the note's INSERT; its centre is the order's, checked by invoicing.Service), as an order
-- intent's buyer is its order's (payments.Service takes it from the order).
--
-- delivery_notes_order_idx carries the note's kind and number, and orders_center_idx the order
-- read's columns (as orders_buyer_idx since 00850), so that those reads come from the index alone.
--
-- The widest line entry (a reference of 100 and a label of 500 four-byte characters) is about
-- 2,550 bytes with a party's id, under B-tree's 2,704 (TestOrderLineAtLimits).
ALTER TABLE order_lines ADD COLUMN buyer_id TEXT, ADD COLUMN center_id TEXT;
UPDATE order_lines l SET buyer_id = o.buyer_id, center_id = o.center_id FROM orders o WHERE o.id = l.order_id;
ALTER TABLE order_lines ALTER COLUMN buyer_id SET NOT NULL, ALTER COLUMN center_id SET NOT NULL;
CREATE INDEX order_lines_buyer_idx ON order_lines (buyer_id, order_id, position)
    INCLUDE (reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total);
CREATE INDEX order_lines_center_idx ON order_lines (center_id, order_id, position)
    INCLUDE (reference, label, quantity, unit_price_excl_vat, vat_rate, total_excl_vat, total_vat, total);
CREATE INDEX payment_intents_buyer_order_idx ON payment_intents (buyer_id, order_id) INCLUDE (id, method, status)
    WHERE order_id IS NOT NULL;
ALTER TABLE delivery_notes ADD COLUMN buyer_id TEXT;
UPDATE delivery_notes n SET buyer_id = o.buyer_id FROM orders o WHERE o.id = n.order_id;
ALTER TABLE delivery_notes ALTER COLUMN buyer_id SET NOT NULL;
CREATE INDEX delivery_notes_buyer_idx ON delivery_notes (buyer_id, order_id) INCLUDE (kind, number, created_at);
CREATE INDEX delivery_notes_center_idx ON delivery_notes (center_id, order_id) INCLUDE (kind, number, created_at);
DROP INDEX delivery_notes_order_idx;
CREATE INDEX delivery_notes_order_idx ON delivery_notes (order_id, created_at) INCLUDE (kind, number);
DROP INDEX orders_center_idx;
CREATE INDEX orders_center_idx ON orders (center_id, id)
    INCLUDE (buyer_id, status, delivery_mode, external_reference, currency,
             total_excl_vat, total_vat, total, amount_refunded, created_at, updated_at);

-- +goose Down
DROP INDEX delivery_notes_order_idx;
CREATE INDEX delivery_notes_order_idx ON delivery_notes (order_id, created_at);
DROP INDEX delivery_notes_center_idx;
DROP INDEX delivery_notes_buyer_idx;
ALTER TABLE delivery_notes DROP COLUMN buyer_id;
DROP INDEX orders_center_idx;
CREATE INDEX orders_center_idx ON orders (center_id, id);
DROP INDEX payment_intents_buyer_order_idx;
DROP INDEX order_lines_center_idx;
DROP INDEX order_lines_buyer_idx;
ALTER TABLE order_lines DROP COLUMN center_id, DROP COLUMN buyer_id;
