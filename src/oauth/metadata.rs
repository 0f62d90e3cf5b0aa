//! Authorization server metadata (RFC 8414 §2).

use super::device::DEVICE_GRANT;
use super::paths::{
    AUTHORIZE_PATH, DEVICE_AUTHORIZATION_PATH, INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH,
};
use crate::config::Config;
use serde_json::{json, Value};

/// The metadata document served at `/.well-known/oauth-authorization-server`
/// (RFC 8414 §2) and, for OpenID-style discovery, at
/// `/.well-known/openid-configuration`.
pub fn document(config: &Config) -> Value {
    json!({
        "issuer": config.issuer_id(),
        "token_endpoint": config.url(TOKEN_PATH).as_str(),
        "jwks_uri": config.url(JWKS_PATH).as_str(),
        "authorization_endpoint": config.url(AUTHORIZE_PATH).as_str(),
        "device_authorization_endpoint": config.url(DEVICE_AUTHORIZATION_PATH).as_str(),
        "revocation_endpoint": config.url(REVOKE_PATH).as_str(),
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint": config.url(INTROSPECT_PATH).as_str(),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            DEVICE_GRANT
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        // RFC 9207 §3: every authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "dpop_signing_alg_values_supported": super::dpop::ALGORITHMS,
        "scopes_supported": config.scopes.keys().collect::<Vec<_>>(),
        "subject_types_supported": ["public"],
    })
}
