-- Resource indicators (RFC 8707): the audiences a token may ask JWTs for,
-- space-separated; empty: any (its JWTs are for the default audience).
ALTER TABLE access_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';
