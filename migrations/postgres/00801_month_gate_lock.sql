-- +goose Up
-- vhupay_month_open(month) holds a month's gate open for the rest of the transaction with a
-- shared advisory lock (memory only: no row lock, hence no MultiXact when many payments hold
-- it at once), then reads whether the gate is open. The function is VOLATILE, so that its read
-- takes a snapshot after the lock was granted: a close that began (closed_at set, under the
-- exclusive lock that shutGate takes) while the caller waited is seen. A month without a gate
-- row is not open here (the general path creates the row).
-- +goose StatementBegin
CREATE FUNCTION vhupay_month_open(p_month text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('vhupay.month_gate:' || p_month, 0));
    RETURN COALESCE((SELECT closed_at IS NULL FROM month_gates WHERE month = p_month), false);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION vhupay_month_open(text);
