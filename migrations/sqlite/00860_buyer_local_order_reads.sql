-- +goose Up
-- The lines and the delivery notes carry their order's buyer (see the PostgreSQL migration of the
-- same number, whose indexes serve its one-statement order read; SQLite reads a page's lines and
-- notes by order id).
ALTER TABLE order_lines ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
UPDATE order_lines SET buyer_id = (SELECT o.buyer_id FROM orders o WHERE o.id = order_lines.order_id);
ALTER TABLE delivery_notes ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
UPDATE delivery_notes SET buyer_id = (SELECT o.buyer_id FROM orders o WHERE o.id = delivery_notes.order_id);

-- +goose Down
ALTER TABLE delivery_notes DROP COLUMN buyer_id;
ALTER TABLE order_lines DROP COLUMN buyer_id;
