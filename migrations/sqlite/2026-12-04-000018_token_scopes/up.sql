-- One row per (scope, token): the compatible API's `hasRole` filter walks
-- a scope's tokens in id order instead of every token. Triggers keep it in
-- step with `access_tokens.scopes` (space-separated scope tokens of RFC 6749
-- §3.3, which hold no '"' or '\', so the JSON array built here is exact).
CREATE TABLE token_scopes (
    scope TEXT NOT NULL,
    token_id TEXT NOT NULL,
    PRIMARY KEY (scope, token_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO token_scopes (scope, token_id)
SELECT s.value, t.id
FROM access_tokens t, json_each('["' || replace(t.scopes, ' ', '","') || '"]') s
WHERE s.value <> '';

CREATE TRIGGER token_scopes_after_insert AFTER INSERT ON access_tokens
BEGIN
    INSERT OR IGNORE INTO token_scopes (scope, token_id)
    SELECT value, NEW.id FROM json_each('["' || replace(NEW.scopes, ' ', '","') || '"]')
    WHERE value <> '';
END;

CREATE TRIGGER token_scopes_after_update AFTER UPDATE OF scopes ON access_tokens
BEGIN
    DELETE FROM token_scopes WHERE token_id = OLD.id AND scope IN
        (SELECT value FROM json_each('["' || replace(OLD.scopes, ' ', '","') || '"]'));
    INSERT OR IGNORE INTO token_scopes (scope, token_id)
    SELECT value, NEW.id FROM json_each('["' || replace(NEW.scopes, ' ', '","') || '"]')
    WHERE value <> '';
END;

CREATE TRIGGER token_scopes_after_delete AFTER DELETE ON access_tokens
BEGIN
    DELETE FROM token_scopes WHERE token_id = OLD.id AND scope IN
        (SELECT value FROM json_each('["' || replace(OLD.scopes, ' ', '","') || '"]'));
END;
