-- +goose Up
-- PostgreSQL's in-place update of an order's status (00821: no index on orders.status, pages
-- with room) has no SQLite counterpart: SQLite rewrites the row's index entries regardless and
-- keeps orders_status_idx for its status filters. This file keeps both dialects at the same
-- version.
SELECT 1;

-- +goose Down
SELECT 1;
