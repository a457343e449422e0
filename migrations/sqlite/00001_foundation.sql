-- +goose Up
CREATE TABLE buyers (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    siren         text NOT NULL UNIQUE,
    email         text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text NOT NULL DEFAULT '',
    postal_code   text NOT NULL,
    city          text NOT NULL,
    country       text NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE centers (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    siret         text NOT NULL UNIQUE,
    email         text NOT NULL,
    address_line1 text NOT NULL,
    address_line2 text NOT NULL DEFAULT '',
    postal_code   text NOT NULL,
    city          text NOT NULL,
    country       text NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- One row per (caller, Idempotency-Key): the request's fingerprint while it runs, then its answer.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    state         text NOT NULL CHECK (state IN ('running', 'done')),
    status        integer NOT NULL DEFAULT 0,
    content_type  text NOT NULL DEFAULT '',
    location      text NOT NULL DEFAULT '',
    body          BLOB,
    created_at    TIMESTAMP NOT NULL,
    locked_until  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- The sandbox test clock, shared by every vhupay process on this database.
CREATE TABLE sandbox_clock (
    id        integer PRIMARY KEY CHECK (id = 1),
    offset_ns bigint NOT NULL
);

-- +goose Down
DROP TABLE sandbox_clock;
DROP TABLE idempotency_keys;
DROP TABLE centers;
DROP TABLE buyers;
