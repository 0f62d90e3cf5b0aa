//! Usage at a glance: exchanges and refusals per day over the last 30
//! days, from the coalesced audit rows the exchange already writes (so
//! showing it costs one bounded read, and the hot path nothing).

use crate::store::audit as store;
use crate::store::{DbConnection, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

/// Days shown.
pub const USAGE_DAYS: usize = 30;
/// At most this many audit rows are read for one view (a token busy every
/// minute of 30 days has 43,200 per event).
const MAX_ROWS: i64 = 200_000;

/// One day's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Exchanges.
    pub exchanged: i64,
    /// Refused exchanges of the token.
    pub denied: i64,
}

/// A token's use over the last [`USAGE_DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Oldest first, today last.
    pub days: Vec<DayCount>,
    /// Refusals by reason.
    pub denials: BTreeMap<String, i64>,
}

impl Usage {
    fn empty(today: NaiveDate) -> Self {
        let days = (0..USAGE_DAYS)
            .rev()
            .map(|back| DayCount {
                date: today - Duration::days(back as i64),
                exchanged: 0,
                denied: 0,
            })
            .collect();
        Usage {
            days,
            denials: BTreeMap::new(),
        }
    }

    /// Exchanges over the whole period.
    pub fn exchanged(&self) -> i64 {
        self.days.iter().map(|d| d.exchanged).sum()
    }
}

/// The use of each of `token_ids` up to `now`. The caller has asked the
/// policy whether it may read these tokens. Blocking.
pub fn of_tokens(
    conn: &mut DbConnection,
    token_ids: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Usage>, StoreError> {
    let today = now.date_naive();
    let first = today - Duration::days(USAGE_DAYS as i64 - 1);
    let since = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut out: HashMap<String, Usage> = token_ids
        .iter()
        .map(|id| (id.clone(), Usage::empty(today)))
        .collect();
    for row in store::exchange_counts_since(conn, token_ids, since, MAX_ROWS)? {
        let Some(usage) = row.token_id.as_ref().and_then(|id| out.get_mut(id)) else {
            continue;
        };
        let index = (row.occurred_at.date() - first).num_days();
        let Some(day) = usize::try_from(index)
            .ok()
            .and_then(|i| usage.days.get_mut(i))
        else {
            continue;
        };
        let count = i64::from(row.count);
        if row.event == super::Event::Exchanged.as_str() {
            day.exchanged += count;
        } else {
            day.denied += count;
            let reason = serde_json::from_str::<serde_json::Value>(&row.details)
                .ok()
                .and_then(|d| d["reason"].as_str().map(str::to_string))
                .unwrap_or_else(|| "other".into());
            *usage.denials.entry(reason).or_default() += count;
        }
    }
    Ok(out)
}
