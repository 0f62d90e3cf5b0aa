-- The audit trail also records what happens to people and clients
-- (sign-ins, disabled/enabled users, role and password changes, clients
-- added or removed): such events have no token, and name the user they
-- concern in `subject`.
ALTER TABLE audit_events ALTER COLUMN token_id DROP NOT NULL;
ALTER TABLE audit_events ADD COLUMN subject TEXT;
CREATE INDEX audit_events_subject ON audit_events (subject, occurred_at);
