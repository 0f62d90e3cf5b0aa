//! The audit trail: every change to a token is appended at once; exchanges
//! and refused exchanges are counted in memory and flushed every few seconds
//! as one row per token, event and minute, so the hot path writes nothing
//! and the log does not grow per request.

use crate::app::Services;
use crate::error::InternalError;
use crate::store::audit::{self as store, AuditRow};
use crate::store::DbConnection;
use crate::tokens::view::rfc3339;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What happened to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// Issued.
    Created,
    /// Exchanged for an access token (coalesced).
    Exchanged,
    /// An exchange was refused for a known token (coalesced per reason).
    ExchangeDenied,
    /// Revoked.
    Revoked,
    /// Restored after a revocation.
    Restored,
    /// Given a new secret.
    Rotated,
    /// Changed (scopes, expiry, …).
    Updated,
}

impl Event {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Exchanged => "exchanged",
            Event::ExchangeDenied => "exchange_denied",
            Event::Revoked => "revoked",
            Event::Restored => "restored",
            Event::Rotated => "rotated",
            Event::Updated => "updated",
        }
    }
}

/// Who acted, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// Subject, `cli:<user>`, or `token:<id>`.
    pub name: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// An actor known only by name (operator commands).
    pub fn named(name: &str) -> Self {
        Actor {
            name: Some(name.to_string()),
            ..Actor::default()
        }
    }

    /// The name to record as who did it.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("unknown")
    }
}

fn new_id(svc: &Services, at: DateTime<Utc>) -> String {
    let mut random = [0u8; 10];
    svc.random.fill(&mut random);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// Appends one event now. Blocking.
pub fn record(
    svc: &Services,
    conn: &mut DbConnection,
    token_id: &str,
    event: Event,
    actor: &Actor,
    details: Value,
) -> Result<(), InternalError> {
    let now = svc.now();
    Ok(store::insert(
        conn,
        &AuditRow {
            id: new_id(svc, now),
            token_id: token_id.to_string(),
            event: event.as_str().to_string(),
            actor: actor.name.clone(),
            ip: actor.ip.clone(),
            user_agent: actor.user_agent.clone(),
            count: 1,
            details: details.to_string(),
            occurred_at: now.naive_utc(),
            bucket: None,
        },
    )?)
}

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
pub struct ExchangeCounter(Mutex<HashMap<CountKey, Pending>>);

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
    /// that fail to write are kept for the next flush. Blocking.
    pub fn flush(&self, svc: &Services) -> Result<usize, InternalError> {
        let pending: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let mut conn = match svc.conn() {
            Ok(c) => c,
            Err(e) => {
                self.restore(pending);
                return Err(e.into());
            }
        };
        let total = pending.len();
        let (mut failed, mut error) = (Vec::new(), None);
        for (key, p) in pending {
            let (token_id, event, minute, reason) = &key;
            let minute_start = DateTime::from_timestamp(minute * 60, 0).unwrap_or(p.last);
            let row = AuditRow {
                id: new_id(svc, p.last),
                token_id: token_id.clone(),
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
            return Err(e.into());
        }
        Ok(total)
    }
}

/// An audit event as the APIs and the export show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    /// Event id.
    pub id: String,
    /// Token id.
    pub token_id: String,
    /// Event name.
    pub event: String,
    /// Who acted.
    pub actor: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// With which user agent.
    pub user_agent: Option<String>,
    /// Occurrences (coalesced exchanges).
    pub count: i32,
    /// Event details.
    pub details: Value,
    /// When (RFC 3339).
    pub occurred_at: String,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        AuditView {
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
            id: r.id,
            token_id: r.token_id,
            event: r.event,
            actor: r.actor,
            ip: r.ip,
            user_agent: r.user_agent,
            count: r.count,
            occurred_at: rfc3339(r.occurred_at.and_utc()),
        }
    }
}

/// One page of a token's audit trail.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditView>,
    /// Where the next (older) page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Largest page of audit events.
pub const MAX_AUDIT_PAGE: i64 = 200;

/// A page of token `token_id`'s events, newest first, after `cursor`.
/// `Err` names a bad cursor. Blocking.
pub fn for_token(
    svc: &Services,
    token_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Result<AuditPage, String>, InternalError> {
    let before = match cursor.map(crate::cursor::decode) {
        None => None,
        Some(Some(before)) => Some(before),
        Some(None) => return Ok(Err(crate::cursor::BAD_CURSOR.into())),
    };
    let limit = limit.clamp(1, MAX_AUDIT_PAGE);
    let mut rows = store::for_token(&mut *svc.conn()?, token_id, before, limit + 1)?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| crate::cursor::encode(r.occurred_at, &r.id))
    } else {
        None
    };
    Ok(Ok(AuditPage {
        events: rows.into_iter().map(AuditView::from).collect(),
        next_cursor,
    }))
}

/// Every event since `since`, oldest first (for `patgate admin audit export`). Blocking.
pub fn export(
    svc: &Services,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<AuditView>, InternalError> {
    Ok(store::since(&mut *svc.conn()?, since)?
        .into_iter()
        .map(AuditView::from)
        .collect())
}
