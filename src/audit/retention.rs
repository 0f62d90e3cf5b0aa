//! Keeping the audit trail small (`[audit]`): per-minute counts older than
//! `rollup_after` become one row per token (or person), event, reason and
//! day; counts older than `counts_retention` and other events older than
//! `events_retention` are deleted. Every step is a batch of at most
//! [`BATCH`] rows in its own transaction, so a pass never holds a lock for
//! long, and a pass does at most a bounded number of batches.
//!
//! Several instances may run it at once: a roll-up batch deletes the rows
//! it read before it adds their counts to the day's row, and gives up (the
//! transaction rolls back) when another instance deleted any of them
//! first, so no count is added twice or lost.

use crate::app::Services;
use crate::config::Retention;
use crate::store::audit::{self as store, AuditRow, DAY_BUCKET};
use crate::store::StoreError;
use std::collections::BTreeMap;

/// Rows per batch.
pub const BATCH: i64 = 5_000;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Maintained {
    /// Per-minute rows merged into day rows.
    pub rolled_up: usize,
    /// Count rows deleted after `counts_retention`.
    pub counts_deleted: usize,
    /// Other events deleted after `events_retention`.
    pub events_deleted: usize,
}

impl Maintained {
    /// Rows changed in all.
    pub fn total(&self) -> usize {
        self.rolled_up + self.counts_deleted + self.events_deleted
    }
}

/// Why a roll-up batch did not commit.
enum BatchError {
    Store(StoreError),
    /// Another instance rolled up some of the same rows first.
    Raced,
}

impl From<StoreError> for BatchError {
    fn from(e: StoreError) -> Self {
        BatchError::Store(e)
    }
}

/// One pass of at most `max_batches` batches of each kind. Blocking.
pub fn maintain(svc: &Services, max_batches: usize) -> Result<Maintained, StoreError> {
    let audit = &svc.config.audit;
    let now = svc.now();
    let mut done = Maintained::default();
    let cutoff = (now - audit.rollup_after.duration()).naive_utc();
    for _ in 0..max_batches {
        match svc.write(|tx| roll_up_batch(tx.conn, cutoff)) {
            Ok(0) => break,
            // Another instance took these rows: the next batch is others.
            Err(BatchError::Raced) => continue,
            Ok(n) => done.rolled_up += n,
            Err(BatchError::Store(e)) => return Err(e),
        }
    }
    for (counts, retention) in [
        (true, audit.counts_retention),
        (false, audit.events_retention),
    ] {
        let Retention::For(keep) = retention else {
            continue;
        };
        let cutoff = (now - keep.duration()).naive_utc();
        for _ in 0..max_batches {
            let n = svc.write(|tx| store::delete_before(tx.conn, cutoff, counts, BATCH))?;
            if counts {
                done.counts_deleted += n;
            } else {
                done.events_deleted += n;
            }
            if n < BATCH as usize {
                break;
            }
        }
    }
    if done.total() >= BATCH as usize {
        // Many rows went: the planner's picture of the table is stale (on
        // PostgreSQL a token's share of it, which decides between its
        // index and a scan for the usage chart) until it is analyzed.
        svc.db.analyze_audit()?;
    }
    if done.total() > 0 {
        tracing::info!(
            rolled_up = done.rolled_up,
            counts_deleted = done.counts_deleted,
            events_deleted = done.events_deleted,
            "audit trail rolled up and trimmed"
        );
    }
    Ok(done)
}

/// Rolls up the oldest batch of per-minute rows before `cutoff`; how many.
fn roll_up_batch(
    conn: &mut crate::store::DbConnection,
    cutoff: chrono::NaiveDateTime,
) -> Result<usize, BatchError> {
    store::rollup_turn(conn)?;
    let rows = store::minute_counts_before(conn, cutoff, BATCH)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    if store::delete_ids(conn, &ids)? != ids.len() {
        return Err(BatchError::Raced);
    }
    for day in by_day(rows) {
        store::add_to_bucket(conn, &day)?;
    }
    Ok(ids.len())
}

/// `rows` merged into one row per (token, event, day bucket): counts added,
/// the latest occurrence's time, address, agent and details kept.
fn by_day(rows: Vec<AuditRow>) -> Vec<AuditRow> {
    let mut days: BTreeMap<(Option<String>, String, String), AuditRow> = BTreeMap::new();
    for row in rows {
        let bucket = day_bucket(row.bucket.as_deref().unwrap_or_default());
        let key = (row.token_id.clone(), row.event.clone(), bucket.clone());
        match days.get_mut(&key) {
            None => {
                let first = AuditRow {
                    bucket: Some(bucket),
                    ..row
                };
                days.insert(key, first);
            }
            Some(day) => {
                day.count = day.count.saturating_add(row.count);
                if row.occurred_at >= day.occurred_at {
                    day.occurred_at = row.occurred_at;
                    day.ip = row.ip;
                    day.user_agent = row.user_agent;
                    day.details = row.details;
                    day.actor = row.actor;
                }
            }
        }
    }
    days.into_values().collect()
}

/// The day bucket of a per-minute bucket: `2026-12-04T16:21 reason …`
/// becomes `day 2026-12-04 reason …`.
fn day_bucket(minute: &str) -> String {
    let (stamp, rest) = minute.split_once(' ').unwrap_or((minute, ""));
    let date = stamp.split('T').next().unwrap_or(stamp);
    if rest.is_empty() {
        format!("{DAY_BUCKET}{date}")
    } else {
        format!("{DAY_BUCKET}{date} {rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn row(id: &str, token: &str, bucket: &str, count: i32, minute: u32) -> AuditRow {
        let at = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(10, minute, 0)
            .unwrap();
        AuditRow {
            id: id.into(),
            token_id: Some(token.into()),
            subject: None,
            event: "exchanged".into(),
            actor: None,
            ip: Some(format!("192.0.2.{minute}")),
            user_agent: None,
            count,
            details: "{}".into(),
            occurred_at: at,
            bucket: Some(bucket.into()),
        }
    }

    #[test]
    fn minutes_become_days_with_their_counts() {
        assert_eq!(day_bucket("2026-12-01T10:01"), "day 2026-12-01");
        assert_eq!(
            day_bucket("2026-12-01T10:01 wrong_secret"),
            "day 2026-12-01 wrong_secret"
        );
        let days = by_day(vec![
            row("a", "t1", "2026-12-01T10:01", 3, 1),
            row("b", "t1", "2026-12-01T10:02", 4, 2),
            row("c", "t2", "2026-12-01T10:02", 5, 2),
            row("d", "t1", "2026-12-01T10:03 wrong_secret", 1, 3),
        ]);
        let counts: Vec<(Option<&str>, &str, i32)> = days
            .iter()
            .map(|d| (d.token_id.as_deref(), d.bucket.as_deref().unwrap(), d.count))
            .collect();
        assert_eq!(
            counts,
            [
                (Some("t1"), "day 2026-12-01", 7),
                (Some("t1"), "day 2026-12-01 wrong_secret", 1),
                (Some("t2"), "day 2026-12-01", 5),
            ]
        );
        assert_eq!(
            days[0].ip.as_deref(),
            Some("192.0.2.2"),
            "the latest address"
        );
    }
}
