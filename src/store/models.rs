//! Rows as diesel reads and writes them, and the records the domain sees.

use super::schema::{access_tokens, signing_keys};
use super::TokenKind;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// A token as stored (times are UTC without zone).
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
pub(crate) struct TokenRow {
    pub id: String,
    pub kind: TokenKind,
    pub owner: String,
    pub name: String,
    pub description: Option<String>,
    pub scopes: String,
    pub is_admin: bool,
    pub secret_hash: String,
    pub client_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<String>,
    pub cidrs: String,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub bound_client_id: Option<String>,
    pub dpop_jkt: Option<String>,
    pub resources: String,
    pub owner_disabled: bool,
}

/// A personal or service access token's stored record (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public token id (21 alphanumerics).
    pub id: String,
    /// Personal or service.
    pub kind: TokenKind,
    /// Owning subject (user) or group/service.
    pub owner: String,
    /// Name, unique among the owner's active tokens.
    pub name: String,
    /// Free text for service tokens.
    pub description: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Whether the token carries the admin role.
    pub is_admin: bool,
    /// PHC string of the secret (argon2id, or scrypt when registered elsewhere).
    pub secret_hash: String,
    /// OAuth2 client the token was issued to.
    pub client_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last exchange time (written at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Address of the last exchange.
    pub last_used_ip: Option<String>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Addresses allowed to exchange it (CIDR); empty allows any.
    pub cidrs: Vec<String>,
    /// During a rotation's grace period: the previous secret's PHC string.
    pub previous_secret_hash: Option<String>,
    /// When the previous secret stops working.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The confidential client whose authentication this token needs to be
    /// exchanged, introspected or revoked (RFC 6749 §6); `None`: the token alone.
    pub bound_client_id: Option<String>,
    /// The RFC 7638 thumbprint of the key this token is bound to (DPoP,
    /// RFC 9449): it exchanges only with a proof signed by that key.
    pub dpop_jkt: Option<String>,
    /// The resource servers (audiences) its JWTs may be for (RFC 8707);
    /// empty: the default audience only.
    pub resources: Vec<String>,
    /// Whether its owner's account is disabled: the token does nothing
    /// until the account is enabled again.
    pub owner_disabled: bool,
}

impl TokenRecord {
    /// Whether the token may be used at `now`: not revoked, not expired,
    /// and its owner's account not disabled.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now) && !self.owner_disabled
    }
}

#[cfg(test)]
impl TokenRecord {
    /// A usable personal token of `owner` with `scopes`, for unit tests.
    pub(crate) fn sample(kind: TokenKind, owner: &str, scopes: &[&str]) -> TokenRecord {
        TokenRecord {
            id: "t".repeat(21),
            kind,
            owner: owner.into(),
            name: "n".into(),
            description: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            is_admin: false,
            secret_hash: String::new(),
            client_id: None,
            created_at: Utc::now(),
            expires_at: None,
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
            revoked_by: None,
            cidrs: vec![],
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            bound_client_id: None,
            dpop_jkt: None,
            resources: vec![],
            owner_disabled: false,
        }
    }
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl From<TokenRow> for TokenRecord {
    fn from(r: TokenRow) -> Self {
        TokenRecord {
            id: r.id,
            kind: r.kind,
            owner: r.owner,
            name: r.name,
            description: r.description,
            scopes: r.scopes.split_whitespace().map(str::to_string).collect(),
            is_admin: r.is_admin,
            secret_hash: r.secret_hash,
            client_id: r.client_id,
            created_at: utc(r.created_at),
            expires_at: r.expires_at.map(utc),
            last_used_at: r.last_used_at.map(utc),
            last_used_ip: r.last_used_ip,
            revoked_at: r.revoked_at.map(utc),
            revoked_by: r.revoked_by,
            cidrs: r.cidrs.split_whitespace().map(str::to_string).collect(),
            previous_secret_hash: r.previous_secret_hash,
            previous_secret_expires_at: r.previous_secret_expires_at.map(utc),
            bound_client_id: r.bound_client_id,
            dpop_jkt: r.dpop_jkt,
            resources: r.resources.split_whitespace().map(str::to_string).collect(),
            owner_disabled: r.owner_disabled,
        }
    }
}

/// A token to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = access_tokens)]
pub(super) struct NewTokenRow<'a> {
    pub id: &'a str,
    pub kind: TokenKind,
    pub owner: &'a str,
    pub name: &'a str,
    pub active_name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub scopes: String,
    pub is_admin: bool,
    pub secret_hash: &'a str,
    pub client_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub cidrs: String,
    pub bound_client_id: Option<&'a str>,
    pub dpop_jkt: Option<&'a str>,
    pub resources: String,
}

/// A signing key as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// Key id (`kid`).
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// Public JWK, JSON.
    pub public_jwk: String,
    /// nonce ‖ AES-256-GCM ciphertext of the private key (DER).
    pub private_key_sealed: Vec<u8>,
    /// Whether this key signs new tokens (at most one is).
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// When it stopped signing.
    pub retired_at: Option<NaiveDateTime>,
    /// Published in the JWKS until then.
    pub publish_until: Option<NaiveDateTime>,
}
