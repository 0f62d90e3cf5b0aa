DROP TABLE sso_logins;
ALTER TABLE users DROP COLUMN disabled;
ALTER TABLE users DROP COLUMN display_name;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN provider;
