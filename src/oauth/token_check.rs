//! Proof that a presented PAT is genuine, for revocation (RFC 7009) and
//! introspection (RFC 7662): the stored record when the secret matches
//! (verified-secret cache first, then argon2/scrypt), whatever its status.

use super::refresh_grant::accepted_hashes;
use crate::app::Tx;
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use crate::store::StoreError;
use crate::tokens::format::PresentedToken;

/// Which tokens are worth a full hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Only usable ones: a revoked, expired or suspended token answers as an
    /// unknown one does, after the same one indexed read and no hashing,
    /// so its id costs nothing and tells nothing.
    UsableOnly,
    /// Any (for callers that must tell "genuine but inactive" apart).
    Any,
}

/// The record of `raw` if it is a well-formed token whose secret matches the
/// current one (or the previous one during a rotation's grace). Blocking and
/// possibly costly (one full hash when not cached).
pub fn genuine(
    tx: &mut Tx<'_>,
    raw: &str,
    which: Verify,
) -> Result<Option<TokenRecord>, StoreError> {
    let Ok(presented) = PresentedToken::parse(raw) else {
        return Ok(None);
    };
    let Some(record) = token_store::find(tx.conn, &presented.id)? else {
        return Ok(None);
    };
    if record.kind != presented.kind {
        return Ok(None);
    }
    let usable = crate::tokens::status(&record, tx.now()).is_usable();
    if which == Verify::UsableOnly && !usable {
        return Ok(None);
    }
    let (svc, secret) = (tx.svc, presented.secret.expose());
    let matched = accepted_hashes(&record, svc.now()).find(|hash| {
        svc.verified.contains(&record.id, hash, secret)
            || svc.hasher.verify_bytes(&presented.secret_material(), hash)
    });
    let Some(hash) = matched else {
        return Ok(None);
    };
    svc.verified.insert(&record.id, hash, secret);
    Ok(Some(record))
}
