//! Authorization server metadata (RFC 8414 §2).

use crate::config::Config;
use serde_json::{json, Value};

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/api/auth/v1/token";
/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/api/auth/v1/authorize";
/// Path of the revocation endpoint (RFC 7009).
pub const REVOKE_PATH: &str = "/api/auth/v1/revoke";
/// Path of the introspection endpoint (RFC 7662).
pub const INTROSPECT_PATH: &str = "/api/auth/v1/introspect";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The metadata document served at `/.well-known/oauth-authorization-server`
/// (RFC 8414 §2) and, for OpenID-style discovery, at
/// `/.well-known/openid-configuration`.
pub fn document(config: &Config) -> Value {
    json!({
        "issuer": config.issuer_id(),
        "token_endpoint": config.url(TOKEN_PATH).as_str(),
        "jwks_uri": config.url(JWKS_PATH).as_str(),
        "authorization_endpoint": config.url(AUTHORIZE_PATH).as_str(),
        "device_authorization_endpoint": config.url(super::device::DEVICE_AUTHORIZATION_PATH).as_str(),
        "revocation_endpoint": config.url(REVOKE_PATH).as_str(),
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint": config.url(INTROSPECT_PATH).as_str(),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            super::device::DEVICE_GRANT
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": config.scopes.keys().collect::<Vec<_>>(),
        "subject_types_supported": ["public"],
    })
}
