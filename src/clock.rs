//! Time and randomness, passed in through the app state so tests can fix them
//! (DESIGN.md, "Rules that hold everywhere").

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::{RngCore, SeedableRng};
use std::sync::Mutex;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant, truncated to microseconds so it round-trips
    /// through both databases unchanged.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A manual clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start.trunc_subsecs(6)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A clock set to another one: a base clock plus an offset measured
/// against the database server, so instances on PostgreSQL decide expiry,
/// grace and last use by one clock (the database's) without asking it on
/// every request. The offset starts at zero.
pub struct OffsetClock {
    base: std::sync::Arc<dyn Clock>,
    offset_micros: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    /// `base` with no offset yet.
    pub fn new(base: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            base,
            offset_micros: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// The base clock's time, without the offset.
    pub fn local(&self) -> DateTime<Utc> {
        self.base.now()
    }

    /// Sets the offset from one reading of `reference` taken between the
    /// base clock's `before` and `after` (its midpoint, so half the round
    /// trip is the error at most); the offset now.
    pub fn set_from(
        &self,
        before: DateTime<Utc>,
        reference: DateTime<Utc>,
        after: DateTime<Utc>,
    ) -> Duration {
        let midpoint = before + (after - before) / 2;
        let offset = reference - midpoint;
        let micros = offset.num_microseconds().unwrap_or(0);
        self.offset_micros
            .store(micros, std::sync::atomic::Ordering::Relaxed);
        Duration::microseconds(micros)
    }

    /// The offset in use.
    pub fn offset(&self) -> Duration {
        Duration::microseconds(
            self.offset_micros
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        (self.base.now() + self.offset()).trunc_subsecs(6)
    }
}

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// A deterministic generator seeded by the caller; for tests only.
pub struct SeededRandom(Mutex<rand::rngs::StdRng>);

impl SeededRandom {
    /// A generator that yields the same bytes for the same seed.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill_bytes(buf);
    }
}

/// Draws `len` characters uniformly from `[A-Za-z0-9]` (rejection sampling, no
/// modulo bias).
pub fn random_alphanumeric(random: &dyn RandomSource, len: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random.fill(&mut buf);
        for b in buf {
            // 248 = 4 * 62: bytes at or above it would bias the draw.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// RFC 3339 in UTC with whole seconds (`2026-12-01T15:06:26Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_has_requested_length_and_charset() {
        let s = random_alphanumeric(&OsRandom, 500);
        assert_eq!(s.len(), 500);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn seeded_random_is_repeatable() {
        let a = random_alphanumeric(&SeededRandom::new(7), 21);
        let b = random_alphanumeric(&SeededRandom::new(7), 21);
        assert_eq!(a, b);
        assert_ne!(a, random_alphanumeric(&SeededRandom::new(8), 21));
    }
}
