-- +goose Up
-- The day (Europe/Paris, YYYY-MM-DD) a scheduled reconciliation is the daily run of: one per day,
-- whichever process gets there first.
ALTER TABLE reconciliations ADD COLUMN scheduled_day text;
CREATE UNIQUE INDEX reconciliations_scheduled_day_idx ON reconciliations (scheduled_day);

-- +goose Down
DROP INDEX reconciliations_scheduled_day_idx;
ALTER TABLE reconciliations DROP COLUMN scheduled_day;
