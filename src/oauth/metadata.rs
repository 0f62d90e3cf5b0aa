//! Authorization server metadata (RFC 8414 §2).

use crate::config::Config;
use serde_json::{json, Value};

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/api/auth/v1/token";
/// Path of the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/api/auth/v1/authorize";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The metadata document served at `/.well-known/oauth-authorization-server`.
pub fn document(config: &Config) -> Value {
    json!({
        "issuer": config.issuer_id(),
        "token_endpoint": config.url(TOKEN_PATH).as_str(),
        "jwks_uri": config.url(JWKS_PATH).as_str(),
        "authorization_endpoint": config.url(AUTHORIZE_PATH).as_str(),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": config.scopes.keys().collect::<Vec<_>>(),
    })
}
