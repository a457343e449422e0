-- +goose Up
-- The legal representative of a buyer or a centre (all NULL until given); the birthday is a civil
-- date written YYYY-MM-DD.
ALTER TABLE buyers ADD COLUMN representative_first_name text;
ALTER TABLE buyers ADD COLUMN representative_last_name text;
ALTER TABLE buyers ADD COLUMN representative_birthday text;
ALTER TABLE buyers ADD COLUMN representative_nationality text;
ALTER TABLE buyers ADD COLUMN representative_country_of_residence text;
ALTER TABLE buyers ADD COLUMN representative_email text;
ALTER TABLE centers ADD COLUMN representative_first_name text;
ALTER TABLE centers ADD COLUMN representative_last_name text;
ALTER TABLE centers ADD COLUMN representative_birthday text;
ALTER TABLE centers ADD COLUMN representative_nationality text;
ALTER TABLE centers ADD COLUMN representative_country_of_residence text;
ALTER TABLE centers ADD COLUMN representative_email text;

-- +goose Down
ALTER TABLE centers DROP COLUMN representative_email;
ALTER TABLE centers DROP COLUMN representative_country_of_residence;
ALTER TABLE centers DROP COLUMN representative_nationality;
ALTER TABLE centers DROP COLUMN representative_birthday;
ALTER TABLE centers DROP COLUMN representative_last_name;
ALTER TABLE centers DROP COLUMN representative_first_name;
ALTER TABLE buyers DROP COLUMN representative_email;
ALTER TABLE buyers DROP COLUMN representative_country_of_residence;
ALTER TABLE buyers DROP COLUMN representative_nationality;
ALTER TABLE buyers DROP COLUMN representative_birthday;
ALTER TABLE buyers DROP COLUMN representative_last_name;
ALTER TABLE buyers DROP COLUMN representative_first_name;
