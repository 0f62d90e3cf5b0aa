//! Every credential patgate accepts on its APIs, told apart by construction,
//! and the one resolver that turns a presented credential into a
//! [`Principal`]. Nothing else reads a JWT's `sub`.
//!
//! patgate signs two kinds of JWT with the same keys; they differ in the
//! JWS header `typ` (RFC 8725 §3.11) and in their claims (§3.12):
//!
//! | kind | `typ` | claims | taken by |
//! |---|---|---|---|
//! | [`JwtKind::Access`] | `at+jwt` | `aud` = patgate's audience, `token_id`, no `cnf` | management API (Bearer), compatible admin API |
//! | [`JwtKind::BoundAccess`] | `at+jwt` | the same, with `cnf.jkt` | management API with `DPoP` and a proof (RFC 9449 §7.1) |
//! | [`JwtKind::Resource`] | `at+jwt` | `aud` = a configured resource (RFC 8707) | that resource server only: no patgate door |
//! | [`JwtKind::Compat`] | `JWT` | `sub` = token id, `owner`, `admin`, `roles`; no `aud`, `scope`, `token_id` | compatible admin API only |
//!
//! Anything else — an upstream ID token, another issuer's JWT, a patgate
//! JWT whose claims do not fit its `typ` — is no credential at any door.
//! A JWT refused by one door is never tried at another: each door names
//! the kinds it takes ([`Door::admits`]) and the kind is decided once, by
//! [`classify`] (`keys::jwt_kind`), which introspection uses too.

use crate::app::Tx;
use crate::error::InternalError;
use crate::keys::jwt_kind::{classify, JwtKind};
use crate::oauth::access_token::{self, already_valid, TIME_LEEWAY};
use crate::oauth::dpop;
use crate::policy::{Origin, Principal, Via};
use crate::principal;
use crate::store::tokens as token_store;
use josekit::jws::JwsHeader;
use josekit::jwt::JwtPayload;

/// Where a credential is presented: each door takes only its kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// patgate's management APIs (`/api/access-tokens/…`, leak results).
    ManagementApi,
    /// The `@access-tokens`-compatible admin API (`{admin}/tokens…`).
    CompatAdmin,
}

impl Door {
    /// Whether this door takes a JWT of `kind`.
    pub fn admits(self, kind: JwtKind) -> bool {
        match self {
            Door::ManagementApi => matches!(kind, JwtKind::Access | JwtKind::BoundAccess),
            Door::CompatAdmin => matches!(kind, JwtKind::Access | JwtKind::Compat),
        }
    }
}

/// A credential as the request presented it, before anything is decided.
#[derive(Debug)]
pub enum Credential<'a> {
    /// A signed-in browser session (its CSRF token already checked).
    Session {
        /// The session's subject.
        subject: &'a str,
    },
    /// A JWT in `Authorization`, with how it came (scheme, DPoP proof).
    Jwt {
        /// The compact JWT.
        jwt: &'a str,
        /// The scheme, proof, method and URL (RFC 9449 §7.1).
        how: dpop::Presentation<'a>,
    },
}

/// The principal behind `credential` at `door`, read in `tx` (so an
/// operation that resolves in its own transaction sees a revocation or a
/// disabled account that committed before it). `None`: not authenticated.
pub fn resolve(
    tx: &mut Tx<'_>,
    door: Door,
    credential: &Credential<'_>,
    origin: Origin,
) -> Result<Option<Principal>, InternalError> {
    let (jwt, how) = match credential {
        Credential::Session { subject } => {
            return Ok(principal::for_session(tx, subject, origin)?);
        }
        Credential::Jwt { jwt, how } => (*jwt, how),
    };
    let Some((payload, header)) = access_token::verify_signature(tx, jwt)? else {
        return Ok(None);
    };
    let kind = classify(&header, &payload, tx.config().audience());
    let Some(kind) = kind.filter(|k| door.admits(*k)) else {
        return Ok(None);
    };
    match kind {
        JwtKind::Access if !how.dpop_scheme => access(tx, &payload, &header, origin),
        JwtKind::BoundAccess => {
            if !access_token::proven(tx, jwt, &payload, how)? {
                return Ok(None);
            }
            access(tx, &payload, &header, origin)
        }
        JwtKind::Compat if !how.dpop_scheme => compat(tx, &payload, origin),
        _ => Ok(None),
    }
}

fn access(
    tx: &mut Tx<'_>,
    payload: &JwtPayload,
    header: &JwsHeader,
    origin: Origin,
) -> Result<Option<Principal>, InternalError> {
    match access_token::accept_checked(tx, payload, header)? {
        Some(v) => Ok(Some(access_token::principal_of(tx, &v, origin)?)),
        None => Ok(None),
    }
}

/// A compatible JWT: `iss`, `exp`, `iat`; `sub` names a usable token whose
/// owner is the JWT's `owner` and that is not limited to resources (such a
/// token gets no compatible JWT). It acts with the token's flag and roles.
fn compat(
    tx: &mut Tx<'_>,
    payload: &JwtPayload,
    origin: Origin,
) -> Result<Option<Principal>, InternalError> {
    let now = std::time::SystemTime::from(tx.now());
    let fresh = payload.issuer() == Some(tx.config().issuer_id())
        && payload.expires_at().is_some_and(|exp| exp > now)
        && already_valid(payload, now, TIME_LEEWAY);
    let (Some(id), Some(owner)) = (
        payload.subject().filter(|_| fresh),
        payload.claim("owner").and_then(|o| o.as_str()),
    ) else {
        return Ok(None);
    };
    let token = match token_store::find(tx.conn, id)? {
        Some(t)
            if crate::tokens::status(&t, tx.now()).is_usable()
                && t.owner == owner
                && t.resources.is_empty()
                && t.dpop_jkt.is_none() =>
        {
            t
        }
        _ => return Ok(None),
    };
    let via = Via::CompatToken {
        token_id: token.id.clone(),
        is_admin: token.is_admin,
    };
    let scopes = token.scopes.clone();
    Ok(Some(principal::for_token(tx, &token, via, scopes, origin)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_door_names_its_kinds() {
        use JwtKind::*;
        let api: Vec<_> = [Access, BoundAccess, Resource, Compat]
            .into_iter()
            .filter(|k| Door::ManagementApi.admits(*k))
            .collect();
        assert_eq!(api, [Access, BoundAccess]);
        let compat: Vec<_> = [Access, BoundAccess, Resource, Compat]
            .into_iter()
            .filter(|k| Door::CompatAdmin.admits(*k))
            .collect();
        assert_eq!(compat, [Access, Compat]);
    }
}
