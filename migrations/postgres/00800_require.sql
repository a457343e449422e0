-- +goose Up
-- vhupay_require(ok, what) fails the statement (SQLSTATE VH001, the message naming what) unless
-- ok is true. A one-trip payment (storage/payments_onetrip.go) sends its writes in one pipeline,
-- one implicit transaction: each conditional write asserts that it took effect with it, so that
-- one that did not rolls the whole payment back.
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
