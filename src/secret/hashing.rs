//! Secret hashing: argon2id PHC strings for new secrets; verification of
//! argon2 and `$scrypt$` PHC strings, so tokens registered from other systems
//! keep working.
//!
//! Argon2's memory (19 MiB at the default cost) comes from a small pool of
//! areas that are reused, one per concurrent computation: allocating it per
//! verification on many blocking threads made the allocator keep gigabytes
//! under a flood of wrong secrets. Concurrency is bounded by the hashing
//! lanes ([`super::lanes`]), so the pool never holds more areas than turns.

use crate::clock::RandomSource;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::PasswordVerifier;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Stored hashes asking for more memory than this (KiB) never match: a
/// registered PHC string must not make one verification take gigabytes.
pub const MAX_STORED_MEMORY_KIB: u32 = 256 * 1024;

/// Hashes and verifies token secrets; counts verifications.
#[derive(Debug)]
pub struct SecretHasher {
    params: Params,
    verifications: AtomicU64,
    memory: MemoryPool,
}

/// Argon2 memory areas kept for reuse: at most `keep` areas of the
/// configured size; larger ones (hashes stored with a higher cost) are
/// allocated for one use and freed.
#[derive(Debug)]
struct MemoryPool {
    free: Mutex<Vec<Vec<Block>>>,
    blocks: usize,
    keep: usize,
}

impl MemoryPool {
    fn with<R>(&self, needed: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
        if needed > self.blocks {
            return work(&mut vec![Block::new(); needed]);
        }
        let taken = self.free.lock().map(|mut f| f.pop()).unwrap_or(None);
        let mut area = taken.unwrap_or_else(|| vec![Block::new(); self.blocks]);
        let result = work(&mut area[..needed]);
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(area);
            }
        }
        result
    }
}

/// Why hashing failed (bad parameters; never the caller's input).
#[derive(Debug, thiserror::Error)]
#[error("secret hashing: {0}")]
pub struct HashingError(String);

impl SecretHasher {
    /// A hasher with this argon2id cost: memory in KiB, passes, lanes.
    /// At most `areas` argon2 memory areas are kept for reuse (one per turn).
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        areas: usize,
    ) -> Result<Self, HashingError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashingError(e.to_string()))?;
        Ok(Self {
            memory: MemoryPool {
                free: Mutex::new(Vec::new()),
                blocks: params.block_count(),
                keep: areas,
            },
            params,
            verifications: AtomicU64::new(0),
        })
    }

    /// Argon2 of `secret` with `salt`, `params` and `algorithm` into `out`,
    /// in a pooled memory area.
    fn argon2_into(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        secret: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let needed = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        self.memory.with(needed, |area| {
            argon2.hash_password_into_with_memory(secret, salt, out, area)
        })
    }

    /// Hashes `secret` with a fresh 16-byte salt into an argon2id PHC string.
    /// Blocking (tens of milliseconds at the default cost).
    pub fn hash(&self, secret: &str, random: &dyn RandomSource) -> Result<String, HashingError> {
        let err = |e: &dyn std::fmt::Display| HashingError(e.to_string());
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
        self.argon2_into(
            algorithm,
            version,
            self.params.clone(),
            secret.as_bytes(),
            &salt,
            &mut out,
        )
        .map_err(|e| err(&e))?;
        let phc = PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| err(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
            hash: Some(Output::new(&out).map_err(|e| err(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Argon2 verification in a pooled memory area (RFC 9106 §3).
    fn verify_argon2(&self, secret: &[u8], parsed: &PasswordHash) -> bool {
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
            return false;
        };
        let version = match parsed.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(parsed) else {
            return false;
        };
        if params.m_cost() > MAX_STORED_MEMORY_KIB {
            return false;
        }
        let mut out = vec![0u8; expected.len()];
        self.argon2_into(algorithm, version, params, secret, salt.as_ref(), &mut out)
            .is_ok()
            && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
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
            "argon2id" | "argon2i" | "argon2d" => self.verify_argon2(secret, &parsed),
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
        SecretHasher::new(64, 1, 1, 2).unwrap()
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
    fn pooled_argon2_agrees_with_the_argon2_crate() {
        let h = light();
        let ours = h.hash("pooled", &OsRandom).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"pooled", &parsed)
            .is_ok());
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(32, 2, 2, Some(24)).unwrap(),
        )
        .hash_password_with_salt(b"theirs", b"saltsaltsalt")
        .unwrap()
        .to_string();
        assert!(h.verify("theirs", &theirs));
        assert!(!h.verify("theirs!", &theirs));
        // Larger than the pooled area: allocated once, still right.
        let big = SecretHasher::new(256, 1, 1, 1)
            .unwrap()
            .hash("big", &OsRandom)
            .unwrap();
        assert!(h.verify("big", &big));
        assert!(h.memory.free.lock().unwrap().len() <= 2);
    }

    #[test]
    fn stored_hashes_asking_for_too_much_memory_never_match() {
        let phc = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!light().verify("x", phc));
    }

    #[test]
    fn garbage_never_matches() {
        assert!(!light().verify("x", "not a phc string"));
        assert!(!light().verify("x", "$md5$abc$def"));
        assert!(!SecretHasher::is_supported("$md5$abc$def"));
    }
}
