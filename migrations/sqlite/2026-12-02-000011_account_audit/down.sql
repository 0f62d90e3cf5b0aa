DELETE FROM audit_events WHERE token_id IS NULL;
CREATE TABLE audit_events_old (
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
INSERT INTO audit_events_old (id, token_id, event, actor, ip, user_agent, count, details, occurred_at, bucket)
    SELECT id, token_id, event, actor, ip, user_agent, count, details, occurred_at, bucket FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE UNIQUE INDEX audit_events_bucket ON audit_events (token_id, event, bucket);
CREATE INDEX audit_events_token ON audit_events (token_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
