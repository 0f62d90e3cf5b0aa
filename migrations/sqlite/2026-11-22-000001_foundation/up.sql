-- Personal (pat_) and service (sat_) access tokens. Only a PHC hash of the secret is stored.
CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'service')),
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    -- the name while the token holds it (not revoked, not released after expiry); NULL otherwise
    active_name TEXT,
    description TEXT,
    scopes TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    secret_hash TEXT NOT NULL,
    client_id TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    last_used_ip TEXT,
    revoked_at TIMESTAMP,
    revoked_by TEXT
);
CREATE UNIQUE INDEX access_tokens_active_name ON access_tokens (kind, owner, active_name);
CREATE INDEX access_tokens_owner ON access_tokens (owner, created_at);

-- JWS signing keys; private keys are sealed with the master key (AES-256-GCM, AAD = kid).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_key_sealed BLOB NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    publish_until TIMESTAMP
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active;
