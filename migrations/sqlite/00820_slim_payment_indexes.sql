-- +goose Up
-- PostgreSQL's changes to payment_intents' indexes (00820: two partial indexes and the drop of
-- (status, created_at), fewer index entries per one-trip SEPA payment) have no SQLite
-- counterpart: SQLite keeps the general path, and its collection reads name
-- payment_intents_collection_idx (INDEXED BY). This file keeps both dialects at the same version.
SELECT 1;

-- +goose Down
SELECT 1;
