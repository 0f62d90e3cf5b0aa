//! Queries on `device_authorizations` (RFC 8628).

use super::schema::device_authorizations::dsl as d;
use super::{DbConnection, StoreError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// A device authorization as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::device_authorizations)]
pub struct DeviceRow {
    /// SHA-256 of the device code.
    pub device_code_hash: String,
    /// The code the person types (normalised, without the dash).
    pub user_code: String,
    /// The authorization session holding the person's answer.
    pub session_id: String,
    /// The polling client.
    pub client_id: String,
    /// Seconds between polls (grows on `slow_down`).
    pub interval_seconds: i32,
    /// Creation time.
    pub created_at: chrono::NaiveDateTime,
    /// Both codes expire then.
    pub expires_at: chrono::NaiveDateTime,
    /// The last poll.
    pub last_polled_at: Option<chrono::NaiveDateTime>,
    /// The address that started it (shown on the approval page).
    pub started_ip: Option<String>,
    /// The user agent that started it, shortened.
    pub started_user_agent: Option<String>,
}

/// The device authorization of an authorization session, if it has one.
pub fn by_session(
    conn: &mut DbConnection,
    session_id: &str,
) -> Result<Option<DeviceRow>, StoreError> {
    Ok(d::device_authorizations
        .filter(d::session_id.eq(session_id))
        .select(DeviceRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Stores a new device authorization; `false` if the user code is taken.
pub fn insert(conn: &mut DbConnection, row: &DeviceRow) -> Result<bool, StoreError> {
    super::inserted(conn, |conn| {
        diesel::insert_into(d::device_authorizations)
            .values(row)
            .execute(conn)
    })
}

/// The device authorization with this device-code hash.
pub fn by_device_code(
    conn: &mut DbConnection,
    hash: &str,
) -> Result<Option<DeviceRow>, StoreError> {
    Ok(d::device_authorizations
        .filter(d::device_code_hash.eq(hash))
        .select(DeviceRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The unexpired device authorization with this user code.
pub fn by_user_code(
    conn: &mut DbConnection,
    user_code: &str,
    now: DateTime<Utc>,
) -> Result<Option<DeviceRow>, StoreError> {
    Ok(d::device_authorizations
        .filter(d::user_code.eq(user_code))
        .filter(d::expires_at.gt(now.naive_utc()))
        .select(DeviceRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Records a poll, unless the previous one was after `not_before` (one
/// conditional UPDATE, so two racing polls cannot both pass). Whether the
/// poll came slowly enough.
pub fn record_poll(
    conn: &mut DbConnection,
    hash: &str,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        d::device_authorizations
            .filter(d::device_code_hash.eq(hash))
            .filter(
                d::last_polled_at
                    .is_null()
                    .or(d::last_polled_at.le(not_before.naive_utc())),
            ),
    )
    .set(d::last_polled_at.eq(now.naive_utc()))
    .execute(conn)?;
    Ok(n == 1)
}

/// Slows a device down by `by` seconds (RFC 8628 §3.5) and records the poll.
pub fn slow_down(
    conn: &mut DbConnection,
    hash: &str,
    by: i32,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(d::device_authorizations.filter(d::device_code_hash.eq(hash)))
        .set((
            d::interval_seconds.eq(d::interval_seconds + by),
            d::last_polled_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}
