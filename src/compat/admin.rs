//! The admin operations of the `@access-tokens`-compatible API: list, batch
//! lookup, issue, register a pre-hashed token, update, revoke, restore.
//! Every change is audited like any other.

use super::CompatRecord;
use crate::app::Services;
use crate::audit::{self, Actor, Event};
use crate::config::MaxTokenLifetime;
use crate::error::InternalError;
use crate::secret::SecretString;
use crate::store::compat::{self as store, CompatChanges, CompatFilter};
use crate::tokens::format::TokenKind;
use crate::tokens::hashing::SecretHasher;
use crate::tokens::{self, IssueOutcome, IssueRequest, RequestedLifetime, SecretSource};
use chrono::DateTime;
use serde_json::json;

/// How a compatible admin call ended.
#[derive(Debug)]
pub enum CompatOutcome<T> {
    /// Done.
    Done(T),
    /// The input is not acceptable (400).
    Invalid(String),
    /// No such token (404).
    NotFound,
    /// The token id exists already (409).
    Duplicate,
}

/// A token to issue or register.
#[derive(Debug)]
pub struct NewCompatToken {
    /// Chosen id, if any.
    pub token_id: Option<String>,
    /// Owner.
    pub owner: String,
    /// Admin flag.
    pub is_admin: bool,
    /// Roles (stored as scopes).
    pub roles: Vec<String>,
    /// Expiry in unix seconds.
    pub expires_at: Option<i64>,
}

/// Changes of `PATCH /admin/tokens/{id}`.
#[derive(Debug, Default)]
pub struct CompatPatch {
    /// New owner.
    pub owner: Option<String>,
    /// New admin flag.
    pub is_admin: Option<bool>,
    /// New secret hash.
    pub secret_phc: Option<String>,
    /// New expiry (`Some(None)` removes it).
    pub expires_at: Option<Option<i64>>,
    /// Replace the roles.
    pub roles: Option<Vec<String>>,
    /// Add roles.
    pub add_roles: Vec<String>,
    /// Remove roles.
    pub remove_roles: Vec<String>,
}

fn bad_role(roles: &[String]) -> Option<String> {
    roles.iter().find(|r| !tokens::is_scope_token(r)).map(|r| {
        format!("role {r:?} is not a valid role (letters, digits and punctuation, no spaces)")
    })
}

/// A page of records by ascending id. Blocking.
pub fn list(
    svc: &Services,
    filter: &CompatFilter,
    limit: i64,
    with_phc: bool,
) -> Result<Vec<CompatRecord>, InternalError> {
    let rows = store::list(&mut *svc.conn()?, filter, svc.now(), limit)?;
    Ok(rows
        .iter()
        .map(|r| CompatRecord::new(r, with_phc))
        .collect())
}

/// The records of `ids` that exist, and the ids that do not. Blocking.
pub fn batch(
    svc: &Services,
    ids: &[String],
    with_phc: bool,
) -> Result<(Vec<CompatRecord>, Vec<String>), InternalError> {
    let rows = store::batch(&mut *svc.conn()?, ids)?;
    let not_found = ids
        .iter()
        .filter(|id| !rows.iter().any(|r| &r.id == *id))
        .cloned()
        .collect();
    Ok((
        rows.iter()
            .map(|r| CompatRecord::new(r, with_phc))
            .collect(),
        not_found,
    ))
}

fn request(svc: &Services, new: &NewCompatToken) -> Result<IssueRequest, String> {
    if let Some(why) = bad_role(&new.roles) {
        return Err(why);
    }
    let lifetime = match (new.expires_at, svc.config.token_max_ttl) {
        (Some(at), _) => RequestedLifetime::Until(
            DateTime::from_timestamp(at, 0).ok_or("expiresAt is out of range")?,
        ),
        (None, MaxTokenLifetime::Unlimited) => RequestedLifetime::Never,
        (None, MaxTokenLifetime::Limited(_)) => RequestedLifetime::Default,
    };
    Ok(IssueRequest {
        kind: TokenKind::Personal,
        owner: new.owner.clone(),
        // A name unique per owner: the compatible API has no names.
        name: new.token_id.clone().unwrap_or_default(),
        description: None,
        scopes: new.roles.clone(),
        is_admin: new.is_admin,
        client_id: Some("access-tokens".into()),
        lifetime,
        cidrs: vec![],
    })
}

/// Issues a token (`register`: with the given PHC string instead of a new
/// secret); the raw token (empty when registered) and its record. Blocking.
pub fn issue(
    svc: &Services,
    mut new: NewCompatToken,
    registered_phc: Option<&str>,
    actor: &Actor,
) -> Result<CompatOutcome<(SecretString, CompatRecord)>, InternalError> {
    if new.token_id.is_none() {
        new.token_id = Some(crate::clock::random_alphanumeric(svc.random.as_ref(), 21));
    }
    let req = match request(svc, &new) {
        Ok(r) => r,
        Err(why) => return Ok(CompatOutcome::Invalid(why)),
    };
    let source = registered_phc.map(SecretSource::Registered);
    Ok(
        match tokens::issue_as(svc, req, new.token_id.as_deref(), source, actor)? {
            IssueOutcome::Issued(t) => {
                CompatOutcome::Done((t.raw, CompatRecord::new(&t.record, false)))
            }
            IssueOutcome::Invalid { message, .. } => CompatOutcome::Invalid(message),
            IssueOutcome::NameTaken => CompatOutcome::Duplicate,
        },
    )
}

/// Applies `patch` to token `id`. Blocking.
pub fn update(
    svc: &Services,
    id: &str,
    patch: CompatPatch,
    actor: &Actor,
) -> Result<CompatOutcome<()>, InternalError> {
    let mut conn = svc.conn()?;
    let Some(record) = crate::store::tokens::find(&mut conn, id)? else {
        return Ok(CompatOutcome::NotFound);
    };
    if patch
        .secret_phc
        .as_deref()
        .is_some_and(|p| !SecretHasher::is_supported(p))
    {
        return Ok(CompatOutcome::Invalid(
            "secretPhc must be an argon2id or scrypt PHC string".into(),
        ));
    }
    let mut roles = patch.roles.clone();
    if !patch.add_roles.is_empty() || !patch.remove_roles.is_empty() {
        let mut now = record.scopes.clone();
        now.extend(
            patch
                .add_roles
                .iter()
                .filter(|r| !record.scopes.contains(r))
                .cloned(),
        );
        now.retain(|r| !patch.remove_roles.contains(r));
        roles = Some(now);
    }
    let checked: Vec<String> = roles
        .iter()
        .flatten()
        .chain(&patch.add_roles)
        .cloned()
        .collect();
    if let Some(why) = bad_role(&checked) {
        return Ok(CompatOutcome::Invalid(why));
    }
    let expires_at = match patch.expires_at {
        None => None,
        Some(None) => Some(None),
        Some(Some(at)) => match DateTime::from_timestamp(at, 0) {
            Some(t) => Some(Some(t.naive_utc())),
            None => return Ok(CompatOutcome::Invalid("expiresAt is out of range".into())),
        },
    };
    let changes = CompatChanges {
        owner: patch.owner.clone(),
        is_admin: patch.is_admin,
        secret_hash: patch.secret_phc.clone(),
        expires_at,
        scopes: roles.as_ref().map(|r| r.join(" ")),
    };
    if !store::update(&mut conn, id, &changes)? {
        return Ok(CompatOutcome::NotFound);
    }
    let details = json!({
        "owner": patch.owner,
        "isAdmin": patch.is_admin,
        "secretChanged": patch.secret_phc.is_some(),
        "expiresAt": patch.expires_at,
        "roles": roles,
    });
    audit::record(svc, &mut conn, id, Event::Updated, actor, details)?;
    Ok(CompatOutcome::Done(()))
}

/// Revokes `id` (nothing if revoked already), optionally setting its expiry. Blocking.
pub fn revoke(
    svc: &Services,
    id: &str,
    expires_at: Option<i64>,
    actor: &Actor,
) -> Result<CompatOutcome<()>, InternalError> {
    if let Some(at) = expires_at {
        let Some(t) = DateTime::from_timestamp(at, 0) else {
            return Ok(CompatOutcome::Invalid("expiresAt is out of range".into()));
        };
        let changes = CompatChanges {
            expires_at: Some(Some(t.naive_utc())),
            ..CompatChanges::default()
        };
        if !store::update(&mut *svc.conn()?, id, &changes)? {
            return Ok(CompatOutcome::NotFound);
        }
    }
    Ok(match tokens::revoke(svc, id, actor)? {
        tokens::RevokeOutcome::NotFound => CompatOutcome::NotFound,
        _ => CompatOutcome::Done(()),
    })
}

/// Restores `id` (nothing if it is not revoked). Blocking.
pub fn restore(
    svc: &Services,
    id: &str,
    actor: &Actor,
) -> Result<CompatOutcome<()>, InternalError> {
    use tokens::admin::RestoreOutcome;
    Ok(match tokens::admin::restore(svc, id, actor)? {
        RestoreOutcome::Restored(_) | RestoreOutcome::NotRevoked => CompatOutcome::Done(()),
        RestoreOutcome::NotFound => CompatOutcome::NotFound,
        RestoreOutcome::NameTaken => CompatOutcome::Duplicate,
    })
}
