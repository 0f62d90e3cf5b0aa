//! The JSON shape of a token in listings and APIs (never its secret).

use super::{status, TokenStatus};
use crate::clock::rfc3339;
use crate::store::models::TokenRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A token as listed: RFC 3339 times, `null` where unset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// Public id.
    pub id: String,
    /// `personal` or `service`.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Owner subject or group.
    pub owner: String,
    /// Description.
    pub description: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// What the token starts with (`pat_<id>`), to recognise it.
    pub prefix: String,
    /// Client it was issued to.
    pub client_id: Option<String>,
    /// Admin role.
    pub admin: bool,
    /// Creation time.
    pub created_at: String,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Last use.
    pub last_used_at: Option<String>,
    /// Address of the last use.
    pub last_used_ip: Option<String>,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Networks allowed to exchange it; empty allows any.
    pub cidrs: Vec<String>,
    /// The thumbprint of the key it is bound to (DPoP, RFC 9449), if any.
    pub dpop_jkt: Option<String>,
    /// The resource servers it is limited to (RFC 8707); empty: none.
    pub resources: Vec<String>,
    /// Status now.
    pub status: TokenStatus,
}

/// What the token starts with (`pat_<id>`), to recognise it.
pub fn prefix_of(r: &TokenRecord) -> String {
    format!("{}_{}", r.kind.prefix(), r.id)
}

impl TokenView {
    /// The view of `r` at `now`.
    pub fn new(r: &TokenRecord, now: DateTime<Utc>) -> Self {
        TokenView {
            id: r.id.clone(),
            kind: r.kind.as_str(),
            name: r.name.clone(),
            owner: r.owner.clone(),
            description: r.description.clone(),
            scopes: r.scopes.clone(),
            prefix: prefix_of(r),
            client_id: r.client_id.clone(),
            admin: r.is_admin,
            created_at: rfc3339(r.created_at),
            expires_at: r.expires_at.map(rfc3339),
            last_used_at: r.last_used_at.map(rfc3339),
            last_used_ip: r.last_used_ip.clone(),
            revoked_at: r.revoked_at.map(rfc3339),
            revoked_by: r.revoked_by.clone(),
            cidrs: r.cidrs.clone(),
            dpop_jkt: r.dpop_jkt.clone(),
            resources: r.resources.clone(),
            status: status(r, now),
        }
    }
}
