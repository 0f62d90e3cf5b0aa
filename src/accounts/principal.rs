//! Who calls a management API, and what they may do: from a patgate access
//! token (RFC 9068 JWT as a Bearer token, RFC 6750) or a signed-in browser.

use crate::app::Services;
use crate::error::InternalError;
use crate::keys::KeyRing;
use crate::oauth::access_token::JWT_TYPE;
use crate::store::accounts as users;
use crate::store::tokens as token_store;
use josekit::jwk::Jwk;
use std::collections::BTreeSet;

pub use super::permissions::Permission;
use super::permissions::ADMIN_ROLE;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The subject acting.
    pub subject: String,
    /// Its roles (given directly or through upstream groups).
    pub roles: BTreeSet<String>,
    /// What it may do.
    pub permissions: BTreeSet<Permission>,
    /// The scopes of the access token it acts with; `None` for a browser session.
    pub token_scopes: Option<Vec<String>>,
}

impl Principal {
    /// Whether it holds `p`.
    pub fn may(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// The principal of `subject`: the permissions of everyone plus those of the
/// user's roles and groups, as the configuration maps them (`admin_token`: a
/// service token with the admin role acting for a non-user owner).
fn principal_of(
    svc: &Services,
    subject: &str,
    admin_token: bool,
) -> Result<Principal, InternalError> {
    let access = &svc.config.access;
    let roles = match users::find_user(&mut *svc.conn()?, subject)? {
        Some(user) => {
            let mut direct = user.role_list();
            if user.is_admin || admin_token {
                direct.push(ADMIN_ROLE.into());
            }
            access.roles_of(&direct, &user.group_list())
        }
        None if admin_token => BTreeSet::from([ADMIN_ROLE.to_string()]),
        None => BTreeSet::new(),
    };
    Ok(Principal {
        subject: subject.to_string(),
        permissions: access.permissions_of(&roles),
        roles,
        token_scopes: None,
    })
}

/// The signed-in user `subject` as a principal. Blocking.
pub fn from_session(svc: &Services, subject: &str) -> Result<Principal, InternalError> {
    principal_of(svc, subject, false)
}

/// A verified patgate access token: its claims and the PAT it came from.
#[derive(Debug)]
pub struct VerifiedAccessToken {
    /// The JWT claims.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The token it was minted from, still active.
    pub token: crate::store::models::TokenRecord,
}

/// Verifies a patgate access token: signature against the published keys,
/// `typ` (RFC 9068 §2.1), `iss`, `aud`, `exp`, and that the PAT it came from
/// is still active, so a revocation also ends its JWTs at once. `None` when
/// anything fails. Blocking.
pub fn verify_access_token(
    svc: &Services,
    jwt: &str,
) -> Result<Option<VerifiedAccessToken>, InternalError> {
    let Some((payload, header)) = verify_signature(svc, jwt)? else {
        return Ok(None);
    };
    let now = std::time::SystemTime::from(svc.now());
    let valid = header.token_type() == Some(JWT_TYPE)
        && payload.issuer() == Some(svc.config.issuer_id().as_str())
        && payload
            .audience()
            .is_some_and(|aud| aud.contains(&svc.config.audience().as_str()))
        && payload.expires_at().is_some_and(|exp| exp > now);
    let (Some(subject), Some(token_id)) = (
        payload.subject(),
        payload.claim("token_id").and_then(|v| v.as_str()),
    ) else {
        return Ok(None);
    };
    if !valid {
        return Ok(None);
    }
    let Some(token) = token_store::find(&mut *svc.conn()?, token_id)? else {
        return Ok(None);
    };
    let active = token.revoked_at.is_none()
        && token.expires_at.is_none_or(|e| e > svc.now())
        && token.owner == subject;
    Ok(active.then(|| VerifiedAccessToken {
        claims: payload.claims_set().clone(),
        token,
    }))
}

/// The principal acting with a patgate access token (see
/// [`verify_access_token`]). Blocking.
pub fn from_access_token(svc: &Services, jwt: &str) -> Result<Option<Principal>, InternalError> {
    match verify_access_token(svc, jwt)? {
        Some(v) => {
            let mut who = principal_of(svc, &v.token.owner, v.token.is_admin)?;
            let scope = v
                .claims
                .get("scope")
                .and_then(|s| s.as_str())
                .unwrap_or_default();
            who.token_scopes = Some(scope.split_whitespace().map(str::to_string).collect());
            Ok(Some(who))
        }
        None => Ok(None),
    }
}

/// The payload and header of a JWT signed by one of patgate's published
/// keys (ES256 or EdDSA), without any claim checks. Blocking.
pub fn verify_signature(
    svc: &Services,
    jwt: &str,
) -> Result<Option<(josekit::jwt::JwtPayload, josekit::jws::JwsHeader)>, InternalError> {
    let Ok(header) = josekit::jwt::decode_header(jwt) else {
        return Ok(None);
    };
    let kid = header
        .claim("kid")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let jwks = KeyRing::jwks(&mut *svc.conn()?, svc.now())?;
    let Some(jwk) = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == kid.as_deref())
    else {
        return Ok(None);
    };
    let Some(map) = jwk.as_object().cloned() else {
        return Ok(None);
    };
    let Ok(jwk) = Jwk::from_map(map) else {
        return Ok(None);
    };
    let Some(verifier) = crate::keys::verifier_for(jwk.algorithm().unwrap_or_default(), &jwk)
    else {
        return Ok(None);
    };
    Ok(josekit::jwt::decode_with_verifier(jwt, verifier.as_ref()).ok())
}
