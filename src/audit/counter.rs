//! Exchange counts: kept in memory and written every few seconds as one
//! audit row per token, event, minute and reason.

use super::{new_id, Event};
use crate::clock::RandomSource;
use crate::store::audit::{self as store, AuditRow};
use crate::store::{Db, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Debug)]
struct Pending {
    count: i32,
    ip: Option<IpAddr>,
    user_agent: Option<String>,
    last: DateTime<Utc>,
}

/// (token id, event, minute since the epoch, refusal reason)
type CountKey = (String, Event, i64, Option<&'static str>);

/// Exchange counts not yet written, per token, event, minute and reason.
/// Counting allocates nothing but the key of a new entry: strings are built
/// when the counts are written.
#[derive(Debug, Default)]
pub struct ExchangeCounter(
    Mutex<HashMap<CountKey, Pending>>,
    /// When a flush last succeeded (seconds since the Unix epoch; 0: never).
    std::sync::atomic::AtomicI64,
);

impl ExchangeCounter {
    /// Counts one exchange (or one refusal, with `reason`) of `token_id`.
    pub fn count(
        &self,
        token_id: &str,
        event: Event,
        reason: Option<&'static str>,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        now: DateTime<Utc>,
    ) {
        let key = (
            token_id.to_string(),
            event,
            now.timestamp().div_euclid(60),
            reason,
        );
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key).or_insert(Pending {
            count: 0,
            ip,
            user_agent: None,
            last: now,
        });
        entry.count += 1;
        entry.ip = ip;
        entry.last = now;
        if entry.user_agent.as_deref() != user_agent {
            entry.user_agent = user_agent.map(|ua| ua.chars().take(256).collect());
        }
    }

    /// How many exchanges (and refusals) are counted but not yet written.
    pub fn pending_total(&self) -> i64 {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(|p| i64::from(p.count)).sum()
    }

    /// Writes what was counted, retrying for up to `patience` while writing
    /// fails (a database that comes back, a disk that was freed). Returns
    /// how many counts could not be written. Blocking.
    pub fn flush_before_exit(
        &self,
        db: &Db,
        random: &dyn RandomSource,
        patience: std::time::Duration,
    ) -> i64 {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match self.flush(db, random) {
                Ok(_) => return 0,
                Err(e) if std::time::Instant::now() >= deadline => {
                    let lost = self.pending_total();
                    tracing::error!(error = %e, lost, "exchange counts lost at stop");
                    return lost;
                }
                Err(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
            }
        }
    }

    /// Puts unwritten counts back, adding to any counted meanwhile.
    fn restore(&self, entries: Vec<(CountKey, Pending)>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (key, p) in entries {
            match map.get_mut(&key) {
                Some(newer) => newer.count += p.count,
                None => {
                    map.insert(key, p);
                }
            }
        }
    }

    /// Writes what was counted; returns how many rows it touched. Counts
    /// that fail to write are kept for the next flush, and connections are
    /// renewed when the failure asks for it. Blocking.
    pub fn flush(&self, db: &Db, random: &dyn RandomSource) -> Result<usize, StoreError> {
        let written = self.write_pending(db, random);
        match &written {
            Ok(_) => self.1.store(
                chrono::Utc::now().timestamp(),
                std::sync::atomic::Ordering::Relaxed,
            ),
            Err(e) => db.renew_after(e),
        }
        written
    }

    /// Seconds since a flush last succeeded (0 before the first).
    pub fn last_flush_age_seconds(&self) -> i64 {
        match self.1.load(std::sync::atomic::Ordering::Relaxed) {
            0 => 0,
            at => (chrono::Utc::now().timestamp() - at).max(0),
        }
    }

    fn write_pending(&self, db: &Db, random: &dyn RandomSource) -> Result<usize, StoreError> {
        let pending: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let mut conn = match db.conn() {
            Ok(c) => c,
            Err(e) => {
                self.restore(pending);
                return Err(e);
            }
        };
        let total = pending.len();
        let (mut failed, mut error) = (Vec::new(), None);
        for (key, p) in pending {
            let (token_id, event, minute, reason) = &key;
            let minute_start = DateTime::from_timestamp(minute * 60, 0).unwrap_or(p.last);
            let row = AuditRow {
                id: new_id(random, p.last),
                token_id: Some(token_id.clone()),
                subject: None,
                event: event.as_str().to_string(),
                actor: Some(format!("token:{token_id}")),
                ip: p.ip.map(|ip| ip.to_string()),
                user_agent: p.user_agent.clone(),
                count: p.count,
                details: reason
                    .map_or(json!({}), |r| json!({ "reason": r }))
                    .to_string(),
                occurred_at: p.last.naive_utc(),
                bucket: Some(format!(
                    "{}{}",
                    minute_start.format("%Y-%m-%dT%H:%M"),
                    reason.map(|r| format!(" {r}")).unwrap_or_default()
                )),
            };
            if let Err(e) = store::add_to_bucket(&mut conn, &row) {
                error = Some(e);
                failed.push((key, p));
            }
        }
        if let Some(e) = error {
            self.restore(failed);
            return Err(e);
        }
        Ok(total)
    }
}
