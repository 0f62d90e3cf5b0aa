DROP INDEX users_last_login;
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_subject ON audit_events (subject, occurred_at);
DROP INDEX access_tokens_unrevoked_expiry;
CREATE INDEX access_tokens_owner ON access_tokens (owner, created_at);
DROP INDEX access_tokens_kind_owner_created;
DROP INDEX access_tokens_kind_created;
