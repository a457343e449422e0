-- +goose Up
-- Refunds of payments (card, sepa_debit, vhu_invoice). amount_refunded on an intent is what its
-- live refunds (pending or succeeded) hold: a conditional update keeps it within the intent's
-- amount, so that concurrent refunds of one payment never exceed it. An order's amount_refunded
-- is its paying intent's; the order is refunded once its refunds succeeded for the whole amount.
ALTER TABLE payment_intents ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_amount_refunded_check
    CHECK (amount_refunded >= 0 AND amount_refunded <= amount);
ALTER TABLE orders ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('payment_pending', 'confirmed', 'cancelled', 'refunded'));

-- stage is how far the refund went at the provider (card and collected SEPA): recorded (nothing
-- asked yet), awaiting_collection (a SEPA payment whose collection was created before the refund:
-- refunded once collected), transfer_refunded (the centre's transfer given back), done.
-- posted: its ledger transaction is written. not_before: the provider is not asked earlier (a
-- direct debit is refundable from the 8th day; the same amount twice a day is refused).
CREATE TABLE refunds (
    id                          text PRIMARY KEY,
    payment_intent_id           text NOT NULL REFERENCES payment_intents (id),
    order_id                    text NOT NULL,
    buyer_id                    text NOT NULL,
    center_id                   text NOT NULL,
    method                      text NOT NULL,
    amount                      bigint NOT NULL CHECK (amount > 0),
    fee                         bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
    currency                    text NOT NULL,
    reason                      text NOT NULL,
    note                        text NOT NULL DEFAULT '',
    status                      text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    failure_code                text NOT NULL DEFAULT '',
    stage                       text NOT NULL DEFAULT 'recorded',
    posted                      boolean NOT NULL DEFAULT false,
    attempts                    integer NOT NULL DEFAULT 0,
    provider_transfer_refund_id text NOT NULL DEFAULT '',
    provider_refund_id          text NOT NULL DEFAULT '',
    statement_id                text NOT NULL DEFAULT '',
    not_before                  timestamptz NOT NULL,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL
);
CREATE INDEX refunds_intent_idx ON refunds (payment_intent_id, id);
CREATE INDEX refunds_buyer_idx ON refunds (buyer_id, id);
CREATE INDEX refunds_center_idx ON refunds (center_id, id);
CREATE INDEX refunds_pending_idx ON refunds (status, not_before);

-- The credit lines of statements: one per vhu_invoice refund, on the statement of the refund's
-- month; amounts are negative; vat_lines is the JSON [{rate, base, vat}] of its VAT breakdown.
CREATE TABLE statement_credits (
    refund_id      text PRIMARY KEY,
    statement_id   text NOT NULL REFERENCES statements (id),
    order_id       text NOT NULL,
    total_excl_vat bigint NOT NULL,
    total_vat      bigint NOT NULL,
    total          bigint NOT NULL,
    vat_lines      text NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX statement_credits_statement_idx ON statement_credits (statement_id);

-- The sandbox provider's refunds of transfers.
ALTER TABLE sandbox_transfers ADD COLUMN refunded bigint NOT NULL DEFAULT 0;
ALTER TABLE sandbox_transfers ADD COLUMN refunded_fees bigint NOT NULL DEFAULT 0;
CREATE TABLE sandbox_transfer_refunds (
    id             text PRIMARY KEY,
    transfer_id    text NOT NULL REFERENCES sandbox_transfers (id),
    author_id      text NOT NULL,
    status         text NOT NULL CHECK (status IN ('created', 'succeeded', 'failed')),
    amount         bigint NOT NULL,
    fees           bigint NOT NULL,
    result_code    text NOT NULL DEFAULT '',
    result_message text NOT NULL DEFAULT '',
    tag            text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sandbox_transfer_refunds;
ALTER TABLE sandbox_transfers DROP COLUMN refunded_fees;
ALTER TABLE sandbox_transfers DROP COLUMN refunded;
DROP TABLE statement_credits;
DROP TABLE refunds;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('payment_pending', 'confirmed', 'cancelled'));
ALTER TABLE orders DROP COLUMN amount_refunded;
ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_amount_refunded_check;
ALTER TABLE payment_intents DROP COLUMN amount_refunded;
