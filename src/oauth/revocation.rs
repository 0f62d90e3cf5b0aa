//! Token revocation (RFC 7009) for PATs: whoever holds a PAT may revoke it.
//! The answer is the same for an unknown, malformed or already revoked token
//! (§2.2), so the endpoint reveals nothing.

use super::token_check;
use crate::app::Services;
use crate::audit::Actor;
use crate::error::InternalError;
use crate::tokens;

/// Revokes `raw` when it is a genuine PAT; returns whether it was revoked now. Blocking.
pub fn revoke_presented(svc: &Services, raw: &str, by: &Actor) -> Result<bool, InternalError> {
    let Some(record) = token_check::genuine(svc, raw)? else {
        return Ok(false);
    };
    if record.revoked_at.is_some() {
        return Ok(false);
    }
    let by = Actor {
        name: Some(format!("token:{}", record.id)),
        ..by.clone()
    };
    Ok(tokens::revoke(svc, &record.id, &by)? == tokens::RevokeOutcome::Revoked)
}
