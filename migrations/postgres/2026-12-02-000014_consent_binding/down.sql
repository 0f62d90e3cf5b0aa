ALTER TABLE authorization_sessions DROP COLUMN resources;
ALTER TABLE authorization_sessions DROP COLUMN dpop_jkt;
