-- +goose Up
-- PostgreSQL's vhupay_month_open (the one-trip payment's hold on a month's gate) has no SQLite
-- counterpart: SQLite runs one write transaction at a time. This file keeps both dialects at the
-- same version.
SELECT 1;

-- +goose Down
SELECT 1;
