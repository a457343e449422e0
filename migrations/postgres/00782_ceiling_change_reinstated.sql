-- +goose Up
-- A buyer that pays its failed collection by card is reinstated at once: ceiling change reason
-- reinstated.
ALTER TABLE sepa_ceiling_changes DROP CONSTRAINT sepa_ceiling_changes_reason_check;
ALTER TABLE sepa_ceiling_changes ADD CONSTRAINT sepa_ceiling_changes_reason_check
    CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual', 'reinstated'));

-- +goose Down
UPDATE sepa_ceiling_changes SET reason = 'unpaid_reset' WHERE reason = 'reinstated';
ALTER TABLE sepa_ceiling_changes DROP CONSTRAINT sepa_ceiling_changes_reason_check;
ALTER TABLE sepa_ceiling_changes ADD CONSTRAINT sepa_ceiling_changes_reason_check
    CHECK (reason IN ('initial', 'monthly_review', 'unpaid_reset', 'manual'));
