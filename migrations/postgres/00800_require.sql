-- +goose Up
-- vhupay_require(ok, what) fails the statement (SQLSTATE VH001, the message naming what) unless
-- ok is true. A one-trip payment (storage/payments_onetrip.go) makes its writes in one statement
-- and asserts with it that the last took effect: a part that did not fails the statement, and
-- nothing of the payment is written.
-- +goose StatementBegin
CREATE FUNCTION vhupay_require(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'vhupay: % does not hold', what USING ERRCODE = 'VH001';
    END IF;
    RETURN true;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION vhupay_require(boolean, text);
