//! The admin operations of the `@access-tokens`-compatible API: list, batch
//! lookup, issue, register a pre-hashed token, update, revoke, restore.
//! Each asks the policy for an `@access-tokens` admin first, applies the
//! same token rules as patgate's own paths (roles are free-form scope
//! tokens, but a scope of patgate's API only from a caller who holds what it
//! grants), and is audited in the transaction of the change.

use super::CompatRecord;
use crate::app::{Services, Tx};
use crate::audit::{self, Event};
use crate::config::Config;
use crate::error::{Conflict, OpError};
use crate::policy::rules::{self, RequestedLifetime, ScopeSet, Violation};
use crate::policy::{Action, Denied, Policy, Principal};
use crate::secret::hashing::SecretHasher;
use crate::secret::SecretString;
use crate::store::compat::{self as store, CompatChanges, CompatFilter};
use crate::store::tokens as token_store;
use crate::tokens::format::TokenKind;
use crate::tokens::{self, IssueRequest, SecretSource};
use chrono::{DateTime, Utc};
use serde_json::json;

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

/// Whether the policy admits `who` to the compatible admin API (asked
/// before the request body is read, so its order of answers holds: 401,
/// then 403, then 400).
pub fn admit(config: &Config, who: &Principal) -> Result<(), Denied> {
    Policy::of(config).check(who, Action::CompatAdmin)
}

fn allowed(tx: &Tx<'_>, who: &Principal) -> Result<(), OpError> {
    Ok(admit(tx.config(), who)?)
}

fn unix(at: i64) -> Result<DateTime<Utc>, OpError> {
    DateTime::from_timestamp(at, 0).ok_or_else(|| {
        OpError::Invalid(Violation {
            field: "expiresAt",
            message: "expiresAt is out of range".into(),
        })
    })
}

/// A page of records by ascending id.
pub fn list(
    tx: &mut Tx<'_>,
    who: &Principal,
    filter: &CompatFilter,
    limit: i64,
    with_phc: bool,
) -> Result<Vec<CompatRecord>, OpError> {
    allowed(tx, who)?;
    let now = tx.now();
    let rows = store::list(tx.conn, filter, now, limit)?;
    Ok(rows
        .iter()
        .map(|r| CompatRecord::new(r, with_phc))
        .collect())
}

/// The records of `ids` that exist, and the ids that do not.
pub fn batch(
    tx: &mut Tx<'_>,
    who: &Principal,
    ids: &[String],
    with_phc: bool,
) -> Result<(Vec<CompatRecord>, Vec<String>), OpError> {
    allowed(tx, who)?;
    let rows = store::batch(tx.conn, ids)?;
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

/// Issues a token (`registered_phc`: registers it with that PHC string
/// instead of a new secret); the raw token (empty when registered) and its
/// record. Without `expiresAt`, the token gets no expiry where the policy
/// allows that, else the default lifetime. Blocking (argon2).
pub fn issue(
    svc: &Services,
    who: &Principal,
    new: NewCompatToken,
    registered_phc: Option<String>,
) -> Result<(SecretString, CompatRecord), OpError> {
    let id = new
        .token_id
        .unwrap_or_else(|| crate::clock::random_alphanumeric(svc.random.as_ref(), 21));
    let lifetime = match new.expires_at {
        Some(at) => RequestedLifetime::Until(unix(at)?),
        None if svc.config.token_max_ttl.is_unlimited() => RequestedLifetime::Never,
        None => RequestedLifetime::Default,
    };
    let request = IssueRequest {
        // A name unique per owner: the compatible API has no names.
        name: id.clone(),
        scope_set: ScopeSet::AnyToken,
        is_admin: new.is_admin,
        client_id: Some("access-tokens".into()),
        lifetime,
        id: Some(id),
        secret: registered_phc.map_or(SecretSource::Generate, SecretSource::Registered),
        ..IssueRequest::new(TokenKind::Personal, &new.owner, "", new.roles)
    };
    match tokens::issue(svc, who, request) {
        Ok(t) => Ok((t.raw, CompatRecord::new(&t.record, false))),
        Err(OpError::Conflict(Conflict::NameTaken)) => {
            Err(OpError::Conflict(Conflict::DuplicateId))
        }
        Err(e) => Err(e),
    }
}

/// Applies `patch` to token `id`, under the same rules as issuing: roles
/// are scope tokens, patgate's API scopes only from a caller who holds what
/// they grant, and the expiry within `token_max_ttl` (`null`, no expiry,
/// only where the policy allows tokens without one).
pub fn update(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    patch: CompatPatch,
) -> Result<(), OpError> {
    allowed(tx, who)?;
    let record = token_store::find(tx.conn, id)?.ok_or(OpError::NotFound)?;
    if patch
        .secret_phc
        .as_deref()
        .is_some_and(|p| !SecretHasher::is_supported(p))
    {
        return Err(OpError::Invalid(Violation {
            field: "secretPhc",
            message: "secretPhc must be an argon2id or scrypt PHC string".into(),
        }));
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
    let resulting = roles.clone().unwrap_or_else(|| record.scopes.clone());
    rules::scopes(tx.config(), &resulting, ScopeSet::AnyToken)?;
    if let Some(owner) = &patch.owner {
        rules::owner(owner)?;
    }
    // Who holds the token, how it is proven and what it carries all change
    // what its scopes can do: the caller must be able to grant them.
    Policy::of(tx.config()).may_assign(who, &resulting)?;
    let expires_at = match patch.expires_at {
        None => None,
        Some(at) => {
            let at = at.map(unix).transpose()?;
            rules::expiry_change(tx.config(), at, tx.now())?;
            Some(at.map(|t| t.naive_utc()))
        }
    };
    let changes = CompatChanges {
        owner: patch.owner.clone(),
        is_admin: patch.is_admin,
        secret_hash: patch.secret_phc.clone(),
        expires_at,
        scopes: roles.as_ref().map(|r| r.join(" ")),
    };
    if !store::update(tx.conn, id, &changes)? {
        return Err(OpError::NotFound);
    }
    let details = json!({
        "owner": patch.owner,
        "isAdmin": patch.is_admin,
        "secretChanged": patch.secret_phc.is_some(),
        "expiresAt": patch.expires_at,
        "roles": roles,
    });
    audit::record(tx, id, Event::Updated, who, details)?;
    Ok(())
}

/// Revokes `id` (nothing if revoked already), optionally setting its
/// expiry (within `token_max_ttl`, so a restore cannot outlive the policy).
pub fn revoke(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    expires_at: Option<i64>,
) -> Result<(), OpError> {
    allowed(tx, who)?;
    let record = token_store::find(tx.conn, id)?.ok_or(OpError::NotFound)?;
    if let Some(at) = expires_at {
        let at = unix(at)?;
        rules::expiry_change(tx.config(), Some(at), tx.now())?;
        let changes = CompatChanges {
            expires_at: Some(Some(at.naive_utc())),
            ..CompatChanges::default()
        };
        store::update(tx.conn, id, &changes)?;
    }
    match tokens::revoke_record(tx, who, &record, Action::CompatAdmin, None) {
        Ok(()) | Err(OpError::Conflict(Conflict::AlreadyRevoked)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Restores `id` (nothing if it is not revoked).
pub fn restore(tx: &mut Tx<'_>, who: &Principal, id: &str) -> Result<(), OpError> {
    allowed(tx, who)?;
    let record = token_store::find(tx.conn, id)?.ok_or(OpError::NotFound)?;
    match tokens::restore_record(tx, who, &record, Action::CompatAdmin) {
        Ok(_) | Err(OpError::Conflict(Conflict::NotRevoked)) => Ok(()),
        Err(OpError::Conflict(Conflict::NameTaken)) => {
            Err(OpError::Conflict(Conflict::DuplicateId))
        }
        Err(e) => Err(e),
    }
}
