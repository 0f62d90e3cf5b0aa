//! `[limits]`: what one caller may cost. Rate limits are kept in memory per
//! instance; with N instances behind one address a caller may get up to N
//! times each figure. The sign-in lockout is kept in the database and shared.

use super::{lenient_u32, Ttl};
use serde::Deserialize;

/// Rate limits, hashing queues and database timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Full secret verifications (cache misses) per token id from one client
    /// address (IPv6: /64) per minute; 0: no limit. Never per id alone, so
    /// nobody can spend a holder's budget by knowing the public id.
    #[serde(default = "cold_exchanges_per_token", deserialize_with = "lenient_u32")]
    pub cold_exchanges_per_token: u32,
    /// Full secret verifications (PATs and client secrets) per client address
    /// per minute (IPv6: per /64); 0: no limit.
    #[serde(
        default = "cold_exchanges_per_address",
        deserialize_with = "lenient_u32"
    )]
    pub cold_exchanges_per_address: u32,
    /// Unauthenticated requests that write (authorize, device authorization,
    /// sign-in, SSO start) per client address per minute; 0: no limit.
    #[serde(
        default = "anonymous_writes_per_address",
        deserialize_with = "lenient_u32"
    )]
    pub anonymous_writes_per_address: u32,
    /// Device user codes typed at `/device` per person and per client
    /// address (IPv6: per /64) per minute (RFC 8628 §5.1); 0: no limit.
    #[serde(default = "user_codes_per_minute", deserialize_with = "lenient_u32")]
    pub user_codes_per_minute: u32,
    /// Verifications that may wait for a hashing turn, per kind of work;
    /// more are refused at once with 503.
    #[serde(default = "hashing_queue", deserialize_with = "lenient_u32")]
    pub hashing_queue: u32,
    /// The longest wait for a hashing turn before 503.
    #[serde(default = "hashing_wait")]
    pub hashing_wait: Ttl,
    /// Connect, statement and pool checkout timeout toward the database; a
    /// stalled database fails requests with 503 after this long.
    #[serde(default = "database_timeout")]
    pub database_timeout: Ttl,
    /// Client connections open at once; over it a request is answered 503
    /// with `Retry-After` and its connection closed. Lowered at start to
    /// what the open-files limit allows (see `descriptors`).
    #[serde(default = "max_connections", deserialize_with = "lenient_u32")]
    pub max_connections: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            cold_exchanges_per_token: cold_exchanges_per_token(),
            cold_exchanges_per_address: cold_exchanges_per_address(),
            anonymous_writes_per_address: anonymous_writes_per_address(),
            user_codes_per_minute: user_codes_per_minute(),
            hashing_queue: hashing_queue(),
            hashing_wait: hashing_wait(),
            database_timeout: database_timeout(),
            max_connections: max_connections(),
        }
    }
}

/// Ten thousand: far over what one instance serves well, under what a
/// flood of idle connections would need to exhaust its descriptors.
fn max_connections() -> u32 {
    10_000
}
/// Six: a known id stops costing argon2 after a few wrong secrets a minute
/// from one address.
fn cold_exchanges_per_token() -> u32 {
    6
}
/// Sixty: a CI farm behind one NAT exchanging many tokens stays under it.
fn cold_exchanges_per_address() -> u32 {
    60
}
/// Sixty.
fn anonymous_writes_per_address() -> u32 {
    60
}
/// Ten: a person types a code or two; a guesser of the ~34 bits of a user
/// code gets ten tries a minute.
fn user_codes_per_minute() -> u32 {
    10
}
/// Sixteen waiting per kind of work.
fn hashing_queue() -> u32 {
    16
}
/// Two seconds.
fn hashing_wait() -> Ttl {
    Ttl::from_seconds(2)
}
/// Five seconds.
fn database_timeout() -> Ttl {
    Ttl::from_seconds(5)
}
