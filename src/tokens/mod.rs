//! Personal and service access tokens: issuing, listing and revoking. The
//! token's secret is stored only as a PHC hash and shown once.

pub mod admin;
pub mod format;
pub mod hashing;
mod validate;
pub mod verified_cache;
pub mod view;

pub use validate::{is_scope_token, is_valid_token_name, RequestedLifetime, MAX_NAME_CHARS};

use crate::app::Services;
use crate::audit::{self, Actor, Event};
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
    /// Networks allowed to exchange the token (CIDR or address); empty allows any.
    pub cidrs: Vec<String>,
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

/// Validates and issues a token on behalf of `actor`, and audits it.
/// Blocking (argon2 and the database).
pub fn issue(
    svc: &Services,
    req: IssueRequest,
    actor: &Actor,
) -> Result<IssueOutcome, InternalError> {
    issue_as(svc, req, None, None, actor)
}

/// How a token's secret is set.
#[derive(Debug)]
pub enum SecretSource<'a> {
    /// Generate one (shown once).
    Generate,
    /// A hash made elsewhere (argon2id or scrypt PHC string): the token is
    /// registered, and its raw form is the holder's.
    Registered(&'a str),
}

/// [`issue`] with a chosen id (`None`: a random one) and secret source
/// (`None`: generated). A registered token's `raw` is empty. Blocking.
pub fn issue_as(
    svc: &Services,
    req: IssueRequest,
    id: Option<&str>,
    secret: Option<SecretSource<'_>>,
    actor: &Actor,
) -> Result<IssueOutcome, InternalError> {
    let now = svc.now();
    if id.is_some_and(|id| {
        id.len() != format::ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric())
    }) {
        return Ok(IssueOutcome::Invalid {
            field: "tokenId",
            message: format!("a token id is {} letters and digits", format::ID_LEN),
        });
    }
    let expires_at = match validate::request(&req, &svc.config, now) {
        Ok(expires_at) => expires_at,
        Err((field, message)) => return Ok(IssueOutcome::Invalid { field, message }),
    };
    let mut cidrs = Vec::new();
    for entry in &req.cidrs {
        match crate::net::parse_cidr(entry) {
            Some(net) => cidrs.push(net.to_string()),
            None => {
                return Ok(IssueOutcome::Invalid {
                    field: "cidrs",
                    message: format!("{entry:?} is not a CIDR range or address"),
                })
            }
        }
    }
    let mut generated = format::generate(req.kind, id, svc.random.as_ref());
    let secret_hash = match secret {
        Some(SecretSource::Registered(phc)) => {
            if !hashing::SecretHasher::is_supported(phc) {
                return Ok(IssueOutcome::Invalid {
                    field: "secretPhc",
                    message: "secretPhc must be an argon2id or scrypt PHC string".into(),
                });
            }
            generated.raw = SecretString::new("");
            phc.to_string()
        }
        _ => svc
            .hasher
            .hash(generated.secret.expose(), svc.random.as_ref())?,
    };
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
        cidrs: &cidrs,
    };
    let mut conn = svc.conn()?;
    if token_store::insert(&mut conn, &new)? == InsertOutcome::NameTaken {
        return Ok(IssueOutcome::NameTaken);
    }
    let record = token_store::find(&mut conn, &generated.id)?
        .ok_or_else(|| InternalError::Blocking("token vanished after insert".into()))?;
    let details = serde_json::json!({ "name": record.name, "kind": record.kind, "scopes": record.scopes, "clientId": record.client_id });
    audit::record(svc, &mut conn, &record.id, Event::Created, actor, details)?;
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

/// Revokes token `id` on behalf of `by`, and audits it. Blocking.
pub fn revoke(svc: &Services, id: &str, by: &Actor) -> Result<RevokeOutcome, InternalError> {
    admin::revoke_with_reason(svc, id, by, None)
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

/// Longest grace period of a rotation, during which the old secret still works.
pub const MAX_ROTATION_GRACE: Duration = Duration::days(7);

/// The result of a rotation.
#[derive(Debug)]
pub enum RotateOutcome {
    /// A new secret for the same token (same id, name, scopes): show it once.
    Rotated(Box<IssuedToken>),
    /// No such token.
    NotFound,
    /// Revoked or expired tokens are not rotated.
    Inactive,
    /// The grace period is outside 0 to 7 days.
    InvalidGrace,
}

/// Issues a new secret for token `id`; the old one keeps working for `grace`
/// (0 to 7 days), as GitLab's rotate does. Blocking (argon2).
pub fn rotate(
    svc: &Services,
    id: &str,
    grace: Duration,
    actor: &Actor,
) -> Result<RotateOutcome, InternalError> {
    if grace < Duration::zero() || grace > MAX_ROTATION_GRACE {
        return Ok(RotateOutcome::InvalidGrace);
    }
    let now = svc.now();
    let mut conn = svc.conn()?;
    let Some(record) = token_store::find(&mut conn, id)? else {
        return Ok(RotateOutcome::NotFound);
    };
    let Some(kind) = TokenKind::from_stored(&record.kind) else {
        return Ok(RotateOutcome::NotFound);
    };
    if status(&record, now) == TokenStatus::Revoked || status(&record, now) == TokenStatus::Expired
    {
        return Ok(RotateOutcome::Inactive);
    }
    let generated = format::generate(kind, Some(id), svc.random.as_ref());
    let new_hash = svc
        .hasher
        .hash(generated.secret.expose(), svc.random.as_ref())?;
    let until = (grace > Duration::zero()).then(|| now + grace);
    if !token_store::replace_secret(&mut conn, id, &record.secret_hash, &new_hash, until)? {
        return Ok(RotateOutcome::Inactive);
    }
    tracing::info!(token_id = %id, actor = %actor.label(), grace_seconds = grace.num_seconds(), "token rotated");
    let details = serde_json::json!({ "graceSeconds": grace.num_seconds() });
    audit::record(svc, &mut conn, id, Event::Rotated, actor, details)?;
    let record = token_store::find(&mut conn, id)?
        .ok_or_else(|| InternalError::Blocking("token vanished".into()))?;
    Ok(RotateOutcome::Rotated(Box::new(IssuedToken {
        raw: generated.raw,
        record,
    })))
}

/// The personal tokens of `owner`, newest first. Blocking.
pub fn personal_of(svc: &Services, owner: &str) -> Result<Vec<TokenRecord>, InternalError> {
    Ok(token_store::list_by_owner(
        &mut *svc.conn()?,
        TokenKind::Personal.as_str(),
        owner,
    )?)
}

/// Personal token `id` if `owner` owns it (otherwise as good as missing). Blocking.
pub fn personal_owned_by(
    svc: &Services,
    id: &str,
    owner: &str,
) -> Result<Option<TokenRecord>, InternalError> {
    Ok(token_store::find(&mut *svc.conn()?, id)?
        .filter(|t| t.owner == owner && t.kind == TokenKind::Personal.as_str()))
}

/// Token `id`, if it exists. Blocking.
pub fn find(svc: &Services, id: &str) -> Result<Option<TokenRecord>, InternalError> {
    Ok(token_store::find(&mut *svc.conn()?, id)?)
}
