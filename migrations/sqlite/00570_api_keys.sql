-- +goose Up
-- API keys: a partner's or a centre's long-lived bearer secret (vhp_sk_...). Only the SHA-256 of
-- the secret is kept (secret_hash, looked up on every request that presents a key) and its last
-- four characters. org is the centre of a center key, '' for a service key. last_used_at is
-- written at most once a minute per key.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('service', 'center')),
    org          text NOT NULL DEFAULT '',
    secret_hash  text NOT NULL UNIQUE,
    last4        text NOT NULL,
    created_by   text NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_org_idx ON api_keys (org, id);
-- The audit trail's list filters by actor (sub or API key) newest first.
CREATE INDEX audit_events_api_key_idx ON audit_events (actor_api_key_id, id) WHERE actor_api_key_id <> '';

-- +goose Down
DROP INDEX audit_events_api_key_idx;
DROP TABLE api_keys;
