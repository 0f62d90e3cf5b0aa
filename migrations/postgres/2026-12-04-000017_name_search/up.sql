-- Name search (`q=`, a `%…%` match on the lower-cased name) and the
-- compatible API's role filter from trigram indexes, where the pg_trgm
-- extension can be had. It is "trusted" from PostgreSQL 13 on, so a
-- database owner may create it (in `public`, where every schema finds it);
-- where it cannot be created (no privilege, not installed), the searches
-- scan as before and the migration still succeeds.
DO $$
DECLARE
    ns text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%): name search scans the table', SQLERRM;
    END;
    SELECT n.nspname INTO ns
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF ns IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX access_tokens_name_trgm ON access_tokens USING gin (lower(name) %I.gin_trgm_ops)',
            ns
        );
        -- The compatible API's `hasRole` filter matches ' role ' in the
        -- space-separated scopes.
        EXECUTE format(
            'CREATE INDEX access_tokens_scopes_trgm ON access_tokens USING gin (('' '' || scopes || '' '') %I.gin_trgm_ops)',
            ns
        );
    END IF;
END
$$;
