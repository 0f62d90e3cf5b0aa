-- Readiness: each instance proves the database takes writes by updating
-- its own row (a full disk or a read-only file fails it).
CREATE TABLE instance_probes (
    instance TEXT PRIMARY KEY NOT NULL,
    checked_at TIMESTAMP NOT NULL
);

-- The device approval page tells the person where a code was started
-- (RFC 8628 §5.4: remote phishing).
ALTER TABLE device_authorizations ADD COLUMN started_ip TEXT;
ALTER TABLE device_authorizations ADD COLUMN started_user_agent TEXT;
