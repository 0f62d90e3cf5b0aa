//! DPoP proofs seen lately (RFC 9449 §11.1), kept until their `iat` is too
//! old to be accepted anyway, so no proof is accepted twice by any instance.

use super::schema::dpop_proofs::dsl as p;
use super::{DbConnection, StoreError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Records the proof `key` until `until`; `false` if it was seen before
/// (a replay). One insert: the primary key decides, also across instances.
pub fn remember(
    conn: &mut DbConnection,
    key: &str,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = super::connection::savepoint(conn, |conn| {
        diesel::insert_into(p::dpop_proofs)
            .values((p::proof_hash.eq(key), p::expires_at.eq(until.naive_utc())))
            .execute(conn)
    });
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Forgets proofs that can no longer be replayed.
pub fn purge(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(p::dpop_proofs.filter(p::expires_at.lt(now.naive_utc()))).execute(conn)?)
}
