DROP TABLE login_throttle;
DROP TABLE authorization_sessions;
DROP TABLE browser_sessions;
DROP TABLE oauth_clients;
DROP TABLE users;
