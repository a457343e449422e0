-- +goose Up
-- PostgreSQL's vhupay_require (the one-trip payment's assertions) has no SQLite counterpart:
-- SQLite keeps the general path. This file keeps both dialects at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
