-- One row per (scope, token): the compatible API's `hasRole` filter walks
-- a scope's tokens in id order instead of every token. A trigger keeps it
-- in step with `access_tokens.scopes` (space-separated, RFC 6749 §3.3). It
-- replaces the trigram index of migration 000017 for this filter.
CREATE TABLE token_scopes (
    scope TEXT NOT NULL,
    token_id TEXT NOT NULL,
    PRIMARY KEY (scope, token_id)
);

INSERT INTO token_scopes (scope, token_id)
SELECT DISTINCT s, t.id
FROM access_tokens t, unnest(string_to_array(t.scopes, ' ')) s
WHERE s <> '';

CREATE FUNCTION token_scopes_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM token_scopes
        WHERE token_id = OLD.id AND scope = ANY (string_to_array(OLD.scopes, ' '));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO token_scopes (scope, token_id)
        SELECT DISTINCT s, NEW.id FROM unnest(string_to_array(NEW.scopes, ' ')) s
        WHERE s <> ''
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER token_scopes_follow
AFTER INSERT OR DELETE OR UPDATE OF scopes ON access_tokens
FOR EACH ROW EXECUTE FUNCTION token_scopes_follow();

DROP INDEX IF EXISTS access_tokens_scopes_trgm;
