//! Where patgate's OAuth endpoints and pages live, in one place.

/// The token endpoint (RFC 6749 §3.2).
pub const TOKEN_PATH: &str = "/api/auth/v1/token";
/// The authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE_PATH: &str = "/api/auth/v1/authorize";
/// The revocation endpoint (RFC 7009 §2).
pub const REVOKE_PATH: &str = "/api/auth/v1/revoke";
/// The introspection endpoint (RFC 7662 §2).
pub const INTROSPECT_PATH: &str = "/api/auth/v1/introspect";
/// The device authorization endpoint (RFC 8628 §3.1).
pub const DEVICE_AUTHORIZATION_PATH: &str = "/api/auth/v1/device_authorization";
/// The JWKS (RFC 7517 §5).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the person types a device's user code (RFC 8628 §3.3).
pub const VERIFICATION_PATH: &str = "/device";
/// The consent screen of authorization session `{id}`: this, then the id.
pub const CONSENT_PATH_PREFIX: &str = "/oauth2/authorize/";
/// Where the consent screen returns to for the settings page's own client.
pub const WEB_CALLBACK_PATH: &str = "/settings/personal-tokens/callback";

/// The path of the consent screen of authorization session `id`.
pub fn consent_path(id: &str) -> String {
    format!("{CONSENT_PATH_PREFIX}{id}")
}
