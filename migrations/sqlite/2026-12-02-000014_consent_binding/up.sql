-- What an authorization request asks of the token besides scopes: a key to
-- bind it to (RFC 9449 §10 dpop_jkt) and the resource server to limit it to
-- (RFC 8707); the consent screen shows both.
ALTER TABLE authorization_sessions ADD COLUMN dpop_jkt TEXT;
ALTER TABLE authorization_sessions ADD COLUMN resources TEXT NOT NULL DEFAULT '';
