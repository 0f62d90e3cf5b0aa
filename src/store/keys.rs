//! Queries on `signing_keys`.

use super::models::SigningKeyRow;
use super::schema::signing_keys::dsl as k;
use super::{DbConnection, StoreError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// The key that signs new tokens, if any.
/// Whether any signing key is stored (sealed with some master key).
pub fn any(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(k::signing_keys
        .select(k::kid)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The key that signs new tokens, if any.
pub fn active(conn: &mut DbConnection) -> Result<Option<SigningKeyRow>, StoreError> {
    Ok(k::signing_keys
        .filter(k::active.eq(true))
        .select(SigningKeyRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Keys to publish: the active one and retired ones still within their
/// publication window, newest first.
pub fn published(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(k::signing_keys
        .filter(k::active.eq(true).or(k::publish_until.gt(now.naive_utc())))
        .order((k::active.desc(), k::created_at.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// Inserts `row` as the first active key. Returns `false` when another
/// instance got there first (the one-active index refused it).
pub fn insert_first(conn: &mut DbConnection, row: &SigningKeyRow) -> Result<bool, StoreError> {
    super::inserted(conn, |conn| {
        diesel::insert_into(k::signing_keys)
            .values(row)
            .execute(conn)
    })
}

/// Retires the active key (published until `publish_until`) and makes `row`
/// active, in one transaction.
pub fn rotate(
    conn: &mut DbConnection,
    row: &SigningKeyRow,
    now: DateTime<Utc>,
    publish_until: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        diesel::update(k::signing_keys.filter(k::active.eq(true)))
            .set((
                k::active.eq(false),
                k::retired_at.eq(now.naive_utc()),
                k::publish_until.eq(publish_until.naive_utc()),
            ))
            .execute(conn)?;
        diesel::insert_into(k::signing_keys)
            .values(row)
            .execute(conn)?;
        Ok(())
    })?;
    Ok(())
}
