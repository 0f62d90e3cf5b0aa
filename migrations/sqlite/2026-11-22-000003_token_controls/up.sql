-- CIDR allowlist (space-separated; empty allows any address) and the previous
-- secret's hash while a rotation's grace period lasts.
ALTER TABLE access_tokens ADD COLUMN cidrs TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE access_tokens ADD COLUMN previous_secret_expires_at TIMESTAMP;
