ALTER TABLE access_tokens DROP COLUMN previous_secret_expires_at;
ALTER TABLE access_tokens DROP COLUMN previous_secret_hash;
ALTER TABLE access_tokens DROP COLUMN cidrs;
