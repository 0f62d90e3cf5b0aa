-- A disabled account is inert: its personal tokens are marked in the same
-- transaction that disables it, so the exchange still reads one row.
ALTER TABLE access_tokens ADD COLUMN owner_disabled BOOLEAN NOT NULL DEFAULT false;
