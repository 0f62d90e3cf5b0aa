-- Who a token, a consent and a sign-in are bound to.

-- A PAT issued through a confidential client is bound to it: exchanging,
-- introspecting or revoking it needs that client's authentication (RFC 6749 §6).
ALTER TABLE access_tokens ADD COLUMN bound_client_id TEXT;

-- How an authorization session answers: `redirect` (code to redirect_uri)
-- or `device` (the device polls, RFC 8628).
ALTER TABLE authorization_sessions ADD COLUMN mode TEXT NOT NULL DEFAULT 'redirect';
UPDATE authorization_sessions SET mode = 'device'
    WHERE redirect_uri = 'urn:ietf:params:oauth:grant-type:device_code';

-- An SSO sign-in finishes only in the browser that started it: the SHA-256
-- of a random cookie value set at the start (RFC 9700 §4.7.1).
ALTER TABLE sso_logins ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';
