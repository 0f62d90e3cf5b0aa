//! Rate limits (GCRA, the `governor` crate) on what an unauthenticated
//! caller can make patgate spend: full secret verifications per client
//! address, and per token id *from* one address; writes per address. Kept
//! in memory per instance (see [`crate::config::LimitsConfig`]). IPv6
//! addresses count per /64, the smallest block one subscriber usually holds.
//!
//! Defences that cannot be aimed: no budget is keyed by a token id alone,
//! since anyone can read a token's public id. Wrong secrets sent from one
//! address spend that address's budgets only, so the holder exchanging from
//! any other address is never refused because of them.

use crate::config::LimitsConfig;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Full verifications for one token id from one address.
    ColdPerToken,
    /// Full verifications from one address.
    ColdPerAddress,
    /// Unauthenticated writes from one address.
    AnonymousWrites,
    /// Device user codes typed by one person or from one address.
    UserCodes,
}

impl Limit {
    /// The limit's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::ColdPerToken => "cold_exchanges_per_token",
            Limit::ColdPerAddress => "cold_exchanges_per_address",
            Limit::AnonymousWrites => "anonymous_writes_per_address",
            Limit::UserCodes => "user_codes_per_minute",
        }
    }
}

/// A refusal: which limit, and after how many whole seconds to retry
/// (`Retry-After`, RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit {} reached; retry after {retry_after} s", limit.as_str())]
pub struct Throttled {
    /// The limit reached.
    pub limit: Limit,
    /// Seconds until one more request is allowed (at least 1).
    pub retry_after: u64,
}

/// The key of an address: IPv4 whole, IPv6 by its /64.
fn address_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => (u128::from(v6) >> 64) | (1 << 127),
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

/// The limiters of one instance.
pub struct Limiters {
    per_token: Option<DefaultKeyedRateLimiter<(String, u128)>>,
    per_address: Option<DefaultKeyedRateLimiter<u128>>,
    anonymous: Option<DefaultKeyedRateLimiter<u128>>,
    user_codes_by_person: Option<DefaultKeyedRateLimiter<String>>,
    user_codes_by_address: Option<DefaultKeyedRateLimiter<u128>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("tracked_keys", &self.tracked_keys())
            .finish()
    }
}

impl Default for Limiters {
    fn default() -> Self {
        Self::new(&LimitsConfig::default())
    }
}

impl Limiters {
    /// The limiters `[limits]` asks for.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_token: keyed(config.cold_exchanges_per_token),
            per_address: keyed(config.cold_exchanges_per_address),
            anonymous: keyed(config.anonymous_writes_per_address),
            user_codes_by_person: keyed(config.user_codes_per_minute),
            user_codes_by_address: keyed(config.user_codes_per_minute),
            clock: DefaultClock::default(),
        }
    }

    fn take<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &Option<DefaultKeyedRateLimiter<K>>,
        key: &K,
        limit: Limit,
    ) -> Result<(), Throttled> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| Throttled {
            limit,
            retry_after: not_until.wait_time_from(self.clock.now()).as_secs() + 1,
        })
    }

    /// One full verification of a secret for `token_id` (when known) from `ip`
    /// (when known): charged to the address, and to the pair of that token id
    /// and that address. A caller whose secret is in the verified cache never
    /// gets here, and another address's guesses never refuse it.
    pub fn cold_verification(
        &self,
        token_id: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<(), Throttled> {
        let address = ip.map(address_key);
        if let Some(address) = address {
            self.take(&self.per_address, &address, Limit::ColdPerAddress)?;
        }
        if let Some(id) = token_id {
            // Without an address (a Unix socket), every caller is one.
            let key = (id.to_string(), address.unwrap_or(0));
            self.take(&self.per_token, &key, Limit::ColdPerToken)?;
        }
        Ok(())
    }

    /// One unauthenticated request that writes something, from `ip`.
    pub fn anonymous_write(&self, ip: Option<IpAddr>) -> Result<(), Throttled> {
        match ip {
            Some(ip) => self.take(&self.anonymous, &address_key(ip), Limit::AnonymousWrites),
            None => Ok(()),
        }
    }

    /// One device user code typed by `person` from `ip` (RFC 8628 §5.1):
    /// charged to the person and to the address, so neither many sessions
    /// nor many people behind one address guess faster.
    pub fn user_code(&self, person: &str, ip: Option<IpAddr>) -> Result<(), Throttled> {
        self.take(
            &self.user_codes_by_person,
            &person.to_string(),
            Limit::UserCodes,
        )?;
        match ip {
            Some(ip) => self.take(
                &self.user_codes_by_address,
                &address_key(ip),
                Limit::UserCodes,
            ),
            None => Ok(()),
        }
    }

    /// Forgets keys whose budget is full again, so memory follows the
    /// callers of the last minute, not of all time.
    pub fn forget_idle(&self) {
        fn tidy<K: std::hash::Hash + Eq + Clone>(l: &Option<DefaultKeyedRateLimiter<K>>) {
            if let Some(l) = l {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
        tidy(&self.per_token);
        tidy(&self.per_address);
        tidy(&self.anonymous);
        tidy(&self.user_codes_by_person);
        tidy(&self.user_codes_by_address);
    }

    /// How many keys the limiters hold now.
    pub fn tracked_keys(&self) -> usize {
        self.per_token.as_ref().map_or(0, |l| l.len())
            + self.per_address.as_ref().map_or(0, |l| l.len())
            + self.anonymous.as_ref().map_or(0, |l| l.len())
            + self.user_codes_by_person.as_ref().map_or(0, |l| l.len())
            + self.user_codes_by_address.as_ref().map_or(0, |l| l.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_token: u32, per_address: u32) -> Limiters {
        Limiters::new(&LimitsConfig {
            cold_exchanges_per_token: per_token,
            cold_exchanges_per_address: per_address,
            anonymous_writes_per_address: 2,
            ..LimitsConfig::default()
        })
    }

    #[test]
    fn a_token_id_runs_out_from_one_address_only() {
        let l = limits(3, 0);
        let guesser = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            l.cold_verification(Some("a"), guesser).unwrap();
        }
        let refused = l.cold_verification(Some("a"), guesser).unwrap_err();
        assert_eq!(refused.limit, Limit::ColdPerToken);
        assert!((1..=21).contains(&refused.retry_after), "{refused:?}");
        l.cold_verification(Some("b"), guesser).unwrap();
        // The holder elsewhere is not refused by the guesser's failures.
        let holder = Some("198.51.100.7".parse().unwrap());
        l.cold_verification(Some("a"), holder).unwrap();
    }

    #[test]
    fn ipv6_counts_per_64_and_ipv4_per_address() {
        let l = limits(0, 1);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        l.cold_verification(None, Some(a)).unwrap();
        assert!(l.cold_verification(None, Some(same_64)).is_err());
        l.cold_verification(None, Some(other_64)).unwrap();
        l.cold_verification(None, Some("10.0.0.1".parse().unwrap()))
            .unwrap();
        l.cold_verification(None, Some("10.0.0.2".parse().unwrap()))
            .unwrap();
    }

    #[test]
    fn zero_means_no_limit_and_anonymous_writes_are_their_own() {
        let l = limits(0, 0);
        let ip = Some("192.0.2.7".parse().unwrap());
        for _ in 0..100 {
            l.cold_verification(Some("a"), ip).unwrap();
        }
        l.anonymous_write(ip).unwrap();
        l.anonymous_write(ip).unwrap();
        assert_eq!(
            l.anonymous_write(ip).unwrap_err().limit,
            Limit::AnonymousWrites
        );
        assert!(l.tracked_keys() >= 1);
    }
}
