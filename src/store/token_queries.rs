//! Token listings with filters and keyset pagination, restore, and
//! revoke-all (offboarding).

use super::models::{TokenRecord, TokenRow};
use super::schema::access_tokens::dsl as t;
use super::{DbConnection, StoreError, TokenKind};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

/// Which tokens to list.
#[derive(Debug, Default, Clone)]
pub struct TokenFilter {
    /// Personal or service.
    pub kind: Option<TokenKind>,
    /// `active`, `expiring`, `expired`, `revoked` or `suspended`.
    pub status: Option<String>,
    /// Exact owner.
    pub owner: Option<String>,
    /// Part of the name (case-insensitive for ASCII).
    pub name_contains: Option<String>,
}

/// How many tokens of `kind` `owner` has, whatever their status (an index
/// range on (kind, owner, …)).
pub fn count_owned(
    conn: &mut DbConnection,
    kind: TokenKind,
    owner: &str,
) -> Result<i64, StoreError> {
    Ok(t::access_tokens
        .filter(t::kind.eq(kind))
        .filter(t::owner.eq(owner))
        .count()
        .get_result(conn)?)
}

/// One page, newest first, strictly after `after` = (created_at, id) of the
/// previous page's last row; at most `limit` rows.
pub fn page(
    conn: &mut DbConnection,
    filter: &TokenFilter,
    now: DateTime<Utc>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<Vec<TokenRecord>, StoreError> {
    let now_n = now.naive_utc();
    let mut q = t::access_tokens.into_boxed();
    if let Some(kind) = &filter.kind {
        q = q.filter(t::kind.eq(*kind));
    }
    if let Some(owner) = &filter.owner {
        q = q.filter(t::owner.eq(owner.clone()));
    }
    if let Some(part) = &filter.name_contains {
        let escaped = part
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) LIKE ")
                .bind::<diesel::sql_types::Text, _>(format!("%{escaped}%"))
                .sql(" ESCAPE '\\'"),
        );
    }
    match filter.status.as_deref() {
        Some("revoked") => q = q.filter(t::revoked_at.is_not_null()),
        Some("expired") => {
            q = q
                .filter(t::revoked_at.is_null())
                .filter(t::expires_at.le(now_n))
        }
        Some("expiring") => {
            q = q
                .filter(t::revoked_at.is_null())
                .filter(t::owner_disabled.eq(false))
                .filter(t::expires_at.gt(now_n))
                .filter(t::expires_at.le((now + Duration::days(7)).naive_utc()))
        }
        Some("active") => {
            q = q
                .filter(t::revoked_at.is_null())
                .filter(t::owner_disabled.eq(false))
                .filter(t::expires_at.is_null().or(t::expires_at.gt(now_n)))
        }
        Some("suspended") => {
            q = q
                .filter(t::revoked_at.is_null())
                .filter(t::owner_disabled.eq(true))
                .filter(t::expires_at.is_null().or(t::expires_at.gt(now_n)))
        }
        _ => {}
    }
    if let Some((at, id)) = after {
        // A range on the index's leading column, then the tie-break, so
        // the page starts where the index does (not a scan from the top).
        q = q
            .filter(t::created_at.le(at))
            .filter(t::created_at.lt(at).or(t::id.lt(id)));
    }
    Ok(q.order((t::created_at.desc(), t::id.desc()))
        .limit(limit)
        .select(TokenRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TokenRecord::from)
        .collect())
}

/// What a restore did.
#[derive(Debug, PartialEq, Eq)]
pub enum RestoreResult {
    /// Active again.
    Restored,
    /// It was not revoked.
    NotRevoked,
    /// Another active token of the owner holds its name now.
    NameTaken,
}

/// Un-revokes token `id` (one conditional UPDATE; the name must be free).
pub fn restore(conn: &mut DbConnection, id: &str, name: &str) -> Result<RestoreResult, StoreError> {
    let result = super::connection::savepoint(conn, |conn| {
        diesel::update(
            t::access_tokens
                .filter(t::id.eq(id))
                .filter(t::revoked_at.is_not_null()),
        )
        .set((
            t::revoked_at.eq(None::<NaiveDateTime>),
            t::revoked_by.eq(None::<String>),
            t::active_name.eq(name),
        ))
        .execute(conn)
    })
    .map_err(StoreError::from);
    match result {
        Ok(1) => Ok(RestoreResult::Restored),
        Ok(_) => Ok(RestoreResult::NotRevoked),
        Err(e) if e.is_unique_violation() => Ok(RestoreResult::NameTaken),
        Err(e) => Err(e),
    }
}

/// Ids of `owner`'s unrevoked personal tokens.
pub fn unrevoked_personal(conn: &mut DbConnection, owner: &str) -> Result<Vec<String>, StoreError> {
    Ok(t::access_tokens
        .filter(t::owner.eq(owner))
        .filter(t::kind.eq(TokenKind::Personal))
        .filter(t::revoked_at.is_null())
        .select(t::id)
        .load(conn)?)
}
