//! The PAT → JWT exchange: the refresh-token grant (RFC 6749 §6), where the
//! PAT is the refresh token and does not rotate.
//!
//! The exchange is what patgate does most, so it runs in steps the web layer
//! schedules on the blocking pool:
//! 1. [`begin`] reads the token row (revocation and expiry are checked against
//!    the database on every call), and when the secret was verified recently
//!    (see [`crate::tokens::verified_cache`]) mints the JWT at once;
//! 2. otherwise [`verify`] runs the full argon2/scrypt check (the caller bounds
//!    how many run at once) and the JWT is minted.
//!
//! Last-used time and IP are written at most once a minute per token.

use super::access_token::{mint, TokenResponse};
use super::OAuthError;
use crate::app::Services;
use crate::error::InternalError;
use crate::net;
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use crate::store::DbConnection;
use crate::tokens::format::{PresentedToken, TokenKind};
use crate::tokens::is_scope_token;
use chrono::Duration;
use std::net::IpAddr;

/// Last-used time and IP are written at most this often per token.
pub const LAST_USED_INTERVAL: Duration = Duration::seconds(60);

/// Why an exchange was refused. Every reason but `ScopeNotGranted` answers
/// the same `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No token with that id.
    Unknown,
    /// The secret does not match.
    WrongSecret,
    /// The token was revoked.
    Revoked,
    /// The token expired.
    Expired,
    /// The prefix names the other kind.
    KindMismatch,
    /// A requested scope was not granted to the token (RFC 6749 §6).
    ScopeNotGranted,
    /// The client address is outside the token's CIDR allowlist.
    AddressNotAllowed,
}

impl Denial {
    /// The reason as recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Denial::Unknown => "unknown",
            Denial::WrongSecret => "wrong_secret",
            Denial::Revoked => "revoked",
            Denial::Expired => "expired",
            Denial::KindMismatch => "kind_mismatch",
            Denial::ScopeNotGranted => "scope_not_granted",
            Denial::AddressNotAllowed => "address_not_allowed",
        }
    }

    /// The error sent to the client.
    pub fn to_oauth_error(self) -> OAuthError {
        match self {
            Denial::ScopeNotGranted => OAuthError::new(
                super::OAuthErrorCode::InvalidScope,
                "the requested scope exceeds the scope granted to the token",
            ),
            _ => OAuthError::invalid_grant(),
        }
    }
}

/// Which JWT an exchange mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtFlavor {
    /// patgate's RFC 9068 access token.
    Rfc9068,
    /// The claims `@access-tokens/express` issues (`sub` = token id, `owner`, `admin`, `roles`).
    AccessTokensCompat,
}

/// An exchange whose secret still needs a full verification.
#[derive(Debug)]
pub struct PendingExchange {
    presented: PresentedToken,
    record: TokenRecord,
    ip: Option<IpAddr>,
    flavor: JwtFlavor,
}

/// Where an exchange stands after a step.
#[derive(Debug)]
pub enum ExchangeStep {
    /// The JWT was minted.
    Issued(TokenResponse),
    /// The exchange is refused.
    Denied(Denial),
    /// The secret must be verified in full.
    NeedsVerification(Box<PendingExchange>),
}

/// Parses a requested `scope`; `None` asks for every granted scope.
fn narrow(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, Denial> {
    let Some(requested) = requested else {
        return Ok(granted.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(s) || !granted.iter().any(|g| g == s) {
            return Err(Denial::ScopeNotGranted);
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// The hashes the presented secret may match now: the current one, and the
/// previous one while a rotation's grace period lasts.
pub(crate) fn accepted_hashes(
    record: &TokenRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> impl Iterator<Item = &str> {
    let previous = record.previous_secret_hash.as_deref().filter(|_| {
        record
            .previous_secret_expires_at
            .is_some_and(|until| until > now)
    });
    std::iter::once(record.secret_hash.as_str()).chain(previous)
}

/// Step 1: reads the token and checks it. Blocking (one indexed read).
pub fn begin(
    svc: &Services,
    presented: PresentedToken,
    requested_scope: Option<&str>,
    ip: Option<IpAddr>,
    flavor: JwtFlavor,
) -> Result<ExchangeStep, InternalError> {
    let now = svc.now();
    let mut conn = svc.conn()?;
    let Some(record) = token_store::find(&mut conn, &presented.id)? else {
        return Ok(ExchangeStep::Denied(Denial::Unknown));
    };
    if TokenKind::from_stored(&record.kind) != Some(presented.kind) {
        return Ok(ExchangeStep::Denied(Denial::KindMismatch));
    }
    if record.revoked_at.is_some() {
        return Ok(ExchangeStep::Denied(Denial::Revoked));
    }
    if record.expires_at.is_some_and(|e| e <= now) {
        return Ok(ExchangeStep::Denied(Denial::Expired));
    }
    if !net::allowed(ip, &record.cidrs) {
        return Ok(ExchangeStep::Denied(Denial::AddressNotAllowed));
    }
    let secret = presented.secret.expose();
    let cached =
        accepted_hashes(&record, now).any(|hash| svc.verified.contains(&record.id, hash, secret));
    let pending = PendingExchange {
        presented,
        record,
        ip,
        flavor,
    };
    if !cached {
        return Ok(ExchangeStep::NeedsVerification(Box::new(pending)));
    }
    finish(svc, &mut conn, pending, requested_scope)
}

/// Step 2: the full secret check (argon2 or scrypt). Blocking and costly:
/// the caller bounds how many run at once. On success the result is cached.
pub fn verify(
    svc: &Services,
    pending: PendingExchange,
    requested_scope: Option<&str>,
) -> Result<ExchangeStep, InternalError> {
    let (now, secret, record) = (
        svc.now(),
        pending.presented.secret.expose(),
        &pending.record,
    );
    let material = pending.presented.secret_material();
    let Some(matched) =
        accepted_hashes(record, now).find(|hash| svc.hasher.verify_bytes(&material, hash))
    else {
        return Ok(ExchangeStep::Denied(Denial::WrongSecret));
    };
    svc.verified.insert(&record.id, matched, secret);
    finish(svc, &mut *svc.conn()?, pending, requested_scope)
}

/// Step 3, once the secret is proven: narrows the scope, mints the JWT and
/// records the use (at most once a minute).
fn finish(
    svc: &Services,
    conn: &mut DbConnection,
    pending: PendingExchange,
    requested_scope: Option<&str>,
) -> Result<ExchangeStep, InternalError> {
    let scopes = match narrow(&pending.record.scopes, requested_scope) {
        Ok(scopes) => scopes,
        Err(denial) => return Ok(ExchangeStep::Denied(denial)),
    };
    let now = svc.now();
    let key = svc.keys.active(conn)?;
    let response = match pending.flavor {
        JwtFlavor::Rfc9068 => mint(svc, &key, &pending.record, &scopes, now)?,
        JwtFlavor::AccessTokensCompat => crate::compat::mint(svc, &key, &pending.record, now)?,
    };
    let due = pending
        .record
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_INTERVAL);
    if due {
        token_store::touch_last_used(
            conn,
            &pending.record.id,
            pending.ip.map(|ip| ip.to_string()).as_deref(),
            now,
            LAST_USED_INTERVAL,
        )?;
    }
    Ok(ExchangeStep::Issued(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_narrowing() {
        let granted = vec!["read".to_string(), "write".to_string()];
        assert_eq!(narrow(&granted, None).unwrap(), granted);
        assert_eq!(narrow(&granted, Some("write")).unwrap(), vec!["write"]);
        assert_eq!(
            narrow(&granted, Some("write write")).unwrap(),
            vec!["write"]
        );
        assert_eq!(
            narrow(&granted, Some("admin")),
            Err(Denial::ScopeNotGranted)
        );
    }
}
