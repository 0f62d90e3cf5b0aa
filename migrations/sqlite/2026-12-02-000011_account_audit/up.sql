-- The audit trail also records what happens to people and clients
-- (sign-ins, disabled/enabled users, role and password changes, clients
-- added or removed): such events have no token, and name the user they
-- concern in `subject`. SQLite cannot drop a NOT NULL, so the table is
-- rebuilt.
CREATE TABLE audit_events_new (
    id TEXT PRIMARY KEY NOT NULL,
    token_id TEXT,
    subject TEXT,
    event TEXT NOT NULL,
    actor TEXT,
    ip TEXT,
    user_agent TEXT,
    count INTEGER NOT NULL DEFAULT 1,
    details TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    bucket TEXT
);
INSERT INTO audit_events_new (id, token_id, subject, event, actor, ip, user_agent, count, details, occurred_at, bucket)
    SELECT id, token_id, NULL, event, actor, ip, user_agent, count, details, occurred_at, bucket FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE UNIQUE INDEX audit_events_bucket ON audit_events (token_id, event, bucket);
CREATE INDEX audit_events_token ON audit_events (token_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
CREATE INDEX audit_events_subject ON audit_events (subject, occurred_at);
