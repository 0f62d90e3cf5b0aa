//! Compatibility with `@access-tokens/express`, so its client and CLI work
//! against patgate unchanged: its JWT claims, its token records (unix-second
//! times, roles = the token's scopes) and the admin operations its API offers.

pub mod admin;

use crate::app::Services;
use crate::error::InternalError;
use crate::keys::{ActiveKey, JwtType};
use crate::oauth::access_token::{Minter, TokenResponse};
use crate::store::models::TokenRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

/// A token record as `@access-tokens` shows it (`PatRecord`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatRecord {
    /// Token id (21 alphanumerics).
    pub token_id: String,
    /// Owner.
    pub owner: String,
    /// Admin flag.
    pub is_admin: bool,
    /// Roles (the token's scopes); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; absent when never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// Unix seconds; absent when not revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Unix seconds; absent when it never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The PHC string of the secret, only when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_phc: Option<String>,
}

impl CompatRecord {
    /// The record of `r`, with its PHC string when `with_phc`.
    pub fn new(r: &TokenRecord, with_phc: bool) -> Self {
        let unix = |t: DateTime<Utc>| t.timestamp();
        CompatRecord {
            token_id: r.id.clone(),
            owner: r.owner.clone(),
            is_admin: r.is_admin,
            roles: (!r.scopes.is_empty()).then(|| r.scopes.clone()),
            created_at: unix(r.created_at),
            last_used_at: r.last_used_at.map(unix),
            revoked_at: r.revoked_at.map(unix),
            expires_at: r.expires_at.map(unix),
            secret_phc: with_phc.then(|| r.secret_hash.clone()),
        }
    }
}

/// Mints the JWT `@access-tokens/express` issues: `sub` is the token id,
/// with `owner`, `admin`, `roles` (always an array), `iss`, `iat`, `exp`, `jti`.
#[derive(Debug, Clone, Copy)]
pub struct CompatMinter;

impl Minter for CompatMinter {
    fn mint(
        &self,
        svc: &Services,
        key: &ActiveKey,
        token: &TokenRecord,
        _scopes: &[String],
        now: DateTime<Utc>,
        _target: crate::oauth::access_token::Target<'_>,
    ) -> Result<TokenResponse, InternalError> {
        let ttl = svc.config.access_token_ttl.seconds();
        let mut jti = [0u8; 16];
        svc.random.fill(&mut jti);
        let claims = json!({
            "iss": svc.config.issuer_id(),
            "sub": token.id,
            "owner": token.owner,
            "admin": token.is_admin,
            "roles": token.scopes,
            "iat": now.timestamp(),
            "exp": now.timestamp() + ttl,
            "jti": uuid::Builder::from_random_bytes(jti).into_uuid().to_string(),
        });
        Ok(TokenResponse {
            access_token: key.sign(JwtType::Jwt, &claims)?,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: None,
            scope: token.scopes.join(" "),
        })
    }

    fn carries_audience(&self) -> bool {
        false
    }
}
