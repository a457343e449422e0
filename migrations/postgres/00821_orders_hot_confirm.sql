-- +goose Up
-- An order's confirm (and cancel, refund) changes status and updated_at only. With no index on
-- either column and room left in its page, PostgreSQL updates the row in place (a HOT update):
-- no new entry in the order's three other indexes, where the one-trip payment's write paid four
-- (issue #15 goal 2). orders_status_idx (status, id) was the only index on them; the lists read
-- orders by buyer (orders_buyer_idx), centre (orders_center_idx) or id (orders_pkey), newest
-- first, and filter the status on the rows they read: a filter on a rare status over all orders
-- or a centre's reads more rows than before (docs/benchmarks.md gives the plans). fillfactor 90
-- leaves a tenth of each page of new orders free for their one update.
DROP INDEX orders_status_idx;
ALTER TABLE orders SET (fillfactor = 90);

-- +goose Down
ALTER TABLE orders RESET (fillfactor);
CREATE INDEX orders_status_idx ON orders (status, id);
