//! Signing keys: generated on first start, sealed at rest with the master key,
//! shared through the database by every instance, rotated on demand, and
//! published as a JWKS (RFC 7517 §5) while tokens they signed may be alive.

pub mod jwt_kind;
mod master_key;
mod verifiers;

pub use master_key::MasterKey;
pub use verifiers::verifier_for;

use crate::clock::{random_alphanumeric, RandomSource};
use crate::config::SigningAlgorithm;
use crate::store::models::SigningKeyRow;
use crate::store::{keys as key_store, DbConnection, StoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsSigner, ES256};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// How long an instance signs with the key it loaded before re-reading which
/// key is active (so a rotation by another process is picked up).
pub const KEY_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// A signing-key failure.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The master key is missing or malformed.
    #[error("{0}")]
    Config(String),
    /// A stored key does not decrypt: this instance has another master key.
    #[error("a signing key in the database does not decrypt with this master key; give every instance the same master_key (PATGATE_MASTER_KEY)")]
    WrongMasterKey,
    /// Key generation, parsing or signing failed.
    #[error("jose: {0}")]
    Jose(String),
    /// No key is active (start the server or run `patgate migrate` first).
    #[error("no active signing key")]
    NoActiveKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn jose(e: josekit::JoseError) -> KeyError {
    KeyError::Jose(e.to_string())
}

/// The `typ` of a JWT patgate signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtType {
    /// `at+jwt`, an access token (RFC 9068 §2.1).
    AccessToken,
    /// `JWT` (RFC 7519 §5.1), the `@access-tokens`-compatible token.
    Jwt,
}

impl JwtType {
    /// The header's `typ` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            JwtType::AccessToken => "at+jwt",
            JwtType::Jwt => "JWT",
        }
    }
}

/// What signs: ES256 through ring (the default algorithm, the hot path),
/// others through josekit.
enum KeySigner {
    Es256(Box<(ring::signature::EcdsaKeyPair, ring::rand::SystemRandom)>),
    Jose(Box<dyn JwsSigner>),
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.algorithm())
    }
}

impl KeySigner {
    /// The signer of a stored private key (SEC1 or PKCS#8 DER) for `alg`.
    fn from_der(alg: &str, der: &[u8]) -> Result<Self, KeyError> {
        match alg {
            "ES256" => {
                let pkcs8 = openssl::pkey::PKey::private_key_from_der(der)
                    .and_then(|k| k.private_key_to_pkcs8())
                    .map_err(|e| KeyError::Jose(format!("stored ES256 key: {e}")))?;
                let random = ring::rand::SystemRandom::new();
                let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &random,
                )
                .map_err(|e| KeyError::Jose(format!("stored ES256 key: {e}")))?;
                Ok(KeySigner::Es256(Box::new((pair, random))))
            }
            "EdDSA" => Ok(KeySigner::Jose(Box::new(
                EdDSA.signer_from_der(der).map_err(jose)?,
            ))),
            other => Err(KeyError::Jose(format!(
                "unsupported stored algorithm {other}"
            ))),
        }
    }

    /// The JWS `alg` (RFC 7518 §3.1).
    fn algorithm(&self) -> &str {
        match self {
            KeySigner::Es256(..) => "ES256",
            KeySigner::Jose(s) => s.algorithm().name(),
        }
    }

    /// The JWS signature of `input`; for ES256 the 64-byte `R ‖ S` of
    /// RFC 7518 §3.4.
    fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            KeySigner::Es256(key) => key
                .0
                .sign(&key.1, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Jose("ES256 signing failed".into())),
            KeySigner::Jose(s) => s.sign(input).map_err(jose),
        }
    }
}

/// The key that signs new tokens, decrypted and ready.
#[derive(Debug)]
pub struct ActiveKey {
    /// Key id, the JWS `kid`.
    pub kid: String,
    signer: KeySigner,
    /// The encoded JWS header of each [`JwtType`], built once per key.
    headers: [String; 2],
    loaded: Instant,
}

impl ActiveKey {
    fn new(kid: String, signer: KeySigner) -> Self {
        let header = |typ: JwtType| {
            let json = serde_json::json!({
                "alg": signer.algorithm(),
                "kid": kid,
                "typ": typ.as_str(),
            });
            URL_SAFE_NO_PAD.encode(json.to_string())
        };
        let headers = [header(JwtType::AccessToken), header(JwtType::Jwt)];
        Self {
            kid,
            signer,
            headers,
            loaded: Instant::now(),
        }
    }

    /// Signs `claims` as a compact JWS (RFC 7515 §7.1) whose header holds
    /// `typ`, the algorithm and this key's `kid`: the header is encoded
    /// once per key, the claims straight from their type into the token.
    pub fn sign(&self, typ: JwtType, claims: &impl Serialize) -> Result<String, KeyError> {
        let header = &self.headers[typ as usize];
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Jose(e.to_string()))?;
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 96);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.signer.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// The signing keys as this instance sees them.
#[derive(Debug)]
pub struct KeyRing {
    master: MasterKey,
    algorithm: SigningAlgorithm,
    cached: RwLock<Option<Arc<ActiveKey>>>,
}

impl KeyRing {
    /// A key ring that seals with `master` and generates `algorithm` keys.
    pub fn new(master: MasterKey, algorithm: SigningAlgorithm) -> Self {
        Self {
            master,
            algorithm,
            cached: RwLock::new(None),
        }
    }

    /// Makes sure a key is active, generating one on first start; when two
    /// instances race, the database's one-active index keeps exactly one.
    /// Also proves the master key opens the active key. Blocking.
    pub fn ensure_active(
        &self,
        conn: &mut DbConnection,
        random: &dyn RandomSource,
        now: DateTime<Utc>,
    ) -> Result<String, KeyError> {
        if key_store::active(conn)?.is_none() {
            let row = self.generate(random, now)?;
            if key_store::insert_first(conn, &row)? {
                tracing::info!(kid = %row.kid, alg = %row.alg, "generated the first signing key");
            }
        }
        self.invalidate();
        Ok(self.active(conn)?.kid.clone())
    }

    /// The active key, re-read from the database at most every `KEY_REFRESH`.
    pub fn active(&self, conn: &mut DbConnection) -> Result<Arc<ActiveKey>, KeyError> {
        if let Some(key) = self
            .cached
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if key.loaded.elapsed() < KEY_REFRESH {
                return Ok(key.clone());
            }
        }
        let row = key_store::active(conn)?.ok_or(KeyError::NoActiveKey)?;
        let der = self.master.open(&row.kid, &row.private_key_sealed)?;
        let signer = KeySigner::from_der(&row.alg, &der)?;
        let key = Arc::new(ActiveKey::new(row.kid, signer));
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some(key.clone());
        Ok(key)
    }

    /// Forgets the cached active key, so the next signature re-reads it.
    pub fn invalidate(&self) {
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Makes a new key active. The old one stops signing and stays published
    /// for `access_token_ttl` plus the refresh window and a minute of clock
    /// skew: past that, every JWT it signed has expired. Blocking.
    pub fn rotate(
        &self,
        conn: &mut DbConnection,
        random: &dyn RandomSource,
        now: DateTime<Utc>,
        access_token_ttl: Duration,
    ) -> Result<String, KeyError> {
        let row = self.generate(random, now)?;
        let refresh = Duration::from_std(KEY_REFRESH).expect("small duration");
        let publish_until = now + access_token_ttl + refresh + Duration::minutes(1);
        key_store::rotate(conn, &row, now, publish_until)?;
        self.invalidate();
        tracing::info!(kid = %row.kid, "rotated the signing key");
        Ok(row.kid)
    }

    /// The JWKS document: public keys of the active and still-published keys.
    pub fn jwks(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Value, KeyError> {
        let keys = key_store::published(conn, now)?
            .into_iter()
            .map(|row| serde_json::from_str::<Value>(&row.public_jwk))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeyError::Jose(format!("stored public JWK: {e}")))?;
        Ok(serde_json::json!({ "keys": keys }))
    }

    fn generate(
        &self,
        random: &dyn RandomSource,
        now: DateTime<Utc>,
    ) -> Result<SigningKeyRow, KeyError> {
        let kid = random_alphanumeric(random, 16);
        let (der, mut jwk) = match self.algorithm {
            SigningAlgorithm::ES256 => {
                let pair = ES256.generate_key_pair().map_err(jose)?;
                (pair.to_der_private_key(), pair.to_jwk_public_key())
            }
            SigningAlgorithm::EdDSA => {
                let pair = EdDSA
                    .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
                    .map_err(jose)?;
                (pair.to_der_private_key(), pair.to_jwk_public_key())
            }
        };
        jwk.set_key_id(&kid);
        jwk.set_algorithm(self.algorithm.as_str());
        jwk.set_key_use("sig");
        let public_jwk =
            serde_json::to_string(jwk.as_ref()).map_err(|e| KeyError::Jose(e.to_string()))?;
        Ok(SigningKeyRow {
            private_key_sealed: self.master.seal(&kid, &der, random),
            kid,
            alg: self.algorithm.as_str().to_string(),
            public_jwk,
            active: true,
            created_at: now.naive_utc(),
            retired_at: None,
            publish_until: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::KeyPair;

    #[test]
    fn es256_tokens_signed_through_ring_verify_with_the_published_key() {
        let pair = ES256.generate_key_pair().unwrap();
        let signer = KeySigner::from_der("ES256", &pair.to_der_private_key()).unwrap();
        let key = ActiveKey::new("kid-1".into(), signer);
        let claims = serde_json::json!({"sub": "alice", "scope": "read write"});
        let jwt = key.sign(JwtType::AccessToken, &claims).unwrap();
        let verifier = ES256.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        let (payload, header) = josekit::jwt::decode_with_verifier(&jwt, &verifier).unwrap();
        assert_eq!(header.token_type(), Some("at+jwt"));
        assert_eq!(header.key_id(), Some("kid-1"));
        assert_eq!(header.algorithm(), Some("ES256"));
        assert_eq!(payload.subject(), Some("alice"));
        let other = ES256.generate_key_pair().unwrap();
        let wrong = ES256.verifier_from_jwk(&other.to_jwk_public_key()).unwrap();
        assert!(josekit::jwt::decode_with_verifier(&jwt, &wrong).is_err());
    }

    #[test]
    fn eddsa_keys_sign_through_josekit() {
        let pair = EdDSA
            .generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519)
            .unwrap();
        let signer = KeySigner::from_der("EdDSA", &pair.to_der_private_key()).unwrap();
        let key = ActiveKey::new("kid-2".into(), signer);
        let jwt = key
            .sign(JwtType::Jwt, &serde_json::json!({"sub": "bob"}))
            .unwrap();
        let verifier = EdDSA.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        let (_, header) = josekit::jwt::decode_with_verifier(&jwt, &verifier).unwrap();
        assert_eq!(header.token_type(), Some("JWT"));
        assert!(KeySigner::from_der("RS256", b"").is_err());
    }
}
