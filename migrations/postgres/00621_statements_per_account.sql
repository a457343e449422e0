-- +goose Up
-- One statement per invoicing account and month (was: per buyer, centre and month). A pair has one
-- statement a month, except when its account is revoked and a new one approved in the same month:
-- the revoked account's statement keeps the payments it accepted, and the payments the new account
-- accepts go on the new account's statement.
ALTER TABLE statements DROP CONSTRAINT statements_buyer_id_center_id_month_key;
ALTER TABLE statements ADD CONSTRAINT statements_account_month_key UNIQUE (invoicing_account_id, month);

-- +goose Down
ALTER TABLE statements DROP CONSTRAINT statements_account_month_key;
ALTER TABLE statements ADD CONSTRAINT statements_buyer_id_center_id_month_key UNIQUE (buyer_id, center_id, month);
