//! Queries on `audit_events` (append-only; coalesced rows only grow their count).

use super::schema::audit_events::dsl as e;
use super::{DbConnection, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// An audit event as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::audit_events)]
pub struct AuditRow {
    /// Time-ordered id (UUIDv7).
    pub id: String,
    /// The token it concerns; `None` for events about people and clients.
    pub token_id: Option<String>,
    /// The user an event about people concerns (signed in, disabled, …).
    pub subject: Option<String>,
    /// The event's name (`audit::Event::as_str`).
    pub event: String,
    /// Who acted (a subject, `cli:<user>`, or the token itself for exchanges).
    pub actor: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// How many occurrences the row stands for.
    pub count: i32,
    /// JSON object with event details.
    pub details: String,
    /// When (for coalesced rows: the latest occurrence).
    pub occurred_at: NaiveDateTime,
    /// Coalescing key (minute and reason), `None` for single events.
    pub bucket: Option<String>,
}

/// Appends one event.
pub fn insert(conn: &mut DbConnection, row: &AuditRow) -> Result<(), StoreError> {
    diesel::insert_into(e::audit_events)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Adds `row.count` to the coalesced row of its (token or subject, event,
/// bucket), creating it if missing; safe when several instances flush at once.
pub fn add_to_bucket(conn: &mut DbConnection, row: &AuditRow) -> Result<(), StoreError> {
    for _ in 0..2 {
        let same_bucket = e::event.eq(&row.event).and(e::bucket.eq(&row.bucket));
        let updated = match &row.token_id {
            Some(id) => diesel::update(e::audit_events.filter(same_bucket.and(e::token_id.eq(id))))
                .set(grow(row))
                .execute(conn)?,
            // Without a token the unique index (NULLs differ) cannot catch a
            // race: two instances may each insert a row, which only splits
            // the count. The bucket names the subject.
            None => diesel::update(e::audit_events.filter(same_bucket.and(e::token_id.is_null())))
                .set(grow(row))
                .execute(conn)?,
        };
        if updated > 0 {
            return Ok(());
        }
        let inserted = super::connection::savepoint(conn, |conn| {
            diesel::insert_into(e::audit_events)
                .values(row)
                .execute(conn)
        });
        match inserted.map_err(StoreError::from) {
            Err(err) if err.is_unique_violation() => continue, // another instance inserted it first
            other => return other.map(|_| ()),
        }
    }
    Ok(())
}

/// The columns a coalesced occurrence changes.
#[allow(clippy::type_complexity)]
fn grow(
    row: &AuditRow,
) -> (
    diesel::dsl::Eq<e::count, diesel::dsl::Add<e::count, i32>>,
    diesel::dsl::Eq<e::occurred_at, NaiveDateTime>,
    diesel::dsl::Eq<e::ip, Option<String>>,
    diesel::dsl::Eq<e::user_agent, Option<String>>,
) {
    (
        e::count.eq(e::count + row.count),
        e::occurred_at.eq(row.occurred_at),
        e::ip.eq(row.ip.clone()),
        e::user_agent.eq(row.user_agent.clone()),
    )
}

/// A token's events, newest first, strictly before `before` (a cursor of
/// `(occurred_at, id)`), at most `limit`.
pub fn for_token(
    conn: &mut DbConnection,
    token_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut query = e::audit_events
        .filter(e::token_id.eq(token_id))
        .into_boxed();
    if let Some((at, id)) = before {
        query = query
            .filter(e::occurred_at.le(at))
            .filter(e::occurred_at.lt(at).or(e::id.lt(id)));
    }
    Ok(query
        .order((e::occurred_at.desc(), e::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// The coalesced exchange and refusal rows of `token_ids` since `since`,
/// at most `limit`.
pub fn exchange_counts_since(
    conn: &mut DbConnection,
    token_ids: &[String],
    since: NaiveDateTime,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(e::audit_events
        .filter(e::token_id.eq_any(token_ids))
        .filter(e::event.eq_any(["exchanged", "exchange_denied"]))
        .filter(e::occurred_at.ge(since))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Events since `since` (all when `None`), oldest first, strictly after
/// `after` = (occurred_at, id) of the previous batch's last; at most
/// `limit` (a keyset walk on `audit_events_time`).
pub fn since(
    conn: &mut DbConnection,
    since: Option<DateTime<Utc>>,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut query = e::audit_events.into_boxed();
    if let Some(t) = since {
        query = query.filter(e::occurred_at.ge(t.naive_utc()));
    }
    if let Some((at, id)) = after {
        query = query
            .filter(e::occurred_at.ge(*at))
            .filter(e::occurred_at.gt(*at).or(e::id.gt(id.clone())));
    }
    Ok(query
        .order((e::occurred_at.asc(), e::id.asc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// The prefix of a bucket that counts a whole day (after roll-up), where a
/// per-minute bucket starts with its minute (`2026-12-04T16:21`).
pub const DAY_BUCKET: &str = "day ";

/// Per-minute coalesced rows that occurred before `cutoff`, oldest first,
/// at most `limit` (read on `audit_events_time`).
pub fn minute_counts_before(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    macro_rules! oldest {
        () => {
            e::audit_events
                .filter(e::occurred_at.lt(cutoff))
                .filter(e::bucket.is_not_null())
                .filter(e::bucket.not_like(format!("{DAY_BUCKET}%")))
                .order((e::occurred_at.asc(), e::id.asc()))
                .limit(limit)
                .select(AuditRow::as_select())
        };
    }
    Ok(match conn {
        // Instances rolling up at once take different rows instead of
        // queueing on each other's row locks (seconds a batch at 10⁶).
        DbConnection::Postgres(c) => oldest!().for_update().skip_locked().load(c)?,
        // One writer at a time (`BEGIN IMMEDIATE`): nothing to skip.
        DbConnection::Sqlite(_) => oldest!().load(conn)?,
    })
}

/// PostgreSQL advisory-lock key of the audit roll-up ("rollup" in ASCII).
const ROLLUP_LOCK: i64 = 0x0000_726f_6c6c_7570;

/// Waits for this transaction's turn to roll up: one instance at a time
/// on PostgreSQL (a transaction-level advisory lock), so two instances do
/// not queue on the same day rows' locks for seconds a batch. SQLite's
/// `BEGIN IMMEDIATE` already takes turns.
pub fn rollup_turn(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Postgres(c) = conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({ROLLUP_LOCK})"))?;
    }
    Ok(())
}

/// Deletes the rows with these ids; how many there were.
pub fn delete_ids(conn: &mut DbConnection, ids: &[String]) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        deleted += diesel::delete(e::audit_events.filter(e::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(deleted)
}

/// Deletes at most `limit` rows that occurred before `cutoff`: the
/// coalesced counts when `counts`, else every other event. How many.
pub fn delete_before(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    counts: bool,
    limit: i64,
) -> Result<usize, StoreError> {
    let mut old = e::audit_events
        .filter(e::occurred_at.lt(cutoff))
        .select(e::id)
        .limit(limit)
        .into_boxed();
    old = if counts {
        old.filter(e::bucket.is_not_null())
    } else {
        old.filter(e::bucket.is_null())
    };
    let ids: Vec<String> = old.load(conn)?;
    delete_ids(conn, &ids)
}
