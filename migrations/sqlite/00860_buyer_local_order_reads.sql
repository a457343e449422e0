-- +goose Up
-- The lines carry their order's buyer (see the PostgreSQL migration of the same number, whose
-- indexes serve its one-statement order read; SQLite reads a page's lines by order id).
ALTER TABLE order_lines ADD COLUMN buyer_id TEXT NOT NULL DEFAULT '';
UPDATE order_lines SET buyer_id = (SELECT o.buyer_id FROM orders o WHERE o.id = order_lines.order_id);

-- +goose Down
ALTER TABLE order_lines DROP COLUMN buyer_id;
