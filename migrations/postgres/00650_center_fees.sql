-- +goose Up
-- The platform's fee on a centre's earnings, in basis points of each payment (fixed when the
-- payment is earned). New centres take VHUPAY_PLATFORM_FEE_BPS.
ALTER TABLE centers ADD COLUMN fee_rate_bps integer NOT NULL DEFAULT 0
    CHECK (fee_rate_bps BETWEEN 0 AND 10000);

-- +goose Down
ALTER TABLE centers DROP COLUMN fee_rate_bps;
