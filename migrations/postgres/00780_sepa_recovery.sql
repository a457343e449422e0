-- +goose Up
-- SEPA recovery (DOMAIN-2.md): each collection is pre-notified before its submission (due date,
-- mandate reference, creditor identifier); a collection that fails for insufficient funds is
-- presented once more (status retrying until retry_at, attempts counts the submissions); a failed
-- collection may be paid by card (status recovered, recovered_by the card intent).
ALTER TABLE sepa_collections DROP CONSTRAINT sepa_collections_status_check;
ALTER TABLE sepa_collections ADD CONSTRAINT sepa_collections_status_check
    CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed', 'retrying', 'recovered'));
ALTER TABLE sepa_collections ADD COLUMN due_date text;
ALTER TABLE sepa_collections ADD COLUMN prenotified_at timestamptz;
ALTER TABLE sepa_collections ADD COLUMN mandate_reference text NOT NULL DEFAULT '';
ALTER TABLE sepa_collections ADD COLUMN creditor_id text NOT NULL DEFAULT '';
ALTER TABLE sepa_collections ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE sepa_collections ADD COLUMN retry_at timestamptz;
ALTER TABLE sepa_collections ADD COLUMN first_payin_id text NOT NULL DEFAULT '';
ALTER TABLE sepa_collections ADD COLUMN recovered_by text NOT NULL DEFAULT '';
-- Submitted collections before this migration were submitted once.
UPDATE sepa_collections SET attempts = 1 WHERE provider_payin_id IS NOT NULL;
-- The collections a buyer still waits on (its SEPA is disabled meanwhile), and those due for
-- their re-presentation.
CREATE INDEX sepa_collections_retrying_idx ON sepa_collections (retry_at, id) WHERE status = 'retrying';
CREATE INDEX sepa_collections_buyer_retrying_idx ON sepa_collections (buyer_id) WHERE status = 'retrying';
-- The month close pre-notifies its pending collections in id order.
CREATE INDEX sepa_collections_to_prenotify_idx ON sepa_collections (month, id) WHERE status = 'pending' AND prenotified_at IS NULL;

-- The sandbox's re-presentation IBAN: its first debit fails for insufficient funds, the next
-- debit of the same collection (the pay-in's tag) succeeds.
ALTER TABLE sandbox_bank_accounts ADD COLUMN fails_once boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE sandbox_bank_accounts DROP COLUMN fails_once;
DROP INDEX sepa_collections_to_prenotify_idx;
DROP INDEX sepa_collections_buyer_retrying_idx;
DROP INDEX sepa_collections_retrying_idx;
ALTER TABLE sepa_collections DROP COLUMN recovered_by;
ALTER TABLE sepa_collections DROP COLUMN first_payin_id;
ALTER TABLE sepa_collections DROP COLUMN retry_at;
ALTER TABLE sepa_collections DROP COLUMN attempts;
ALTER TABLE sepa_collections DROP COLUMN creditor_id;
ALTER TABLE sepa_collections DROP COLUMN mandate_reference;
ALTER TABLE sepa_collections DROP COLUMN prenotified_at;
ALTER TABLE sepa_collections DROP COLUMN due_date;
ALTER TABLE sepa_collections DROP CONSTRAINT sepa_collections_status_check;
ALTER TABLE sepa_collections ADD CONSTRAINT sepa_collections_status_check
    CHECK (status IN ('pending', 'submitted', 'succeeded', 'failed'));
