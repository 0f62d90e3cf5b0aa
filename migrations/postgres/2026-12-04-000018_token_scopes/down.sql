DROP TRIGGER IF EXISTS token_scopes_follow ON access_tokens;
DROP FUNCTION IF EXISTS token_scopes_follow();
DROP TABLE IF EXISTS token_scopes;
