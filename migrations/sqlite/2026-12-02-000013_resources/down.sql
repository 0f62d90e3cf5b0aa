ALTER TABLE access_tokens DROP COLUMN resources;
