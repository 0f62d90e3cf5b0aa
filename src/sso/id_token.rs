//! ID token checks (OpenID Connect Core §3.1.3.7): signature with the
//! provider's key (the JWKS is fetched again for an unknown `kid`), `iss`,
//! `aud`, `azp` where present, `exp`, and `nonce`.

use super::provider::{Discovery, SsoRegistry};
use crate::config::ProviderConfig;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Clock skew allowed on `exp` and `iat`.
const LEEWAY_SECONDS: i64 = 60;

/// Which check an ID token failed.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    /// Not a signed JWT, or an algorithm patgate does not accept.
    #[error("malformed or unsupported ({0})")]
    Malformed(String),
    /// Signed with a key the provider does not publish.
    #[error("signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A claim check failed.
    #[error("{0}")]
    Claim(String),
    /// The provider's keys could not be fetched.
    #[error("cannot fetch the provider's keys")]
    Keys,
}

impl SsoRegistry {
    async fn key(
        &self,
        provider: &ProviderConfig,
        discovery: &Discovery,
        kid: &str,
    ) -> Result<josekit::jwk::Jwk, IdTokenError> {
        if let Some(k) = self
            .keys
            .read()
            .await
            .get(&provider.id)
            .and_then(|keys| keys.get(kid))
        {
            return Ok(k.clone());
        }
        // An unknown kid: the provider may have rotated its keys. The token
        // came from the provider's own token endpoint, so this costs one
        // fetch per real rotation.
        self.fetch_keys(provider, discovery)
            .await
            .map_err(|_| IdTokenError::Keys)?;
        self.keys
            .read()
            .await
            .get(&provider.id)
            .and_then(|keys| keys.get(kid))
            .cloned()
            .ok_or(IdTokenError::UnknownKey)
    }

    /// The claims of `jwt` once every check passes.
    pub async fn verify_id_token(
        &self,
        provider: &ProviderConfig,
        discovery: &Discovery,
        jwt: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, IdTokenError> {
        let header =
            josekit::jwt::decode_header(jwt).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
        let alg = header
            .claim("alg")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string();
        let kid = header
            .claim("kid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let jwk = self.key(provider, discovery, &kid).await?;
        if jwk.algorithm().is_some_and(|a| a != alg) {
            return Err(IdTokenError::Malformed(format!(
                "the key is for {}, the token says {alg}",
                jwk.algorithm().unwrap_or("")
            )));
        }
        let verifier = crate::keys::verifier_for(&alg, &jwk)
            .ok_or_else(|| IdTokenError::Malformed(format!("algorithm {alg}")))?;
        let (payload, _) = josekit::jwt::decode_with_verifier(jwt, verifier.as_ref())
            .map_err(|_| IdTokenError::BadSignature)?;
        let claims = payload.claims_set().clone();
        let claim = |m: &str| Err(IdTokenError::Claim(m.to_string()));
        if claims
            .get("iss")
            .and_then(Value::as_str)
            .map(|i| i.trim_end_matches('/'))
            != Some(discovery.issuer.trim_end_matches('/'))
        {
            return claim("wrong issuer");
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !audiences.contains(&provider.client_id.as_str()) {
            return claim("not issued to patgate (aud)");
        }
        let azp = claims.get("azp").and_then(Value::as_str);
        if azp.is_some_and(|a| a != provider.client_id) || (audiences.len() > 1 && azp.is_none()) {
            return claim("issued to another party (azp)");
        }
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp + LEEWAY_SECONDS <= now.timestamp() {
            return claim("expired");
        }
        if claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now.timestamp() + LEEWAY_SECONDS)
        {
            return claim("issued in the future");
        }
        if claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > now.timestamp() + LEEWAY_SECONDS)
        {
            return claim("not valid yet (nbf)");
        }
        let sent = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            sent.as_bytes(),
            nonce.as_bytes(),
        )) {
            return claim("wrong nonce");
        }
        Ok(claims)
    }
}
