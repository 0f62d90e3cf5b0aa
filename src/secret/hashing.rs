//! Secret hashing: argon2id PHC strings for new secrets; verification of
//! argon2 and `$scrypt$` PHC strings, so tokens registered from other systems
//! keep working.

use crate::clock::RandomSource;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};

/// Hashes and verifies token secrets; counts verifications.
#[derive(Debug)]
pub struct SecretHasher {
    params: Params,
    verifications: AtomicU64,
}

/// Why hashing failed (bad parameters; never the caller's input).
#[derive(Debug, thiserror::Error)]
#[error("secret hashing: {0}")]
pub struct HashingError(String);

impl SecretHasher {
    /// A hasher with this argon2id cost: memory in KiB, passes, lanes.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, HashingError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashingError(e.to_string()))?;
        Ok(Self {
            params,
            verifications: AtomicU64::new(0),
        })
    }

    /// Hashes `secret` with a fresh 16-byte salt into an argon2id PHC string.
    /// Blocking (tens of milliseconds at the default cost).
    pub fn hash(&self, secret: &str, random: &dyn RandomSource) -> Result<String, HashingError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password_with_salt(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashingError(e.to_string()))
    }

    /// Whether `secret` matches the PHC string `phc` (argon2 or scrypt, with
    /// the parameters stored in the string). Blocking. A malformed or
    /// unsupported PHC string never matches.
    pub fn verify(&self, secret: &str, phc: &str) -> bool {
        self.verify_bytes(secret.as_bytes(), phc)
    }

    /// [`Self::verify`] for a secret given as bytes (tokens registered from
    /// elsewhere hash the decoded secret). Blocking.
    pub fn verify_bytes(&self, secret: &[u8], phc: &str) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        match parsed.algorithm.as_str() {
            "argon2id" | "argon2i" | "argon2d" => {
                Argon2::default().verify_password(secret, &parsed).is_ok()
            }
            "scrypt" => scrypt::Scrypt::new()
                .verify_password(secret, &parsed)
                .is_ok(),
            _ => false,
        }
    }

    /// Whether `phc` is a PHC string this hasher can verify.
    pub fn is_supported(phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|p| {
            matches!(
                p.algorithm.as_str(),
                "argon2id" | "argon2i" | "argon2d" | "scrypt"
            )
        })
    }

    /// How many full verifications ran since start (the cache's misses).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    fn light() -> SecretHasher {
        SecretHasher::new(64, 1, 1).unwrap()
    }

    #[test]
    fn argon2id_round_trip() {
        let h = light();
        let phc = h.hash("s3cret", &OsRandom).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(h.verify("s3cret", &phc));
        assert!(!h.verify("s3cret!", &phc));
        assert_eq!(h.verifications(), 2);
    }

    #[test]
    fn scrypt_phc_strings_verify() {
        use scrypt::password_hash::CustomizedPasswordHasher;
        let params = scrypt::Params::new(10, 8, 1).unwrap();
        let phc = scrypt::Scrypt::new()
            .hash_password_with_params(b"from-elsewhere", b"0123456789abcdef", params)
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$scrypt$"));
        assert!(SecretHasher::is_supported(&phc));
        assert!(light().verify("from-elsewhere", &phc));
        assert!(!light().verify("from-elsewhere2", &phc));
    }

    #[test]
    fn garbage_never_matches() {
        assert!(!light().verify("x", "not a phc string"));
        assert!(!light().verify("x", "$md5$abc$def"));
        assert!(!SecretHasher::is_supported("$md5$abc$def"));
    }
}
