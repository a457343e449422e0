-- +goose Up
-- The lines carry their order's buyer and centre, the delivery notes their order's buyer (see the
-- PostgreSQL migration of the same number, whose indexes serve its one-statement order read;
-- SQLite reads a page's lines and notes by order id).
ALTER TABLE order_lines ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE order_lines ADD COLUMN center_id TEXT NOT NULL DEFAULT '';
UPDATE order_lines SET buyer_id = (SELECT o.buyer_id FROM orders o WHERE o.id = order_lines.order_id),
    center_id = (SELECT o.center_id FROM orders o WHERE o.id = order_lines.order_id);
ALTER TABLE delivery_notes ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
UPDATE delivery_notes SET buyer_id = (SELECT o.buyer_id FROM orders o WHERE o.id = delivery_notes.order_id);

-- +goose Down
ALTER TABLE delivery_notes DROP COLUMN buyer_id;
ALTER TABLE order_lines DROP COLUMN center_id;
ALTER TABLE order_lines DROP COLUMN buyer_id;
