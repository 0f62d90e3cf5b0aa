//! The process's open-files limit (`RLIMIT_NOFILE`, getrlimit(2)): raised
//! to its hard limit at start, and shared out so that client connections
//! never take the descriptors the database pool, the log and the key files
//! need ("Too many open files" then fails an accept or a connect at random).

/// Descriptors kept apart from client connections beside one per pooled
/// database connection: listeners, the log, the master key file, SQLite's
/// `-wal`/`-shm`, resolver and TLS files, the runtime's own.
pub const RESERVED: u64 = 128;

/// Raises the soft open-files limit to the hard one; the soft limit in
/// force afterwards (the old one when raising is refused).
pub fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write or read only the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    limit.rlim_cur
}

/// How many client connections are taken at once and how many of those
/// are served: over `admitted` a connection is answered 503 and closed;
/// at `accepted` the server stops accepting (the kernel's backlog holds
/// the rest), which stays under the limit whatever comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// Connections served.
    pub admitted: usize,
    /// Connections accepted (served or refused with 503).
    pub accepted: usize,
}

impl ConnectionBudget {
    /// The budget under the open-files `limit`, with `pool` database
    /// connections, for `wanted` connections (`[limits] max_connections`):
    /// a tenth of what is left (at least 8) is for the 503s.
    pub fn new(limit: u64, pool: u32, wanted: u32) -> ConnectionBudget {
        let left = limit.saturating_sub(RESERVED + u64::from(pool)).max(16);
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        let band = (left / 10).max(8);
        let admitted = (wanted as usize).clamp(1, left - band);
        ConnectionBudget {
            admitted,
            accepted: (admitted + band).min(left),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_under_the_limit() {
        let small = ConnectionBudget::new(256, 10, 10_000);
        assert!(small.accepted as u64 + RESERVED + 10 <= 256, "{small:?}");
        assert!(
            small.admitted < small.accepted,
            "room for the 503s: {small:?}"
        );
        let large = ConnectionBudget::new(1 << 20, 10, 10_000);
        assert_eq!(
            large.admitted, 10_000,
            "the configured figure where it fits"
        );
        assert!(large.accepted > large.admitted);
        let tiny = ConnectionBudget::new(64, 10, 10_000);
        assert!(
            tiny.admitted >= 1 && tiny.accepted > tiny.admitted,
            "{tiny:?}"
        );
    }

    fn current() -> libc::rlimit {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: writes only the struct passed.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        limit
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let before = current();
        let now = raise_open_files_limit();
        let after = current();
        assert_eq!(now, after.rlim_cur, "says the limit in force");
        assert!(after.rlim_cur >= before.rlim_cur);
        // (The kernel refuses a hard limit over fs.nr_open, e.g. infinity.)
        if before.rlim_max <= 1 << 20 {
            assert_eq!(after.rlim_cur, after.rlim_max, "raised to the hard limit");
        }
    }
}
