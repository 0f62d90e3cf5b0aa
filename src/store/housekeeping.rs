//! Deletes rows that can no longer matter: answered or expired authorization
//! sessions, ended browser sessions, and old sign-in failure counts.

use super::schema::{
    authorization_sessions::dsl as a, browser_sessions::dsl as bs, device_authorizations::dsl as d,
    instance_probes::dsl as ip, login_throttle::dsl as lt,
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
    /// Readiness rows of instances gone a while.
    pub instance_probes: usize,
    /// DPoP proofs too old to be replayed.
    pub dpop_proofs: usize,
}

/// Removes what expired before `now - keep` (kept a while for replay
/// detection of codes and for inspection), and authorization sessions
/// no one signed in to as soon as they expire. Idempotent, so every instance may run it.
pub fn purge(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    keep: Duration,
    idle: Duration,
) -> Result<Purged, StoreError> {
    let cutoff = (now - keep).naive_utc();
    // Sessions nobody signed in to hold no code to recognise: gone at expiry.
    let anonymous = diesel::delete(
        a::authorization_sessions
            .filter(a::expires_at.lt(now.naive_utc()))
            .filter(a::subject.is_null()),
    )
    .execute(conn)?;
    Ok(Purged {
        authorization_sessions: anonymous
            + diesel::delete(a::authorization_sessions.filter(a::expires_at.lt(cutoff)))
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
        instance_probes: diesel::delete(ip::instance_probes.filter(ip::checked_at.lt(cutoff)))
            .execute(conn)?,
        dpop_proofs: super::dpop::purge(conn, now)?,
    })
}

/// Writes this instance's probe row: proves the database takes writes now.
pub fn probe_write(
    conn: &mut DbConnection,
    instance: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = now.naive_utc();
    let updated = diesel::update(ip::instance_probes.filter(ip::instance.eq(instance)))
        .set(ip::checked_at.eq(at))
        .execute(conn)?;
    if updated == 0 {
        // The first probe of this instance; a racing one inserted it already.
        super::inserted(conn, |conn| {
            diesel::insert_into(ip::instance_probes)
                .values((ip::instance.eq(instance), ip::checked_at.eq(at)))
                .execute(conn)
        })?;
    }
    Ok(())
}
