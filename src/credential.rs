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
//! the kinds it takes ([`Door::admits`]) and the kind is decided once.

use crate::app::Tx;
use crate::error::InternalError;
use crate::keys::JwtType;
use crate::oauth::access_token::{self, already_valid, TIME_LEEWAY};
use crate::oauth::dpop;
use crate::policy::{Origin, Principal, Via};
use crate::principal;
use crate::store::tokens as token_store;
use josekit::jws::JwsHeader;
use josekit::jwt::JwtPayload;

/// A JWT patgate signed, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtKind {
    /// patgate's access token for its own audience (RFC 9068), unbound.
    Access,
    /// patgate's access token bound to a key (`cnf.jkt`, RFC 9449 §6.1).
    BoundAccess,
    /// patgate's access token for a resource server's audience (RFC 8707).
    Resource,
    /// The `@access-tokens`-compatible JWT (`POST {auth}/token`).
    Compat,
}

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

/// What a JWT signed by one of patgate's keys is, from its header and
/// claims alone; `None`: none of patgate's kinds.
pub fn classify(header: &JwsHeader, payload: &JwtPayload, audience: &str) -> Option<JwtKind> {
    let has = |name: &str| payload.claim(name).is_some();
    match header.token_type()? {
        t if t == JwtType::AccessToken.as_str() => {
            if !has("token_id") {
                return None;
            }
            let ours = payload
                .audience()
                .is_some_and(|aud| aud.contains(&audience));
            Some(match (ours, has("cnf")) {
                (true, false) => JwtKind::Access,
                (true, true) => JwtKind::BoundAccess,
                (false, _) => JwtKind::Resource,
            })
        }
        t if t == JwtType::Jwt.as_str() => {
            let compat = payload.claim("owner").is_some_and(|o| o.is_string())
                && payload.claim("admin").is_some_and(|a| a.is_boolean())
                && !["aud", "scope", "token_id", "cnf", "client_id"]
                    .iter()
                    .any(|c| has(c));
            compat.then_some(JwtKind::Compat)
        }
        _ => None,
    }
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
    use serde_json::json;

    fn kind(typ: &str, claims: serde_json::Value) -> Option<JwtKind> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        let map = claims.as_object().unwrap().clone();
        let payload = JwtPayload::from_map(map).unwrap();
        classify(&header, &payload, "patgate")
    }

    #[test]
    fn each_kind_is_told_apart_by_typ_and_claims() {
        let at = |extra: serde_json::Value| {
            let mut c = json!({"sub": "alice", "token_id": "x", "aud": "patgate"});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            c
        };
        assert_eq!(kind("at+jwt", at(json!({}))), Some(JwtKind::Access));
        let bound = at(json!({"cnf": {"jkt": "k"}}));
        assert_eq!(kind("at+jwt", bound), Some(JwtKind::BoundAccess));
        let resource = at(json!({"aud": "https://billing"}));
        assert_eq!(kind("at+jwt", resource), Some(JwtKind::Resource));
        let compat = json!({"sub": "x", "owner": "o", "admin": true, "roles": []});
        assert_eq!(kind("JWT", compat), Some(JwtKind::Compat));
        // An access token's claims under the other typ, and the reverse.
        assert_eq!(kind("JWT", at(json!({"owner": "o", "admin": true}))), None);
        let no_token = json!({"sub": "x", "owner": "o", "admin": true, "aud": "patgate"});
        assert_eq!(kind("at+jwt", no_token), None);
        // An ID token (RFC 9068 §2.1 says an access token is never one).
        assert_eq!(
            kind("JWT", json!({"sub": "alice", "aud": "c", "nonce": "n"})),
            None
        );
        assert_eq!(kind("dpop+jwt", json!({"jti": "j"})), None);
    }

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
