//! The resource-server side: verify a patgate access token offline against
//! the JWKS — fetched once, cached, and fetched again when a token names an
//! unknown `kid` (a key rotation) — checking `typ` (RFC 9068 §2.1), `iss`,
//! `aud` and `exp` (RFC 9068 §4).

use josekit::jwk::Jwk;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::RwLock;
use url::Url;

/// An unknown `kid` fetches the JWKS again at most this often.
pub const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// Clock skew allowed on `exp`.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWS compact JWT.
    #[error("not a JWT")]
    Malformed,
    /// Not an access token (`typ` is not `at+jwt`).
    #[error("not an access token (typ)")]
    WrongType,
    /// No published key has its `kid`.
    #[error("signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Another issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// Not for this audience.
    #[error("wrong audience")]
    WrongAudience,
    /// Expired.
    #[error("expired")]
    Expired,
    /// Issued (`iat`) or valid from (`nbf`) in the future, beyond the leeway.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The JWKS could not be fetched.
    #[error("cannot fetch the JWKS: {0}")]
    Jwks(String),
    /// A key-bound (DPoP) token without a valid proof by its key
    /// (RFC 9449 §7.1): use [`JwtVerifier::verify_request`].
    #[error("key-bound token: {0}")]
    Proof(String),
}

/// Proofs remembered against replay at most this many at once; beyond
/// that, requests with new proofs are refused until old ones expire.
const MAX_REMEMBERED_PROOFS: usize = 100_000;

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Jwk>,
    fetched_at: Option<Instant>,
}

/// Verifies patgate access tokens for one issuer and audience.
pub struct JwtVerifier {
    jwks_url: Url,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    refetch_after: Duration,
    proofs_seen: std::sync::Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier for tokens of `issuer` (whose JWKS is at
    /// `{issuer}/.well-known/jwks.json`) meant for `audience`.
    pub fn new(issuer: &Url, audience: &str) -> Self {
        let mut jwks_url = issuer.clone();
        let base = jwks_url.path().trim_end_matches('/').to_string();
        jwks_url.set_path(&format!("{base}{}", crate::oauth::paths::JWKS_PATH));
        JwtVerifier {
            jwks_url,
            issuer: issuer.as_str().trim_end_matches('/').to_string(),
            audience: audience.to_string(),
            http: reqwest::Client::new(),
            cache: RwLock::new(KeyCache::default()),
            refetch_after: REFETCH_AFTER,
            proofs_seen: std::sync::Mutex::default(),
        }
    }

    /// How soon after a fetch an unknown `kid` may fetch the JWKS again
    /// (default [`REFETCH_AFTER`]; it bounds what tokens with made-up
    /// `kid`s can cost).
    pub fn with_refetch_after(mut self, interval: Duration) -> Self {
        self.refetch_after = interval;
        self
    }

    async fn fetch(&self) -> Result<(), VerifyError> {
        let jwks: Value = self
            .http
            .get(self.jwks_url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| VerifyError::Jwks(e.to_string()))?
            .json()
            .await
            .map_err(|e| VerifyError::Jwks(e.to_string()))?;
        let mut keys = HashMap::new();
        for key in jwks["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(map)) = (key["kid"].as_str(), key.as_object()) else {
                continue;
            };
            if let Ok(jwk) = Jwk::from_map(map.clone()) {
                keys.insert(kid.to_string(), jwk);
            }
        }
        *self.cache.write().await = KeyCache {
            keys,
            fetched_at: Some(Instant::now()),
        };
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<Jwk, VerifyError> {
        {
            let cache = self.cache.read().await;
            if let Some(k) = cache.keys.get(kid) {
                return Ok(k.clone());
            }
            if cache
                .fetched_at
                .is_some_and(|t| t.elapsed() < self.refetch_after)
            {
                return Err(VerifyError::UnknownKey);
            }
        }
        self.fetch().await?;
        self.cache
            .read()
            .await
            .keys
            .get(kid)
            .cloned()
            .ok_or(VerifyError::UnknownKey)
    }

    /// The claims of `jwt` when it is a valid access token of this issuer
    /// for this audience, sent as a Bearer token: a key-bound (DPoP) token
    /// is refused here (RFC 9449 §7.2).
    pub async fn verify(&self, jwt: &str) -> Result<Map<String, Value>, VerifyError> {
        let claims = self.verify_any(jwt).await?;
        if claims.get("cnf").is_some() {
            return Err(VerifyError::Proof("sent as a Bearer token".into()));
        }
        Ok(claims)
    }

    /// The claims of `jwt` presented `how` on a request: a key-bound token
    /// needs the `DPoP` scheme and a fresh proof for this method and URL,
    /// with `ath`, by the key in `cnf.jkt`, not seen before by this verifier
    /// (RFC 9449 §7.1; replay is checked per verifier, within the proof
    /// window of [`crate::oauth::dpop::MAX_AGE_SECONDS`]).
    pub async fn verify_request(
        &self,
        jwt: &str,
        how: &crate::oauth::dpop::Presentation<'_>,
    ) -> Result<Map<String, Value>, VerifyError> {
        let claims = self.verify_any(jwt).await?;
        let Some(jkt) = claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
        else {
            if how.dpop_scheme {
                return Err(VerifyError::Proof(
                    "an unbound token is a Bearer token".into(),
                ));
            }
            return Ok(claims);
        };
        let now = chrono::Utc::now();
        let proof = crate::oauth::dpop::check_presentation(jwt, jkt, how, now)
            .map_err(|e| VerifyError::Proof(e.to_string()))?;
        let mut seen = self
            .proofs_seen
            .lock()
            .map_err(|_| VerifyError::Proof("busy".into()))?;
        if seen.len() >= MAX_REMEMBERED_PROOFS / 2 {
            seen.retain(|_, until| *until > now.timestamp());
        }
        if seen.len() >= MAX_REMEMBERED_PROOFS {
            return Err(VerifyError::Proof("too many proofs to remember".into()));
        }
        if seen
            .insert(proof.replay_key(), proof.remember_until().timestamp())
            .is_some()
        {
            return Err(VerifyError::Proof("the proof was used before".into()));
        }
        Ok(claims)
    }

    async fn verify_any(&self, jwt: &str) -> Result<Map<String, Value>, VerifyError> {
        let header = josekit::jwt::decode_header(jwt).map_err(|_| VerifyError::Malformed)?;
        if header.claim("typ").and_then(Value::as_str) != Some(crate::oauth::access_token::JWT_TYPE)
        {
            return Err(VerifyError::WrongType);
        }
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .ok_or(VerifyError::UnknownKey)?;
        let jwk = self.key(kid).await?;
        let verifier = crate::keys::verifier_for(jwk.algorithm().unwrap_or_default(), &jwk)
            .ok_or(VerifyError::UnknownKey)?;
        let (payload, _) = josekit::jwt::decode_with_verifier(jwt, verifier.as_ref())
            .map_err(|_| VerifyError::BadSignature)?;
        if payload.issuer() != Some(self.issuer.as_str()) {
            return Err(VerifyError::WrongIssuer);
        }
        if !payload
            .audience()
            .is_some_and(|a| a.contains(&self.audience.as_str()))
        {
            return Err(VerifyError::WrongAudience);
        }
        if payload
            .expires_at()
            .is_none_or(|exp| exp + LEEWAY <= SystemTime::now())
        {
            return Err(VerifyError::Expired);
        }
        if !crate::oauth::access_token::already_valid(&payload, SystemTime::now(), LEEWAY) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(payload.claims_set().clone())
    }
}
