-- +goose Up
-- Orders: a buyer's order of parts from one centre. Lines are kept in their own table, in order.
CREATE TABLE orders (
    id                 text PRIMARY KEY,
    buyer_id           text NOT NULL REFERENCES buyers (id),
    center_id          text NOT NULL REFERENCES centers (id),
    status             text NOT NULL CHECK (status IN ('payment_pending', 'confirmed', 'cancelled')),
    delivery_mode      text NOT NULL CHECK (delivery_mode IN ('delivery', 'pickup')),
    external_reference text NOT NULL DEFAULT '',
    total_excl_vat     bigint NOT NULL,
    total_vat          bigint NOT NULL,
    total              bigint NOT NULL,
    currency           text NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX orders_buyer_idx ON orders (buyer_id, id);
CREATE INDEX orders_center_idx ON orders (center_id, id);
CREATE INDEX orders_status_idx ON orders (status, id);

CREATE TABLE order_lines (
    order_id            text NOT NULL REFERENCES orders (id),
    position            integer NOT NULL,
    reference           text NOT NULL,
    label               text NOT NULL,
    quantity            integer NOT NULL,
    unit_price_excl_vat bigint NOT NULL,
    vat_rate            integer NOT NULL,
    total_excl_vat      bigint NOT NULL,
    total_vat           bigint NOT NULL,
    total               bigint NOT NULL,
    PRIMARY KEY (order_id, position)
);

-- BL/BR numbers attached by the selling centre (written by the invoicing capability). A number is
-- used once per centre.
CREATE TABLE delivery_notes (
    order_id   text NOT NULL REFERENCES orders (id),
    center_id  text NOT NULL REFERENCES centers (id),
    kind       text NOT NULL CHECK (kind IN ('BL', 'BR')),
    number     text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (center_id, number)
);
CREATE INDEX delivery_notes_order_idx ON delivery_notes (order_id, created_at);

-- Cards registered at the provider: vhupay ids mapped to the provider's. Never a card number.
CREATE TABLE cards (
    id          text PRIMARY KEY,
    buyer_id    text NOT NULL REFERENCES buyers (id),
    provider_id text NOT NULL UNIQUE,
    alias       text NOT NULL,
    expiration  text NOT NULL,
    brand       text NOT NULL,
    status      text NOT NULL CHECK (status IN ('active', 'blocked', 'inactive')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX cards_buyer_idx ON cards (buyer_id, id);

CREATE TABLE card_registrations (
    id          text PRIMARY KEY,
    buyer_id    text NOT NULL REFERENCES buyers (id),
    provider_id text NOT NULL UNIQUE,
    status      text NOT NULL CHECK (status IN ('created', 'validated', 'error')),
    card_id     text REFERENCES cards (id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Payment intents. mandate_id, collection_month and invoicing_account_id belong to the SEPA and
-- invoicing capabilities (no foreign key here: their tables come later).
CREATE TABLE payment_intents (
    id                     text PRIMARY KEY,
    order_id               text NOT NULL REFERENCES orders (id),
    buyer_id               text NOT NULL REFERENCES buyers (id),
    amount                 bigint NOT NULL,
    currency               text NOT NULL,
    method                 text NOT NULL CHECK (method IN ('card', 'sepa_debit', 'vhu_invoice')),
    status                 text NOT NULL CHECK (status IN ('requires_action', 'processing', 'scheduled', 'succeeded', 'failed', 'canceled')),
    next_action_url        text NOT NULL DEFAULT '',
    next_action_return_url text NOT NULL DEFAULT '',
    last_error_code        text NOT NULL DEFAULT '',
    last_error_message     text NOT NULL DEFAULT '',
    card_id                text REFERENCES cards (id),
    mandate_id             text NOT NULL DEFAULT '',
    collection_month       text NOT NULL DEFAULT '',
    invoicing_account_id   text NOT NULL DEFAULT '',
    provider_payin_id      text UNIQUE,
    provider_refund_id     text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX payment_intents_order_idx ON payment_intents (order_id, id);
CREATE INDEX payment_intents_buyer_idx ON payment_intents (buyer_id, id);
CREATE INDEX payment_intents_status_created_idx ON payment_intents (status, created_at);
-- At most one open intent per order.
CREATE UNIQUE INDEX payment_intents_one_open_per_order ON payment_intents (order_id)
    WHERE status IN ('requires_action', 'processing');

-- +goose Down
DROP TABLE payment_intents;
DROP TABLE card_registrations;
DROP TABLE cards;
DROP TABLE delivery_notes;
DROP TABLE order_lines;
DROP TABLE orders;
