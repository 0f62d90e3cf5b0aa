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
//! A PAT issued through a confidential client needs that client's
//! authentication too (RFC 6749 §6), checked once the secret is proven, so
//! only its holder learns that. Last-used time and IP are written at most
//! once a minute per token; a failure to write them never fails the exchange.

use super::access_token::Target;
use super::access_token::{Minter, TokenResponse};
use super::clients;
use super::dpop::{self, DpopProof};
pub use super::exchange_denial::Denial;
use super::paths::TOKEN_PATH;
use crate::app::Services;
use crate::config::ResourceConfig;
use crate::error::InternalError;
use crate::net;
use crate::secret::SecretString;
use crate::store::dpop as dpop_store;
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use crate::store::DbConnection;
use crate::syntax::is_scope_token;
use crate::tokens::format::PresentedToken;
use chrono::Duration;
use std::net::IpAddr;

/// Last-used time and IP are written at most this often per token.
pub const LAST_USED_INTERVAL: Duration = Duration::seconds(60);

/// The client credentials an exchange presented (RFC 6749 §2.3.1), for a
/// PAT bound to a confidential client.
#[derive(Debug, Clone, Default)]
pub struct ClientProof {
    /// `client_id`, from Basic or the body.
    pub id: Option<String>,
    /// The client secret, from Basic or the body.
    pub secret: Option<SecretString>,
}

/// What an exchange asks for besides the PAT.
pub struct ExchangeRequest {
    /// The requested `scope`; `None` asks for every granted scope.
    pub scope: Option<String>,
    /// The client address.
    pub ip: Option<IpAddr>,
    /// The client credentials presented.
    pub client: ClientProof,
    /// Which JWT to mint.
    pub minter: &'static dyn Minter,
    /// The `DPoP` header, when sent (RFC 9449 §4.1).
    pub dpop_proof: Option<String>,
    /// The `resource` asked for (RFC 8707 §2).
    pub resource: Option<String>,
}

/// An exchange that still needs a full verification (of the PAT's secret,
/// or of the bound client's).
#[derive(Debug)]
pub struct PendingExchange {
    presented: PresentedToken,
    record: TokenRecord,
    /// The PAT's secret is proven already; the client's is not.
    secret_proven: bool,
    /// The checked DPoP proof, when one was sent.
    dpop: Option<DpopProof>,
}

/// How an exchange ended.
#[derive(Debug)]
pub enum ExchangeResult {
    /// The JWT was minted.
    Issued(TokenResponse),
    /// The exchange is refused.
    Denied(Denial),
}

/// Where an exchange stands after its first step.
#[derive(Debug)]
pub enum ExchangeStep {
    /// Concluded.
    Done(ExchangeResult),
    /// A secret must be verified in full ([`verify`]).
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
    req: &ExchangeRequest,
) -> Result<ExchangeStep, InternalError> {
    let now = svc.now();
    let mut conn = svc.conn()?;
    let Some(record) = token_store::find(&mut conn, &presented.id)? else {
        return Ok(ExchangeStep::Done(ExchangeResult::Denied(Denial::Unknown)));
    };
    let refused = |d| Ok(ExchangeStep::Done(ExchangeResult::Denied(d)));
    if record.kind != presented.kind {
        return refused(Denial::KindMismatch);
    }
    if record.revoked_at.is_some() {
        return refused(Denial::Revoked);
    }
    if record.expires_at.is_some_and(|e| e <= now) {
        return refused(Denial::Expired);
    }
    if record.owner_disabled {
        return refused(Denial::OwnerDisabled);
    }
    if !net::allowed(req.ip, &record.cidrs) {
        return refused(Denial::AddressNotAllowed);
    }
    let dpop = match &req.dpop_proof {
        None => None,
        Some(proof) => match dpop::check(proof, "POST", &svc.config.url(TOKEN_PATH), now) {
            Ok(p) => Some(p),
            Err(_) => return refused(Denial::DpopProofInvalid),
        },
    };
    if !dpop::satisfies(record.dpop_jkt.as_deref(), dpop.as_ref()) {
        return refused(Denial::DpopKeyRequired);
    }
    let secret = presented.secret.expose();
    let cached =
        accepted_hashes(&record, now).any(|hash| svc.verified.contains(&record.id, hash, secret));
    let pending = PendingExchange {
        presented,
        record,
        secret_proven: cached,
        dpop,
    };
    if !cached {
        return Ok(ExchangeStep::NeedsVerification(Box::new(pending)));
    }
    match client_check(svc, &mut conn, &pending.record, &req.client, false)? {
        ClientCheck::Passed => {}
        ClientCheck::Refused(d) => return refused(d),
        ClientCheck::NeedsHashing => return Ok(ExchangeStep::NeedsVerification(Box::new(pending))),
    }
    Ok(ExchangeStep::Done(finish(
        svc,
        &mut conn,
        &pending.record,
        req,
        pending.dpop.as_ref(),
    )?))
}

/// Step 2: the full secret checks (argon2 or scrypt): the PAT's, unless
/// proven already, and the bound client's. Blocking and costly: the caller
/// bounds how many run at once. On success the results are cached.
pub fn verify(
    svc: &Services,
    pending: PendingExchange,
    req: &ExchangeRequest,
) -> Result<ExchangeResult, InternalError> {
    let (now, record) = (svc.now(), &pending.record);
    if !pending.secret_proven {
        let secret = pending.presented.secret.expose();
        let material = pending.presented.secret_material();
        let Some(matched) =
            accepted_hashes(record, now).find(|hash| svc.hasher.verify_bytes(&material, hash))
        else {
            return Ok(ExchangeResult::Denied(Denial::WrongSecret));
        };
        svc.verified.insert(&record.id, matched, secret);
    }
    let mut conn = svc.conn()?;
    match client_check(svc, &mut conn, record, &req.client, true)? {
        ClientCheck::Passed => finish(svc, &mut conn, record, req, pending.dpop.as_ref()),
        ClientCheck::Refused(d) => Ok(ExchangeResult::Denied(d)),
        ClientCheck::NeedsHashing => Ok(ExchangeResult::Denied(Denial::ClientNotAuthenticated)),
    }
}

enum ClientCheck {
    Passed,
    Refused(Denial),
    NeedsHashing,
}

/// Whether the request authenticates as the client `record` is bound to.
/// Without `may_hash`, an uncached client secret asks for step 2.
fn client_check(
    svc: &Services,
    conn: &mut DbConnection,
    record: &TokenRecord,
    proof: &ClientProof,
    may_hash: bool,
) -> Result<ClientCheck, InternalError> {
    let Some(bound) = &record.bound_client_id else {
        return Ok(ClientCheck::Passed);
    };
    let (Some(id), Some(secret)) = (&proof.id, &proof.secret) else {
        return Ok(ClientCheck::Refused(Denial::ClientNotAuthenticated));
    };
    if id != bound {
        return Ok(ClientCheck::Refused(Denial::OtherClient));
    }
    let Some(hash) = clients::find(svc, conn, bound)?.and_then(|c| c.secret_hash) else {
        return Ok(ClientCheck::Refused(Denial::ClientNotAuthenticated));
    };
    let key = format!("client:{bound}");
    if svc.verified.contains(&key, &hash, secret.expose()) {
        return Ok(ClientCheck::Passed);
    }
    if !may_hash {
        return Ok(ClientCheck::NeedsHashing);
    }
    if svc.hasher.verify(secret.expose(), &hash) {
        svc.verified.insert(&key, &hash, secret.expose());
        return Ok(ClientCheck::Passed);
    }
    Ok(ClientCheck::Refused(Denial::ClientNotAuthenticated))
}

/// Step 3, once the secrets are proven: narrows the scope, mints the JWT and
/// records the use (at most once a minute; a failed write is only logged).
fn finish(
    svc: &Services,
    conn: &mut DbConnection,
    record: &TokenRecord,
    req: &ExchangeRequest,
    dpop: Option<&DpopProof>,
) -> Result<ExchangeResult, InternalError> {
    let mut scopes = match narrow(&record.scopes, req.scope.as_deref()) {
        Ok(scopes) => scopes,
        Err(denial) => return Ok(ExchangeResult::Denied(denial)),
    };
    if !req.minter.carries_audience() && !record.resources.is_empty() {
        return Ok(ExchangeResult::Denied(Denial::InvalidTarget));
    }
    let resource = match target(svc, record, req.resource.as_deref()) {
        Ok(r) => r,
        Err(denial) => return Ok(ExchangeResult::Denied(denial)),
    };
    if let Some(accepted) = resource.map(|r| &r.scopes).filter(|s| !s.is_empty()) {
        if req.scope.is_some() && scopes.iter().any(|s| !accepted.contains(s)) {
            return Ok(ExchangeResult::Denied(Denial::ScopeNotGranted));
        }
        scopes.retain(|s| accepted.contains(s));
    }
    let now = svc.now();
    if let Some(proof) = dpop {
        if !dpop_store::remember(conn, &proof.replay_key(), proof.remember_until())? {
            return Ok(ExchangeResult::Denied(Denial::DpopProofReplayed));
        }
    }
    let key = svc.keys.active(conn)?;
    let target = Target {
        jkt: dpop.map(|p| p.jkt.as_str()),
        audience: resource.map(|r| r.audience.as_str()),
    };
    let response = req.minter.mint(svc, &key, record, &scopes, now, target)?;
    let due = record
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_INTERVAL);
    if due {
        let ip = req.ip.map(|ip| ip.to_string());
        let touched =
            token_store::touch_last_used(conn, &record.id, ip.as_deref(), now, LAST_USED_INTERVAL);
        if let Err(e) = touched {
            bookkeeping_failed(svc, &e);
        }
    }
    Ok(ExchangeResult::Issued(response))
}

/// The resource server a JWT is for (RFC 8707 §2): the one asked for,
/// which must be configured and, for a limited token, on its list; without
/// `resource`, a token limited to one is for that one, a token limited to
/// several must name one, and an unlimited one is for the default audience.
pub(crate) fn target<'a>(
    svc: &'a Services,
    record: &TokenRecord,
    asked: Option<&str>,
) -> Result<Option<&'a ResourceConfig>, Denial> {
    let name = match (asked, record.resources.as_slice()) {
        (Some(r), list) if list.is_empty() || list.iter().any(|l| l == r) => r,
        (Some(_), _) => return Err(Denial::InvalidTarget),
        (None, []) => return Ok(None),
        (None, [one]) => one.as_str(),
        (None, _) => return Err(Denial::InvalidTarget),
    };
    svc.config
        .resource(name)
        .map(Some)
        .ok_or(Denial::InvalidTarget)
}

/// A last-used write failed: the exchange goes on; the write is tried
/// again when next due. Logged at most once a minute, and connections are
/// renewed when the file went read-only (see `Db::renew_connections`).
fn bookkeeping_failed(svc: &Services, e: &crate::store::StoreError) {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST_LOGGED_MINUTE: AtomicI64 = AtomicI64::new(i64::MIN);
    svc.db.renew_after(e);
    let minute = svc.now().timestamp().div_euclid(60);
    if LAST_LOGGED_MINUTE.swap(minute, Ordering::Relaxed) != minute {
        tracing::warn!(error = %e, "last-used times not recorded (logged once a minute)");
    }
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
