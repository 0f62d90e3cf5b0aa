//! `[hashing]`: the argon2id cost of new secrets and how many hash at once.

use super::{defaults, lenient_u32};
use serde::Deserialize;

/// Argon2id cost for newly hashed secrets, and the bound on concurrent hashing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingConfig {
    /// Argon2 memory cost in KiB (OWASP: 19456).
    #[serde(
        default = "defaults::argon2_memory_kib",
        deserialize_with = "lenient_u32"
    )]
    pub argon2_memory_kib: u32,
    /// Argon2 passes.
    #[serde(
        default = "defaults::argon2_iterations",
        deserialize_with = "lenient_u32"
    )]
    pub argon2_iterations: u32,
    /// Argon2 lanes.
    #[serde(
        default = "defaults::argon2_parallelism",
        deserialize_with = "lenient_u32"
    )]
    pub argon2_parallelism: u32,
    /// How many hash verifications may run at once (default: CPU count).
    #[serde(default = "defaults::max_concurrent", deserialize_with = "lenient_u32")]
    pub max_concurrent: u32,
}

impl Default for HashingConfig {
    fn default() -> Self {
        Self {
            argon2_memory_kib: defaults::argon2_memory_kib(),
            argon2_iterations: defaults::argon2_iterations(),
            argon2_parallelism: defaults::argon2_parallelism(),
            max_concurrent: defaults::max_concurrent(),
        }
    }
}
