//! Queries for expiry reminders.

use super::models::{TokenRecord, TokenRow};
use super::schema::{access_tokens::dsl as t, expiry_reminders::dsl as r};
use super::{DbConnection, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// Unrevoked tokens that expire after `now` and no later than `until`,
/// soonest first, strictly after `after` = (expires_at, id) of the previous
/// batch's last; at most `limit` (on `access_tokens_unrevoked_expiry`).
pub fn expiring(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<TokenRecord>, StoreError> {
    let mut q = t::access_tokens
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.gt(now.naive_utc()))
        .filter(t::expires_at.le(until.naive_utc()))
        .into_boxed();
    if let Some((at, id)) = after {
        q = q
            .filter(t::expires_at.ge(*at))
            .filter(t::expires_at.gt(*at).or(t::id.gt(id.clone())));
    }
    Ok(q.order((t::expires_at.asc(), t::id.asc()))
        .limit(limit)
        .select(TokenRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TokenRecord::from)
        .collect())
}

/// Claims the reminder for (`token_id`, `threshold_seconds`); `false` when
/// it was claimed before (by this or another instance).
pub fn claim(
    conn: &mut DbConnection,
    token_id: &str,
    threshold_seconds: i32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    super::inserted(conn, |conn| {
        diesel::insert_into(r::expiry_reminders)
            .values((
                r::token_id.eq(token_id),
                r::threshold_seconds.eq(threshold_seconds),
                r::sent_at.eq(now.naive_utc()),
            ))
            .execute(conn)
    })
}

/// Gives a claim back after a failed delivery, so a later run retries it.
pub fn release(
    conn: &mut DbConnection,
    token_id: &str,
    threshold_seconds: i32,
) -> Result<(), StoreError> {
    diesel::delete(
        r::expiry_reminders
            .filter(r::token_id.eq(token_id))
            .filter(r::threshold_seconds.eq(threshold_seconds)),
    )
    .execute(conn)?;
    Ok(())
}
