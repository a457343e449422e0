-- +goose Up
-- End-of-month invoicing by the selling centre: the invoicing accounts buyers ask centres for, and
-- the monthly statements (one per buyer, centre and Europe/Paris month) listing the orders paid by
-- vhu_invoice. Delivery notes live in delivery_notes (migration 00100).

CREATE TABLE invoicing_accounts (
    id         text PRIMARY KEY,
    buyer_id   text NOT NULL REFERENCES buyers (id),
    center_id  text NOT NULL REFERENCES centers (id),
    status     text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    decided_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE INDEX invoicing_accounts_buyer_idx ON invoicing_accounts (buyer_id, id);
CREATE INDEX invoicing_accounts_center_idx ON invoicing_accounts (center_id, id);
-- At most one live (pending or approved) account per buyer and centre.
CREATE UNIQUE INDEX invoicing_accounts_one_live ON invoicing_accounts (buyer_id, center_id)
    WHERE status IN ('pending', 'approved');

-- Totals are kept up to date as payments are accepted (only while the statement is open), so that
-- they are frozen once it is issued.
CREATE TABLE statements (
    id                   text PRIMARY KEY,
    invoicing_account_id text NOT NULL REFERENCES invoicing_accounts (id),
    buyer_id             text NOT NULL REFERENCES buyers (id),
    center_id            text NOT NULL REFERENCES centers (id),
    month                text NOT NULL,
    status               text NOT NULL CHECK (status IN ('open', 'issued', 'paid')),
    total_excl_vat       bigint NOT NULL DEFAULT 0,
    total_vat            bigint NOT NULL DEFAULT 0,
    total                bigint NOT NULL DEFAULT 0,
    currency             text NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    issued_at            timestamptz,
    paid_at              timestamptz,
    UNIQUE (buyer_id, center_id, month)
);
CREATE INDEX statements_month_status_idx ON statements (month, status);
CREATE INDEX statements_buyer_idx ON statements (buyer_id, id);
CREATE INDEX statements_center_idx ON statements (center_id, id);

-- The orders of a statement, with the vhu_invoice intent that put each there (written in the
-- transaction that inserts the intent, hence no foreign key to payment_intents).
CREATE TABLE statement_orders (
    statement_id text NOT NULL REFERENCES statements (id),
    order_id     text NOT NULL UNIQUE REFERENCES orders (id),
    intent_id    text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (statement_id, order_id)
);

-- +goose Down
DROP TABLE statement_orders;
DROP TABLE statements;
DROP TABLE invoicing_accounts;
