-- +goose Up
-- The companions of every state change, written in the same transaction as the change (the unit
-- of work, internal/txn): events for integrators, the double-entry ledger, the audit trail.

-- Events: data is {"object": <the resource as its GET answers it>}. Ids are time-ordered
-- (keyset pagination newest first); created_at is the injected clock's time of the change.
CREATE TABLE events (
    id         text PRIMARY KEY,
    type       text NOT NULL,
    buyer_id   text,
    center_id  text,
    data       jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX events_buyer_idx ON events (buyer_id, id) WHERE buyer_id IS NOT NULL;
CREATE INDEX events_center_idx ON events (center_id, id) WHERE center_id IS NOT NULL;
CREATE INDEX events_type_idx ON events (type, id);
CREATE INDEX events_created_idx ON events (created_at);

-- The ledger: append-only transactions of two or more postings that sum to zero. An account's
-- balance is the sum of its postings.
CREATE TABLE ledger_transactions (
    id         text PRIMARY KEY,
    kind       text NOT NULL,
    source_id  text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (kind, source_id)
);
CREATE INDEX ledger_transactions_source_idx ON ledger_transactions (source_id);

CREATE TABLE ledger_postings (
    transaction_id text NOT NULL REFERENCES ledger_transactions (id),
    seq            integer NOT NULL,
    account        text NOT NULL,
    amount         bigint NOT NULL CHECK (amount <> 0),
    currency       text NOT NULL DEFAULT 'EUR' CHECK (currency = 'EUR'),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, seq)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account, transaction_id);

-- +goose StatementBegin
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Each transaction sums to zero, checked at commit (after all its postings are in).
-- +goose StatementBegin
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    SELECT sum(amount) INTO total FROM ledger_postings WHERE transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW.transaction_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- The audit trail: who did what to which resource, with the resource before and after.
CREATE TABLE audit_events (
    id               text PRIMARY KEY,
    action           text NOT NULL,
    actor_sub        text NOT NULL,
    actor_role       text NOT NULL,
    actor_org        text NOT NULL DEFAULT '',
    actor_api_key_id text NOT NULL DEFAULT '',
    target_id        text NOT NULL DEFAULT '',
    request_id       text NOT NULL DEFAULT '',
    before           jsonb,
    after            jsonb,
    created_at       timestamptz NOT NULL
);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_sub, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE ledger_postings;
DROP TABLE ledger_transactions;
DROP FUNCTION ledger_check_balanced;
DROP FUNCTION ledger_append_only;
DROP TABLE events;
