-- +goose Up
-- Each buyer's legal user and wallet at the payment provider (created once, lazily).
CREATE TABLE payers (
    buyer_id  text PRIMARY KEY REFERENCES buyers (id),
    user_id   text NOT NULL,
    wallet_id text NOT NULL
);

-- +goose Down
DROP TABLE payers;
