-- DPoP (RFC 9449): a token bound to a key exchanges only with a proof
-- signed by that key (its RFC 7638 thumbprint here); proofs seen lately are
-- remembered, by a hash of key and jti, so none is accepted twice.
ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT;
CREATE TABLE dpop_proofs (
    proof_hash TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);
