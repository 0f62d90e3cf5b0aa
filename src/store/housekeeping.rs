//! Deletes rows that can no longer matter: answered or expired authorization
//! sessions, ended browser sessions, and old sign-in failure counts.

use super::schema::{
    authorization_sessions::dsl as a, browser_sessions::dsl as bs, device_authorizations::dsl as d,
    login_throttle::dsl as lt,
};
use super::{DbConnection, StoreError};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

/// How many rows of each kind a purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Authorization sessions.
    pub authorization_sessions: usize,
    /// Browser sessions.
    pub browser_sessions: usize,
    /// Sign-in failure counters.
    pub throttle_entries: usize,
    /// Device authorizations.
    pub device_authorizations: usize,
    /// Started SSO sign-ins.
    pub sso_logins: usize,
}

/// Removes what expired before `now - keep` (kept a while for replay
/// detection of codes and for inspection). Idempotent, so every instance may run it.
pub fn purge(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    keep: Duration,
    idle: Duration,
) -> Result<Purged, StoreError> {
    let cutoff = (now - keep).naive_utc();
    Ok(Purged {
        authorization_sessions: diesel::delete(
            a::authorization_sessions.filter(a::expires_at.lt(cutoff)),
        )
        .execute(conn)?,
        browser_sessions: diesel::delete(
            bs::browser_sessions.filter(
                bs::expires_at
                    .lt(now.naive_utc())
                    .or(bs::last_seen_at.lt((now - idle).naive_utc())),
            ),
        )
        .execute(conn)?,
        throttle_entries: diesel::delete(
            lt::login_throttle
                .filter(lt::last_failure_at.lt(cutoff))
                .filter(
                    lt::blocked_until
                        .is_null()
                        .or(lt::blocked_until.lt(now.naive_utc())),
                ),
        )
        .execute(conn)?,
        device_authorizations: diesel::delete(
            d::device_authorizations.filter(d::expires_at.lt(cutoff)),
        )
        .execute(conn)?,
        sso_logins: super::sso::purge_logins(conn, now - keep)?,
    })
}
