-- Listings that stay fast at any size: each page is read from an index in
-- its sort order (keyset on created_at, id), never by sorting the table.
-- The admin lists, one kind at a time, newest first.
CREATE INDEX access_tokens_kind_created ON access_tokens (kind, created_at, id);
-- One owner's tokens of a kind, newest first (settings, the personal API,
-- offboarding); replaces the index on (owner, created_at).
CREATE INDEX access_tokens_kind_owner_created ON access_tokens (kind, owner, created_at, id);
DROP INDEX access_tokens_owner;
-- The reminder scan and the `expiring` filter: unrevoked tokens by expiry.
CREATE INDEX access_tokens_unrevoked_expiry ON access_tokens (expires_at, id)
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
-- Events about people are a small part of the trail: index only those.
DROP INDEX audit_events_subject;
CREATE INDEX audit_events_subject ON audit_events (subject, occurred_at)
    WHERE subject IS NOT NULL;
-- Users, most recent sign-in first, then by name.
CREATE INDEX users_last_login ON users (last_login_at DESC, subject);
