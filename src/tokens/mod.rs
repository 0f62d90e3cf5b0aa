//! Personal and service access tokens: issuing, listing and revoking. The
//! token's secret is stored only as a PHC hash and shown once.

pub mod format;
pub mod hashing;
mod validate;
pub mod verified_cache;
pub mod view;

pub use validate::{is_scope_token, RequestedLifetime};

use crate::app::Services;
use crate::error::InternalError;
use crate::secret::SecretString;
use crate::store::models::TokenRecord;
use crate::store::tokens::{self as token_store, InsertOutcome, NewToken};
use chrono::{DateTime, Duration, Utc};
use format::TokenKind;
use serde::Serialize;

/// What to issue.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Personal or service.
    pub kind: TokenKind,
    /// Owner subject or group.
    pub owner: String,
    /// Token name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Scopes (RFC 6749 §3.3 scope tokens).
    pub scopes: Vec<String>,
    /// Admin role.
    pub is_admin: bool,
    /// Client the token is issued to.
    pub client_id: Option<String>,
    /// Asked-for lifetime.
    pub lifetime: RequestedLifetime,
}

/// A token just issued: its raw string (show once) and its record.
#[derive(Debug)]
pub struct IssuedToken {
    /// The whole token; never stored.
    pub raw: SecretString,
    /// What was stored.
    pub record: TokenRecord,
}

/// The result of an issue request.
#[derive(Debug)]
pub enum IssueOutcome {
    /// Issued.
    Issued(Box<IssuedToken>),
    /// A field is invalid; nothing was stored.
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The owner already has an active token with this name.
    NameTaken,
}

/// Validates and issues a token. Blocking (argon2 and the database).
pub fn issue(svc: &Services, req: IssueRequest) -> Result<IssueOutcome, InternalError> {
    let now = svc.now();
    let expires_at = match validate::request(&req, &svc.config, now) {
        Ok(expires_at) => expires_at,
        Err((field, message)) => return Ok(IssueOutcome::Invalid { field, message }),
    };
    let generated = format::generate(req.kind, None, svc.random.as_ref());
    let secret_hash = svc
        .hasher
        .hash(generated.secret.expose(), svc.random.as_ref())?;
    let new = NewToken {
        id: &generated.id,
        kind: req.kind.as_str(),
        owner: req.owner.trim(),
        name: req.name.trim(),
        description: req.description.as_deref(),
        scopes: &req.scopes,
        is_admin: req.is_admin,
        secret_hash: &secret_hash,
        client_id: req.client_id.as_deref(),
        created_at: now,
        expires_at,
    };
    let mut conn = svc.conn()?;
    if token_store::insert(&mut conn, &new)? == InsertOutcome::NameTaken {
        return Ok(IssueOutcome::NameTaken);
    }
    let record = token_store::find(&mut conn, &generated.id)?
        .ok_or_else(|| InternalError::Blocking("token vanished after insert".into()))?;
    Ok(IssueOutcome::Issued(Box::new(IssuedToken {
        raw: generated.raw,
        record,
    })))
}

/// The result of a revocation.
#[derive(Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now.
    Revoked,
    /// It was revoked before.
    AlreadyRevoked,
    /// No such token.
    NotFound,
}

/// Revokes token `id` on behalf of `by`. Blocking.
pub fn revoke(svc: &Services, id: &str, by: &str) -> Result<RevokeOutcome, InternalError> {
    let mut conn = svc.conn()?;
    if token_store::revoke(&mut conn, id, by, svc.now())? {
        tracing::info!(token_id = %id, actor = %by, "token revoked");
        return Ok(RevokeOutcome::Revoked);
    }
    Ok(match token_store::find(&mut conn, id)? {
        Some(_) => RevokeOutcome::AlreadyRevoked,
        None => RevokeOutcome::NotFound,
    })
}

/// Where a token stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    /// Usable.
    Active,
    /// Usable, expires within 7 days.
    Expiring,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// The status of `record` at `now`.
pub fn status(record: &TokenRecord, now: DateTime<Utc>) -> TokenStatus {
    match (record.revoked_at, record.expires_at) {
        (Some(_), _) => TokenStatus::Revoked,
        (None, Some(exp)) if exp <= now => TokenStatus::Expired,
        (None, Some(exp)) if exp - now <= Duration::days(7) => TokenStatus::Expiring,
        _ => TokenStatus::Active,
    }
}

/// Every token, newest first. Blocking.
pub fn list_all(svc: &Services) -> Result<Vec<TokenRecord>, InternalError> {
    Ok(token_store::list_all(&mut *svc.conn()?)?)
}
