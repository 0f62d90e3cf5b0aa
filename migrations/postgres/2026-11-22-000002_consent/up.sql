-- Local accounts (and, later, users from SSO). Passwords only as argon2id PHC strings.
CREATE TABLE users (
    subject TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);

-- OAuth2 clients registered with `patgate admin client add` (config clients are not stored).
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    secret_hash TEXT,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Signed-in browsers. The cookie value is stored only as its SHA-256.
CREATE TABLE browser_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Pending /oauth2/authorize/{id} requests and the code issued from each.
CREATE TABLE authorization_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    state TEXT,
    code_challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_name_hint TEXT,
    subject TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    code_hash TEXT,
    code_expires_at TIMESTAMP,
    token_name TEXT,
    token_scopes TEXT,
    token_expires_at TIMESTAMP,
    token_id TEXT
);
CREATE UNIQUE INDEX authorization_sessions_code ON authorization_sessions (code_hash);

-- Failed sign-ins per account and per address, to slow guessing down.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    blocked_until TIMESTAMP
);
