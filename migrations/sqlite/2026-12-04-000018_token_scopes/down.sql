DROP TRIGGER IF EXISTS token_scopes_after_delete;
DROP TRIGGER IF EXISTS token_scopes_after_update;
DROP TRIGGER IF EXISTS token_scopes_after_insert;
DROP TABLE IF EXISTS token_scopes;
