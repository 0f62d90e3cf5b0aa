ALTER TABLE sso_logins DROP COLUMN browser_hash;
ALTER TABLE authorization_sessions DROP COLUMN mode;
ALTER TABLE access_tokens DROP COLUMN bound_client_id;
