-- +goose Up
-- A month's gate serialises the payments that count in the month with the start of its close.
-- A sepa_debit or vhu_invoice payment reads its month's row inside its own transaction (FOR SHARE
-- on PostgreSQL; SQLite runs one write transaction at a time) and counts in that month only while
-- closed_at is null; the close's start sets closed_at in the transaction that creates the close,
-- which therefore waits for every payment holding the row. A payment that finds the gate closed
-- counts in the next month whose gate is open.
CREATE TABLE month_gates (
    month     TEXT PRIMARY KEY,
    closed_at TIMESTAMP
);

-- The closes that exist already have begun: their months are closed to new payments.
INSERT INTO month_gates (month, closed_at) SELECT month, started_at FROM month_closes;

-- +goose Down
DROP TABLE month_gates;
