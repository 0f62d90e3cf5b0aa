//! Access tokens: JWTs per RFC 9068, signed with the active key.

use crate::app::Services;
use crate::error::InternalError;
use crate::keys::ActiveKey;
use crate::store::models::TokenRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

/// The media type of the JWS header `typ` (RFC 9068 §2.1).
pub const JWT_TYPE: &str = "at+jwt";
/// `client_id` recorded for tokens issued outside any OAuth2 client (CLI, admin).
pub const DIRECT_CLIENT_ID: &str = "patgate";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the JWT expires.
    pub expires_in: i64,
    /// The PAT, when one was just issued (authorization-code grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// Mints a JWT for `token` carrying `scopes`, signed with `key`.
pub fn mint(
    svc: &Services,
    key: &ActiveKey,
    token: &TokenRecord,
    scopes: &[String],
    now: DateTime<Utc>,
) -> Result<TokenResponse, InternalError> {
    let ttl = svc.config.access_token_ttl.seconds();
    let mut jti = [0u8; 16];
    svc.random.fill(&mut jti);
    let scope = scopes.join(" ");
    let claims = json!({
        "iss": svc.config.issuer_id(),
        "sub": token.owner,
        "aud": svc.config.audience(),
        "exp": now.timestamp() + ttl,
        "iat": now.timestamp(),
        "jti": uuid::Builder::from_random_bytes(jti).into_uuid().to_string(),
        "client_id": token.client_id.as_deref().unwrap_or(DIRECT_CLIENT_ID),
        "scope": scope,
        "token_id": token.id,
        "token_kind": token.kind,
        "admin": token.is_admin,
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    let access_token = key.sign(JWT_TYPE, claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: None,
        scope,
    })
}
