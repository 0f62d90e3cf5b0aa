//! Signing keys: generated on first start, sealed at rest with the master key,
//! shared through the database by every instance, rotated on demand, and
//! published as a JWKS (RFC 7517 §5) while tokens they signed may be alive.

mod master_key;
mod verifiers;

pub use master_key::MasterKey;
pub use verifiers::verifier_for;

use crate::clock::{random_alphanumeric, RandomSource};
use crate::config::SigningAlgorithm;
use crate::store::models::SigningKeyRow;
use crate::store::{keys as key_store, DbConnection, StoreError};
use chrono::{DateTime, Duration, Utc};
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, ES256};
use josekit::jwt::JwtPayload;
use serde_json::{Map, Value};
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

/// The key that signs new tokens, decrypted and ready.
#[derive(Debug)]
pub struct ActiveKey {
    /// Key id, the JWS `kid`.
    pub kid: String,
    signer: Box<dyn JwsSigner>,
    loaded: Instant,
}

impl ActiveKey {
    /// Signs `claims` as a JWT with header `typ` and this key's `kid`.
    pub fn sign(&self, typ: &str, claims: Map<String, Value>) -> Result<String, KeyError> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.kid);
        let payload = JwtPayload::from_map(claims).map_err(jose)?;
        josekit::jwt::encode_with_signer(&payload, &header, self.signer.as_ref()).map_err(jose)
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
        let signer: Box<dyn JwsSigner> = match row.alg.as_str() {
            "ES256" => Box::new(ES256.signer_from_der(&der).map_err(jose)?),
            "EdDSA" => Box::new(EdDSA.signer_from_der(&der).map_err(jose)?),
            other => {
                return Err(KeyError::Jose(format!(
                    "unsupported stored algorithm {other}"
                )))
            }
        };
        let key = Arc::new(ActiveKey {
            kid: row.kid,
            signer,
            loaded: Instant::now(),
        });
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
