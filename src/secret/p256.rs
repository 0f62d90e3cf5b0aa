//! ECDSA P-256 public keys from PEM, and their signatures (secret-scanning
//! partners sign their alerts with them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::sign::Verifier;

/// A public key (PEM) if it is an ECDSA P-256 key.
pub fn public_key(pem: &str) -> Result<PKey<Public>, String> {
    let key = PKey::public_key_from_pem(pem.as_bytes()).map_err(|_| "not a PEM public key")?;
    let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
    if curve != Some(Nid::X9_62_PRIME256V1) {
        return Err("not an ECDSA P-256 key".into());
    }
    Ok(key)
}

/// Whether `signature_b64` (base64 of an ASN.1 DER ECDSA signature) is
/// `key`'s signature of `body` with SHA-256.
pub fn signed_by(key: &PKey<Public>, body: &[u8], signature_b64: &str) -> bool {
    let Ok(signature) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    Verifier::new(MessageDigest::sha256(), key)
        .and_then(|mut v| v.verify_oneshot(&signature, body))
        .unwrap_or(false)
}
