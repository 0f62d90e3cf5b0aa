//! Failed connection attempts in the log: the first one at once, then one
//! line per interval with how many failed meanwhile, so a database that is
//! down for minutes (or full: `too many clients`) does not flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The error of a connection attempt left undone because no request waits
/// for it any more (see `Manager::connect`): not a failure, not logged.
pub const NOT_WANTED: &str = "no request waits for this connection";

/// How often a line about failing connects is written at most.
const INTERVAL: Duration = Duration::from_secs(10);

/// The pool's error handler (r2d2 calls it for every failed connect).
#[derive(Debug, Default)]
pub struct LogOncePerInterval {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    logged_at: Option<Instant>,
    unlogged: u64,
}

impl LogOncePerInterval {
    /// Counts a failure; the number to report now (this one included) when
    /// a line is due.
    fn due(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.unlogged += 1;
        let due = state
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= INTERVAL);
        due.then(|| {
            state.logged_at = Some(now);
            std::mem::take(&mut state.unlogged)
        })
    }
}

impl<E: std::fmt::Display> diesel::r2d2::HandleError<E> for LogOncePerInterval {
    fn handle_error(&self, error: E) {
        if error.to_string().contains(NOT_WANTED) {
            return;
        }
        if let Some(failures) = self.due(Instant::now()) {
            tracing::warn!(%error, failures, "cannot connect to the database");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count() {
        let log = LogOncePerInterval::default();
        let t = Instant::now();
        assert_eq!(log.due(t), Some(1), "the first at once");
        assert_eq!(log.due(t + Duration::from_secs(1)), None);
        assert_eq!(log.due(t + Duration::from_secs(2)), None);
        assert_eq!(log.due(t + INTERVAL), Some(3), "then the count");
        assert_eq!(log.due(t + INTERVAL), None);
    }
}
