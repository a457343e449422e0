-- +goose Up
-- The budget of calls to a payment provider shared by every process (internal/psp/pacing): a
-- virtual scheduler. next_slot_us (Unix microseconds, real time) is the moment the budget's next
-- call may go out when no burst is left; each call takes its slot with one conditional upsert.
CREATE TABLE provider_budgets (
    name         TEXT PRIMARY KEY,
    next_slot_us INTEGER NOT NULL
);

-- A running step's progress, for operators: done of total items (0 of 0 until it reports).
ALTER TABLE month_close_steps ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE month_close_steps ADD COLUMN total INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE month_close_steps DROP COLUMN total;
ALTER TABLE month_close_steps DROP COLUMN done;
DROP TABLE provider_budgets;
