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
    /// The token it concerns.
    pub token_id: String,
    /// `created`, `exchanged`, `exchange_denied`, `revoked`, `restored`, `rotated`, `updated`.
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

/// Adds `row.count` to the coalesced row of its (token, event, bucket),
/// creating it if missing; safe when several instances flush at once.
pub fn add_to_bucket(conn: &mut DbConnection, row: &AuditRow) -> Result<(), StoreError> {
    for _ in 0..2 {
        let updated = diesel::update(
            e::audit_events
                .filter(e::token_id.eq(&row.token_id))
                .filter(e::event.eq(&row.event))
                .filter(e::bucket.eq(&row.bucket)),
        )
        .set((
            e::count.eq(e::count + row.count),
            e::occurred_at.eq(row.occurred_at),
            e::ip.eq(&row.ip),
            e::user_agent.eq(&row.user_agent),
        ))
        .execute(conn)?;
        if updated == 1 {
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
        query = query.filter(
            e::occurred_at
                .lt(at)
                .or(e::occurred_at.eq(at).and(e::id.lt(id))),
        );
    }
    Ok(query
        .order((e::occurred_at.desc(), e::id.desc()))
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?)
}

/// Every event since `since` (all when `None`), oldest first.
pub fn since(
    conn: &mut DbConnection,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut query = e::audit_events.into_boxed();
    if let Some(t) = since {
        query = query.filter(e::occurred_at.ge(t.naive_utc()));
    }
    Ok(query
        .order((e::occurred_at.asc(), e::id.asc()))
        .select(AuditRow::as_select())
        .load(conn)?)
}
