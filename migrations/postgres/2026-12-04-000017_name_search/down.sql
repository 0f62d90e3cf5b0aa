DROP INDEX IF EXISTS access_tokens_scopes_trgm;
DROP INDEX IF EXISTS access_tokens_name_trgm;
