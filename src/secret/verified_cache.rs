//! A cache of recently verified secrets, so the exchange does not run argon2
//! on every call.
//!
//! An entry is `HMAC-SHA256(k, id ‖ 0 ‖ stored PHC ‖ 0 ‖ presented secret)`,
//! where `k` is 32 random bytes drawn when the process starts and never
//! stored. The cache holds neither secrets nor anything that yields them: a
//! memory dump shows 256-bit MACs of secrets that themselves carry 262 random
//! bits, so no guessing attack is feasible, and the MACs do not match those
//! of any other process. Because the stored PHC string is part of the MAC
//! input, a changed hash (a regenerated secret) misses the cache at once. The
//! cache only ever answers "this secret matches this hash"; revocation and
//! expiry are read from the database on every exchange.
//!
//! Beside each entry, a second MAC over `presented ‖ 0 ‖ id ‖ 0 ‖ secret`
//! answers, before the token row is read, "was this very secret verified
//! for this id lately?" A request for which it says no will need a full
//! verification, so the rate limits apply to it before any database work.

use crate::clock::RandomSource;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Digest = [u8; 32];

/// Recently verified (token id, stored hash, secret) triples, as MACs.
pub struct VerifiedSecretCache {
    /// HMAC-SHA256 keyed with 32 random bytes, cloned for each MAC (the
    /// key's own blocks are hashed once).
    keyed: Hmac<Sha256>,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Digest, Instant>>,
}

impl std::fmt::Debug for VerifiedSecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedSecretCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl VerifiedSecretCache {
    /// A cache whose entries live `ttl` and that holds at most `capacity`.
    pub fn new(random: &dyn RandomSource, ttl: Duration, capacity: usize) -> Self {
        let mut key = [0u8; 32];
        random.fill(&mut key);
        let keyed = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        key.fill(0);
        Self {
            keyed,
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, id: &str, phc: &str, secret: &str) -> Digest {
        let mut mac = self.keyed.clone();
        for part in [
            id.as_bytes(),
            b"\0",
            phc.as_bytes(),
            b"\0",
            secret.as_bytes(),
        ] {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn presented_digest(&self, id: &str, secret: &str) -> Digest {
        self.digest("presented", id, secret)
    }

    /// Whether this secret was verified for token `id` recently, against
    /// whichever hash: a hint before the row is read, never a decision.
    pub fn knows(&self, id: &str, secret: &str) -> bool {
        let d = self.presented_digest(id, secret);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&d).is_some_and(|at| at.elapsed() < self.ttl)
    }

    /// Whether this secret was verified against this stored hash recently.
    /// The lookup is by MAC, so no secret is ever compared byte by byte.
    pub fn contains(&self, id: &str, phc: &str, secret: &str) -> bool {
        let d = self.digest(id, phc, secret);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&d).is_some_and(|at| at.elapsed() < self.ttl)
    }

    /// Records a successful full verification.
    pub fn insert(&self, id: &str, phc: &str, secret: &str) {
        let d = self.digest(id, phc, secret);
        let presented = self.presented_digest(id, secret);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, at| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(d, now);
        entries.insert(presented, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn hit_only_for_same_id_hash_and_secret() {
        let c = VerifiedSecretCache::new(&OsRandom, Duration::from_secs(60), 10);
        c.insert("id1", "$argon2id$a", "secret");
        assert!(c.contains("id1", "$argon2id$a", "secret"));
        assert!(
            !c.contains("id1", "$argon2id$b", "secret"),
            "changed hash must miss"
        );
        assert!(!c.contains("id1", "$argon2id$a", "secreT"));
        assert!(!c.contains("id2", "$argon2id$a", "secret"));
        assert!(c.knows("id1", "secret"));
        assert!(!c.knows("id1", "secreT") && !c.knows("id2", "secret"));
    }

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = VerifiedSecretCache::new(&OsRandom, Duration::from_millis(0), 2);
        c.insert("a", "h", "s");
        assert!(!c.contains("a", "h", "s"));
        let c = VerifiedSecretCache::new(&OsRandom, Duration::from_secs(60), 2);
        for i in 0..5 {
            c.insert(&i.to_string(), "h", "s");
        }
        assert!(c.entries.lock().unwrap().len() <= 3);
        assert!(c.contains("4", "h", "s"));
    }

    #[test]
    fn debug_shows_no_key() {
        let c = VerifiedSecretCache::new(&OsRandom, Duration::from_secs(1), 1);
        assert!(!format!("{c:?}").contains("key"));
    }
}
