ALTER TABLE access_tokens DROP COLUMN owner_disabled;
