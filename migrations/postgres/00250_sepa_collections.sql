-- +goose Up
-- SEPA collections: at each month close, one direct debit per buyer for the total of its SEPA
-- payments of the month; the unpaid debits (collections that failed, before or after a success);
-- and the marker of each buyer's monthly ceiling review.

-- One collection per (buyer, month). amount is the sum of the intents linked to it
-- (payment_intents.collection_id); mandate_id is the vhupay mandate it was submitted on and
-- provider_payin_id the provider's direct-debit pay-in, both set at submission.
CREATE TABLE sepa_collections (
    id                text PRIMARY KEY,
    buyer_id          text NOT NULL REFERENCES buyers (id),
    month             text NOT NULL,
    amount            bigint NOT NULL CHECK (amount >= 0),
    currency          text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed')),
    failure_code      text NOT NULL DEFAULT '',
    mandate_id        text NOT NULL DEFAULT '',
    provider_payin_id text UNIQUE,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    submitted_at      timestamptz,
    settled_at        timestamptz,
    -- the last time the safety net read the pay-in from the provider
    polled_at         timestamptz,
    UNIQUE (buyer_id, month),
    CHECK (status = 'pending' OR status = 'failed' OR provider_payin_id IS NOT NULL)
);
CREATE INDEX sepa_collections_buyer_idx ON sepa_collections (buyer_id, id);
CREATE INDEX sepa_collections_month_idx ON sepa_collections (month, status, id);
CREATE INDEX sepa_collections_submitted_idx ON sepa_collections (status, submitted_at);

-- The collection that debits a SEPA intent (NULL until its month is collected). No foreign key,
-- so that the column stays droppable on SQLite; the index serves the set-based updates.
ALTER TABLE payment_intents ADD COLUMN collection_id text;
CREATE INDEX payment_intents_collection_idx ON payment_intents (collection_id);
-- The scheduled SEPA intents waiting for their month's collection.
CREATE INDEX payment_intents_to_collect_idx ON payment_intents (collection_month, buyer_id)
    WHERE method = 'sepa_debit' AND status = 'scheduled' AND collection_id IS NULL;

-- One unpaid debit per failed collection. after_success: the debit failed after it had
-- succeeded (a late failure or a repudiation); reference is the provider's repudiation id.
CREATE TABLE sepa_unpaid_debits (
    collection_id text PRIMARY KEY REFERENCES sepa_collections (id),
    buyer_id      text NOT NULL REFERENCES buyers (id),
    amount        bigint NOT NULL,
    failure_code  text NOT NULL,
    after_success boolean NOT NULL,
    reference     text NOT NULL DEFAULT '',
    occurred_at   timestamptz NOT NULL
);
CREATE INDEX sepa_unpaid_debits_buyer_idx ON sepa_unpaid_debits (buyer_id, occurred_at);

-- One ceiling review per buyer and closed month (the month close's marker): written in the
-- transaction that raises the ceiling, so that a resumed close never reviews a buyer twice.
CREATE TABLE sepa_ceiling_reviews (
    buyer_id    text NOT NULL REFERENCES buyers (id),
    month       text NOT NULL,
    from_amount bigint NOT NULL,
    to_amount   bigint NOT NULL,
    reviewed_at timestamptz NOT NULL,
    PRIMARY KEY (buyer_id, month)
);
CREATE INDEX sepa_ceiling_reviews_month_idx ON sepa_ceiling_reviews (month, buyer_id);

-- +goose Down
DROP TABLE sepa_ceiling_reviews;
DROP TABLE sepa_unpaid_debits;
DROP INDEX payment_intents_to_collect_idx;
DROP INDEX payment_intents_collection_idx;
ALTER TABLE payment_intents DROP COLUMN collection_id;
DROP TABLE sepa_collections;
