//! Proof that a presented PAT is genuine, for revocation (RFC 7009) and
//! introspection (RFC 7662): the stored record when the secret matches
//! (verified-secret cache first, then argon2/scrypt), whatever its status.

use crate::app::Services;
use crate::error::InternalError;
use crate::store::models::TokenRecord;
use crate::tokens::format::{PresentedToken, TokenKind};
use crate::tokens::{self, TokenStatus};

/// The record of `raw` if it is a well-formed token whose secret matches the
/// current one (or the previous one during a rotation's grace). Blocking and
/// possibly costly (one full hash when not cached).
pub fn genuine(svc: &Services, raw: &str) -> Result<Option<TokenRecord>, InternalError> {
    let Ok(presented) = PresentedToken::parse(raw) else {
        return Ok(None);
    };
    let Some(record) = tokens::find(svc, &presented.id)? else {
        return Ok(None);
    };
    if TokenKind::from_stored(&record.kind) != Some(presented.kind) {
        return Ok(None);
    }
    let secret = presented.secret.expose();
    let matched = super::refresh_grant::accepted_hashes(&record, svc.now()).find(|hash| {
        svc.verified.contains(&record.id, hash, secret)
            || svc.hasher.verify_bytes(&presented.secret_material(), hash)
    });
    let Some(hash) = matched else {
        return Ok(None);
    };
    svc.verified.insert(&record.id, hash, secret);
    Ok(Some(record))
}

/// Whether `record` can be exchanged now (not revoked, not expired).
pub fn is_active(svc: &Services, record: &TokenRecord) -> bool {
    matches!(
        tokens::status(record, svc.now()),
        TokenStatus::Active | TokenStatus::Expiring
    )
}
