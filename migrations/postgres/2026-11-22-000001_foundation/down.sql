DROP TABLE signing_keys;
DROP TABLE access_tokens;
