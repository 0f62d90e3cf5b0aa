-- Users from upstream OpenID Connect providers, and their sign-in state.
ALTER TABLE users ADD COLUMN provider TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT 0;

-- Started SSO sign-ins: the state (stored as its SHA-256), nonce and PKCE
-- verifier, so that any instance can finish one; consumed once.
CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used BOOLEAN NOT NULL DEFAULT 0
);
