-- Append-only audit trail of token events. Exchanges (and refused exchanges)
-- are coalesced: one row per token, event and minute (`bucket`) with a count.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    token_id TEXT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    ip TEXT,
    user_agent TEXT,
    count INTEGER NOT NULL DEFAULT 1,
    details TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    bucket TEXT
);
CREATE UNIQUE INDEX audit_events_bucket ON audit_events (token_id, event, bucket);
CREATE INDEX audit_events_token ON audit_events (token_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
