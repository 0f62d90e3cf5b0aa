-- Device authorization requests (RFC 8628). The device code is stored only
-- as its SHA-256; the person's answer lives in the linked authorization
-- session, whose consent screen they see.
CREATE TABLE device_authorizations (
    device_code_hash TEXT PRIMARY KEY NOT NULL,
    user_code TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_polled_at TIMESTAMP
);
