//! The default of every setting: the embedded default runs with none given.

use super::{MaxTokenLifetime, Ttl};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// Loopback port 8080.
pub fn listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
/// `./patgate-data`.
pub fn data_dir() -> PathBuf {
    PathBuf::from("./patgate-data")
}
/// `true`, for switches that are on unless turned off.
pub fn yes() -> bool {
    true
}

/// Ten connections.
pub fn pool_size() -> u32 {
    10
}
/// One minute.
pub fn database_idle_timeout() -> Ttl {
    Ttl::minutes(1)
}
/// The default listen address over http.
pub fn issuer() -> Url {
    Url::parse("http://127.0.0.1:8080").expect("static URL")
}
/// Ten minutes.
pub fn access_token_ttl() -> Ttl {
    Ttl::minutes(10)
}
/// Thirty days.
pub fn token_default_ttl() -> Ttl {
    Ttl::days(30)
}
/// A year.
pub fn token_max_ttl() -> MaxTokenLifetime {
    MaxTokenLifetime::Limited(Ttl::days(365))
}
/// `read` and `write`, for the resource servers.
pub fn scopes() -> BTreeMap<String, String> {
    [
        (
            "read",
            "Read your data through the APIs that accept patgate tokens",
        ),
        (
            "write",
            "Create, change and delete your data through those APIs",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
/// A week and a day before expiry.
pub fn reminder_thresholds() -> Vec<Ttl> {
    vec![Ttl::days(7), Ttl::days(1)]
}
/// Every five minutes.
pub fn reminder_check_every() -> Ttl {
    Ttl::minutes(5)
}
/// Two hours.
pub fn session_idle_timeout() -> Ttl {
    Ttl::minutes(120)
}
/// Ninety days.
pub fn unused_after() -> Ttl {
    Ttl::minutes(90 * 24 * 60)
}
/// Twelve hours.
pub fn session_max_age() -> Ttl {
    Ttl::minutes(12 * 60)
}
/// 19 MiB (OWASP).
pub fn argon2_memory_kib() -> u32 {
    19 * 1024
}
/// Two passes.
pub fn argon2_iterations() -> u32 {
    2
}
/// One lane.
pub fn argon2_parallelism() -> u32 {
    1
}
/// One per CPU.
pub fn max_concurrent() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32)
}
