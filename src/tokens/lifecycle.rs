//! What happens to a token after it is issued: a new secret, revocation,
//! restore, and revoking everything a user holds. Each asks the policy, then
//! changes the token and records the audit event in one transaction.

use super::{format, load, status, IssuedToken, Lookup};
use crate::app::{Services, Tx};
use crate::audit::{self, Event};
use crate::error::{Conflict, InternalError, OpError};
use crate::policy::rules::Violation;
use crate::policy::{Action, Policy, Principal};
use crate::store::models::TokenRecord;
use crate::store::token_queries::{self as queries, RestoreResult};
use crate::store::tokens as token_store;
use chrono::Duration;
use serde_json::json;

/// Longest grace period of a rotation, during which the old secret still works.
pub const MAX_ROTATION_GRACE_SECONDS: i64 = 7 * 86_400;

/// Issues a new secret for token `id`; the old one keeps working for
/// `grace_seconds` (0 to 7 days), as GitLab's rotate does. Same id, name,
/// scopes and expiry. Blocking: the policy and a read, then argon2 outside
/// any transaction, then one conditional update with its audit event.
pub fn rotate(
    svc: &Services,
    who: &Principal,
    id: &str,
    lookup: Lookup,
    grace_seconds: i64,
) -> Result<IssuedToken, OpError> {
    if !(0..=MAX_ROTATION_GRACE_SECONDS).contains(&grace_seconds) {
        return Err(OpError::Invalid(Violation {
            field: "graceSeconds",
            message: format!(
                "the grace period must be between 0 and {MAX_ROTATION_GRACE_SECONDS} seconds (7 days)"
            ),
        }));
    }
    let record = svc.read(|tx| load(tx, who, id, lookup))?;
    Policy::of(&svc.config).check(who, Action::Rotate(&record))?;
    if !status(&record, svc.now()).is_usable() {
        return Err(OpError::Conflict(Conflict::Inactive));
    }
    let generated = format::generate(record.kind, Some(&record.id), svc.random.as_ref());
    let new_hash = svc
        .hasher
        .hash(generated.secret.expose(), svc.random.as_ref())?;
    crate::principal::act(svc, who, |tx, who| {
        Policy::of(tx.config()).check(who, Action::Rotate(&record))?;
        let now = tx.now();
        let grace = Duration::seconds(grace_seconds);
        let until = (grace > Duration::zero()).then(|| now + grace);
        let replaced =
            token_store::replace_secret(tx.conn, id, &record.secret_hash, &new_hash, until)?;
        if !replaced {
            return Err(OpError::Conflict(Conflict::Inactive));
        }
        audit::record(
            tx,
            id,
            Event::Rotated,
            who,
            json!({ "graceSeconds": grace_seconds }),
        )?;
        let record = token_store::find(tx.conn, id)?.ok_or(InternalError::Vanished("token"))?;
        tracing::info!(token_id = %id, actor = %who.label(), grace_seconds, "token rotated");
        Ok(IssuedToken {
            raw: generated.raw,
            record,
        })
    })
}

/// Revokes token `id`, recording `reason`; `Conflict::AlreadyRevoked` when
/// it was revoked before.
pub fn revoke(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    lookup: Lookup,
    reason: Option<&str>,
) -> Result<(), OpError> {
    let record = load(tx, who, id, lookup)?;
    revoke_record(tx, who, &record, Action::Revoke(&record), reason)
}

/// Revokes `record` and records it, once the policy allows `action` (a
/// revocation, or the compatible admin API's own) to `who`.
pub fn revoke_record(
    tx: &mut Tx<'_>,
    who: &Principal,
    record: &TokenRecord,
    action: Action<'_>,
    reason: Option<&str>,
) -> Result<(), OpError> {
    Policy::of(tx.config()).check(who, action)?;
    let now = tx.now();
    if !token_store::revoke(tx.conn, &record.id, &who.label(), now)? {
        return Err(OpError::Conflict(Conflict::AlreadyRevoked));
    }
    let details = reason.map_or(json!({}), |r| json!({ "reason": r }));
    audit::record(tx, &record.id, Event::Revoked, who, details)?;
    tracing::info!(token_id = %record.id, actor = %who.label(), "token revoked");
    Ok(())
}

/// Un-revokes token `id`; its name must still be free among the owner's
/// active tokens.
pub fn restore(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    lookup: Lookup,
) -> Result<TokenRecord, OpError> {
    let record = load(tx, who, id, lookup)?;
    restore_record(tx, who, &record, Action::Restore(&record))
}

/// Restores `record` and records it, once the policy allows `action` (a
/// restore, or the compatible admin API's own) to `who`.
pub fn restore_record(
    tx: &mut Tx<'_>,
    who: &Principal,
    record: &TokenRecord,
    action: Action<'_>,
) -> Result<TokenRecord, OpError> {
    Policy::of(tx.config()).check(who, action)?;
    let id = record.id.as_str();
    match queries::restore(tx.conn, id, &record.name)? {
        RestoreResult::Restored => {}
        RestoreResult::NotRevoked => return Err(OpError::Conflict(Conflict::NotRevoked)),
        RestoreResult::NameTaken => return Err(OpError::Conflict(Conflict::NameTaken)),
    }
    audit::record(tx, id, Event::Restored, who, json!({}))?;
    Ok(token_store::find(tx.conn, id)?.ok_or(InternalError::Vanished("token"))?)
}

/// Revokes every personal token of `owner` (offboarding); how many.
pub fn revoke_all(tx: &mut Tx<'_>, who: &Principal, owner: &str) -> Result<usize, OpError> {
    Policy::of(tx.config()).check(who, Action::RevokeAllOf(owner))?;
    let mut revoked = 0;
    for id in queries::unrevoked_personal(tx.conn, owner)? {
        let Some(record) = token_store::find(tx.conn, &id)? else {
            continue;
        };
        let reason = Some("all tokens of the user revoked");
        match revoke_record(tx, who, &record, Action::Revoke(&record), reason) {
            Ok(()) => revoked += 1,
            Err(OpError::Conflict(Conflict::AlreadyRevoked)) => {}
            Err(e) => return Err(e),
        }
    }
    tracing::info!(%owner, actor = %who.label(), revoked, "revoked all tokens of a user");
    Ok(revoked)
}
