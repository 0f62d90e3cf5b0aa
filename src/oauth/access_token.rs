//! Access tokens: JWTs per RFC 9068, signed with the active key, and their
//! verification when patgate's own APIs receive them as Bearer tokens.

use super::dpop;
use crate::app::{Services, Tx};
use crate::error::InternalError;
use crate::keys::jwt_kind::{classify, JwtKind};
use crate::keys::{ActiveKey, JwtType, KeyRing};
use crate::policy::{Origin, Principal, Via};
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use chrono::{DateTime, Utc};
use josekit::jwk::Jwk;
use serde::Serialize;
use serde_json::Value;

/// The media type of the JWS header `typ` (RFC 9068 §2.1).
pub const JWT_TYPE: &str = JwtType::AccessToken.as_str();
/// `client_id` recorded for tokens issued outside any OAuth2 client (CLI, admin).
pub const DIRECT_CLIENT_ID: &str = "patgate";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a key-bound token (RFC 9449 §5).
    pub token_type: &'static str,
    /// Seconds until the JWT expires.
    pub expires_in: i64,
    /// The PAT, when one was just issued (authorization-code grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// How an exchange turns a PAT into a JWT. patgate's own is [`Rfc9068`];
/// the `@access-tokens`-compatible API passes its own, so the exchange
/// does not depend on it.
pub trait Minter: Sync {
    /// Mints a JWT for `token` carrying `scopes`, signed with `key`.
    fn mint(
        &self,
        svc: &Services,
        key: &ActiveKey,
        token: &TokenRecord,
        scopes: &[String],
        now: DateTime<Utc>,
        target: Target<'_>,
    ) -> Result<TokenResponse, InternalError>;

    /// Whether its JWTs carry an audience, so a token limited to resources
    /// (RFC 8707) can be exchanged through it; one without (the
    /// `@access-tokens` JWT) refuses such tokens rather than drop the limit.
    fn carries_audience(&self) -> bool {
        true
    }
}

/// Whom a JWT is for and what it is bound to, beyond its token and scopes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Target<'a> {
    /// The thumbprint of the key it is bound to (DPoP, RFC 9449 §6.1).
    pub jkt: Option<&'a str>,
    /// Its `aud`, when a resource was asked for (RFC 8707 §2.2); else the
    /// configured audience.
    pub audience: Option<&'a str>,
}

/// patgate's RFC 9068 access token.
#[derive(Debug, Clone, Copy)]
pub struct Rfc9068;

impl Minter for Rfc9068 {
    fn mint(
        &self,
        svc: &Services,
        key: &ActiveKey,
        token: &TokenRecord,
        scopes: &[String],
        now: DateTime<Utc>,
        target: Target<'_>,
    ) -> Result<TokenResponse, InternalError> {
        mint(svc, key, token, scopes, now, target)
    }
}

/// The claims of patgate's access token (RFC 9068 §2.2), serialized
/// straight into the JWT.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    scope: &'a str,
    token_id: &'a str,
    token_kind: &'a str,
    admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
}

/// The key a DPoP-bound token is bound to (RFC 9449 §6.1, RFC 7800).
#[derive(Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

/// Mints a JWT for `token` carrying `scopes`, signed with `key`, for the
/// `target` audience; bound to the key with thumbprint `target.jkt` when
/// given (`cnf.jkt`, `token_type` `DPoP`, RFC 9449 §5).
pub fn mint(
    svc: &Services,
    key: &ActiveKey,
    token: &TokenRecord,
    scopes: &[String],
    now: DateTime<Utc>,
    target: Target<'_>,
) -> Result<TokenResponse, InternalError> {
    let jkt = target.jkt;
    let ttl = svc.config.access_token_ttl.seconds();
    let mut random = [0u8; 16];
    svc.random.fill(&mut random);
    let mut jti = uuid::Uuid::encode_buffer();
    let scope = scopes.join(" ");
    let claims = AccessTokenClaims {
        iss: svc.config.issuer_id(),
        sub: &token.owner,
        aud: target.audience.unwrap_or_else(|| svc.config.audience()),
        exp: now.timestamp() + ttl,
        iat: now.timestamp(),
        jti: uuid::Builder::from_random_bytes(random)
            .into_uuid()
            .hyphenated()
            .encode_lower(&mut jti),
        client_id: token.client_id.as_deref().unwrap_or(DIRECT_CLIENT_ID),
        scope: &scope,
        token_id: &token.id,
        token_kind: token.kind.as_str(),
        admin: token.is_admin,
        cnf: jkt.map(|jkt| Confirmation { jkt }),
    };
    let access_token = key.sign(JwtType::AccessToken, &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
        expires_in: ttl,
        refresh_token: None,
        scope,
    })
}

/// A verified patgate access token: its claims and the PAT it came from.
#[derive(Debug)]
pub struct VerifiedAccessToken {
    /// The JWT claims.
    pub claims: serde_json::Map<String, Value>,
    /// The token it was minted from, still active.
    pub token: TokenRecord,
}

impl VerifiedAccessToken {
    /// The scopes the JWT carries (`scope`, RFC 9068 §2.2.3).
    pub fn scopes(&self) -> Vec<String> {
        self.claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// Clock skew allowed between instances (and resource servers) on `iat`
/// and `nbf`.
pub const TIME_LEEWAY: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether a JWT is already valid at `now`: neither issued (`iat`) nor
/// valid from (`nbf`, RFC 7519 §4.1.5) later than `now` plus `leeway`.
pub fn already_valid(
    payload: &josekit::jwt::JwtPayload,
    now: std::time::SystemTime,
    leeway: std::time::Duration,
) -> bool {
    let latest = now + leeway;
    payload.issued_at().is_none_or(|iat| iat <= latest)
        && payload.not_before().is_none_or(|nbf| nbf <= latest)
}

/// Verifies a patgate access token: signature against the published keys,
/// `typ` (RFC 9068 §2.1), `iss`, `aud`, `exp`, `iat`/`nbf` (see
/// [`already_valid`]), and that the PAT it came from
/// is still active and owned by `sub`, so a revocation also ends its JWTs
/// at once. `None` when anything fails.
pub fn verify(tx: &mut Tx<'_>, jwt: &str) -> Result<Option<VerifiedAccessToken>, InternalError> {
    let Some((payload, header)) = verify_signature(tx, jwt)? else {
        return Ok(None);
    };
    accept_checked(tx, &payload, &header)
}

/// The `cnf.jkt` of a key-bound (DPoP) access token (RFC 9449 §6.1).
fn bound_key(payload: &josekit::jwt::JwtPayload) -> Option<&str> {
    payload.claim("cnf")?.get("jkt")?.as_str()
}

/// [`verify`]'s checks after the signature (`typ`, `iss`, `aud`, `exp`,
/// `iat`/`nbf`, and its PAT still usable and owned by `sub`), on a JWT
/// [`verify_signature`] has verified already. Whether a key-bound token was
/// presented with its proof is the caller's to check (see [`proven`]).
pub fn accept_checked(
    tx: &mut Tx<'_>,
    payload: &josekit::jwt::JwtPayload,
    header: &josekit::jws::JwsHeader,
) -> Result<Option<VerifiedAccessToken>, InternalError> {
    let config = tx.config();
    let now = std::time::SystemTime::from(tx.now());
    // Only patgate's access token for its own audience (bound or not): the
    // one classification every door uses.
    let kind = classify(header, payload, config.audience());
    let valid = matches!(kind, Some(JwtKind::Access | JwtKind::BoundAccess))
        && payload.issuer() == Some(config.issuer_id())
        && payload.expires_at().is_some_and(|exp| exp > now)
        && already_valid(payload, now, TIME_LEEWAY);
    let (Some(subject), Some(token_id)) = (
        payload.subject(),
        payload.claim("token_id").and_then(|v| v.as_str()),
    ) else {
        return Ok(None);
    };
    if !valid {
        return Ok(None);
    }
    let Some(token) = token_store::find(tx.conn, token_id)? else {
        return Ok(None);
    };
    let active = crate::tokens::status(&token, tx.now()).is_usable() && token.owner == subject;
    Ok(active.then(|| VerifiedAccessToken {
        claims: payload.claims_set().clone(),
        token,
    }))
}

/// Whether the key-bound access token `jwt` (with `payload`) came as RFC
/// 9449 §7.1 asks: the `DPoP` scheme and a fresh proof by its key for this
/// request, not seen before (the proof is remembered in `tx`).
pub fn proven(
    tx: &mut Tx<'_>,
    jwt: &str,
    payload: &josekit::jwt::JwtPayload,
    how: &dpop::Presentation<'_>,
) -> Result<bool, InternalError> {
    let Some(jkt) = bound_key(payload) else {
        return Ok(false);
    };
    let Ok(proof) = dpop::check_presentation(jwt, jkt, how, tx.now()) else {
        return Ok(false);
    };
    Ok(crate::store::dpop::remember(
        tx.conn,
        &proof.replay_key(),
        proof.remember_until(),
    )?)
}

/// The principal acting with the verified access token `v`.
pub fn principal_of(
    tx: &mut Tx<'_>,
    v: &VerifiedAccessToken,
    origin: Origin,
) -> Result<Principal, crate::store::StoreError> {
    let via = Via::AccessToken {
        token_id: v.token.id.clone(),
        client_id: v.token.client_id.clone(),
    };
    let scopes = v.scopes();
    crate::principal::for_token(tx, &v.token, via, scopes, origin)
}

/// The payload and header of a JWT signed by one of patgate's published
/// keys (ES256 or EdDSA), without any claim checks.
pub fn verify_signature(
    tx: &mut Tx<'_>,
    jwt: &str,
) -> Result<Option<(josekit::jwt::JwtPayload, josekit::jws::JwsHeader)>, InternalError> {
    let Ok(header) = josekit::jwt::decode_header(jwt) else {
        return Ok(None);
    };
    let kid = header
        .claim("kid")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let jwks = KeyRing::jwks(tx.conn, tx.now())?;
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
