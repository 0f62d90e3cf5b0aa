DROP INDEX audit_events_subject;
ALTER TABLE audit_events DROP COLUMN subject;
DELETE FROM audit_events WHERE token_id IS NULL;
ALTER TABLE audit_events ALTER COLUMN token_id SET NOT NULL;
