DROP INDEX IF EXISTS access_tokens_name_trgm;
