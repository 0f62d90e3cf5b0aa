ALTER TABLE device_authorizations DROP COLUMN started_user_agent;
ALTER TABLE device_authorizations DROP COLUMN started_ip;
DROP TABLE instance_probes;
