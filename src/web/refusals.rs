//! Refusals in the log under attack: the first refusal of a key (a token id,
//! a limit and address) in a minute is logged at once; the rest are counted
//! and summarised as one line per key when the minute ends. The audit log
//! keeps the full record of exchange refusals (see `audit::counter`).

use std::collections::HashMap;
use std::sync::Mutex;

/// At most this many keys are told apart per minute; more are summed as one.
const MAX_KEYS: usize = 10_000;
/// The key beyond [`MAX_KEYS`].
const OTHERS: &str = "(others)";

/// Refusals counted since the last summary, per key and reason.
#[derive(Debug, Default)]
pub struct RefusalLog(Mutex<HashMap<(String, &'static str), u64>>);

impl RefusalLog {
    /// Counts one refusal; returns whether it is the first of its key and
    /// reason this minute (and so should be logged now).
    pub fn count(&self, key: &str, reason: &'static str) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&(key.to_string(), reason)) {
            *n += 1;
            return false;
        }
        let key = if map.len() >= MAX_KEYS { OTHERS } else { key };
        let n = map.entry((key.to_string(), reason)).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Logs one line per key and reason refused more than once since the
    /// last call, and forgets them all. Returns how many lines it wrote.
    pub fn summarise(&self) -> usize {
        let counted: Vec<_> = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let drained = map.drain().filter(|(_, n)| *n > 1).collect();
            map.shrink_to(64);
            drained
        };
        for ((key, reason), n) in &counted {
            tracing::info!(key = %key, reason, count = n, "refusals in the last minute");
        }
        counted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_of_a_key_is_logged_at_once_then_one_summary() {
        let log = RefusalLog::default();
        assert!(log.count("t1", "wrong_secret"));
        for _ in 0..999 {
            assert!(!log.count("t1", "wrong_secret"));
        }
        assert!(log.count("t1", "revoked"));
        assert!(log.count("t2", "wrong_secret"));
        // One line: t1 wrong_secret (the single ones were logged already).
        assert_eq!(log.summarise(), 1);
        assert_eq!(log.summarise(), 0);
        assert!(log.count("t1", "wrong_secret"));
    }

    #[test]
    fn keys_beyond_the_bound_are_summed() {
        let log = RefusalLog::default();
        for i in 0..MAX_KEYS + 50 {
            log.count(&format!("k{i}"), "x");
        }
        assert_eq!(log.0.lock().unwrap().len(), MAX_KEYS + 1);
        assert_eq!(log.summarise(), 1);
    }
}
