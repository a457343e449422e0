-- +goose Up
-- Card disputes (chargebacks): one row per provider dispute, on a card payment intent. The
-- centre's debit and credit back are ledger transactions (kinds dispute, dispute_won, source the
-- dispute id). provider_action is what vhupay still has to tell the provider after a decision
-- recorded here ('submit' the evidence, 'close' an accepted dispute; 'none' once told).
-- evidence_delivery_note is the number of the order's delivery note (BL/BR) named as evidence.
CREATE TABLE disputes (
    id                     text PRIMARY KEY,
    provider_dispute_id    text NOT NULL UNIQUE,
    payment_intent_id      text NOT NULL REFERENCES payment_intents (id),
    order_id               text NOT NULL REFERENCES orders (id),
    buyer_id               text NOT NULL,
    center_id              text NOT NULL,
    amount                 bigint NOT NULL CHECK (amount > 0),
    currency               text NOT NULL,
    reason                 text NOT NULL,
    status                 text NOT NULL CHECK (status IN ('needs_response', 'under_review', 'won', 'lost')),
    evidence_due_by        timestamptz NOT NULL,
    evidence_delivery_note text,
    evidence_text          text,
    evidence_submitted_at  timestamptz,
    provider_action        text NOT NULL DEFAULT 'none' CHECK (provider_action IN ('none', 'submit', 'close')),
    debited                bigint NOT NULL CHECK (debited >= 0),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    closed_at              timestamptz
);
CREATE INDEX disputes_due_idx ON disputes (status, evidence_due_by);
CREATE INDEX disputes_intent_idx ON disputes (payment_intent_id);
CREATE INDEX disputes_center_idx ON disputes (center_id, id);
CREATE INDEX disputes_buyer_idx ON disputes (buyer_id, id);
CREATE INDEX disputes_action_idx ON disputes (provider_action) WHERE provider_action <> 'none';

-- The sandbox provider's disputes: the dispute test card's pay-ins are disputed a day after they
-- succeed; evidence with a delivery proof wins, anything else loses (SANDBOX.md).
ALTER TABLE sandbox_cards ADD COLUMN disputed boolean NOT NULL DEFAULT false;
CREATE TABLE sandbox_disputes (
    id               text PRIMARY KEY,
    payin_id         text NOT NULL UNIQUE REFERENCES sandbox_payins (id),
    status           text NOT NULL CHECK (status IN ('needs_response', 'under_review', 'closed')),
    outcome          text NOT NULL DEFAULT '',
    reason           text NOT NULL,
    amount           bigint NOT NULL,
    contested        bigint NOT NULL DEFAULT 0,
    delivery_proof   boolean NOT NULL DEFAULT false,
    documents        integer NOT NULL DEFAULT 0,
    contest_deadline timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    submitted_at     timestamptz,
    closed_at        timestamptz
);
CREATE INDEX sandbox_disputes_status_idx ON sandbox_disputes (status, submitted_at);

-- +goose Down
DROP TABLE sandbox_disputes;
ALTER TABLE sandbox_cards DROP COLUMN disputed;
DROP TABLE disputes;
