DROP TABLE dpop_proofs;
ALTER TABLE access_tokens DROP COLUMN dpop_jkt;
