//! `[audit]`: how the audit trail stays small. Per-minute counts roll up
//! into one row per day, and rows are deleted after their retention, by a
//! background job in bounded batches.

use super::{Retention, Ttl};
use serde::Deserialize;

/// The audit trail's roll-up and retention.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Per-minute counts (exchanges, refused exchanges, failed sign-ins)
    /// older than this are merged into one row per token (or person),
    /// event, reason and day. The 30-day usage chart is unchanged by it.
    #[serde(default = "rollup_after")]
    pub rollup_after: Ttl,
    /// Counts older than this are deleted; `"never"` keeps them.
    #[serde(default = "counts_retention")]
    pub counts_retention: Retention,
    /// Every other event (created, revoked, restored, rotated, updated,
    /// sign-ins, user and client changes) older than this is deleted;
    /// `"never"` keeps them.
    #[serde(default = "events_retention")]
    pub events_retention: Retention,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            rollup_after: rollup_after(),
            counts_retention: counts_retention(),
            events_retention: events_retention(),
        }
    }
}

/// Two days: the last day and a half keep their minutes for a close look.
fn rollup_after() -> Ttl {
    Ttl::days(2)
}
/// 400 days: a year's use, compared with the year before.
fn counts_retention() -> Retention {
    Retention::For(Ttl::days(400))
}
/// Seven years, a common term for security records.
fn events_retention() -> Retention {
    Retention::For(Ttl::days(7 * 365))
}
