//! Queries behind the `@access-tokens`-compatible admin API: listing by id
//! with filters in the database, batch lookup, and field updates.

use super::models::{TokenRecord, TokenRow};
use super::schema::access_tokens::dsl as t;
use super::schema::token_scopes::dsl as s;
use super::{DbConnection, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// Which tokens `GET /admin/tokens` lists.
#[derive(Debug, Default)]
pub struct CompatFilter {
    /// Start strictly after this token id.
    pub after_id: Option<String>,
    /// Include revoked tokens.
    pub include_revoked: bool,
    /// Include expired tokens.
    pub include_expired: bool,
    /// Only tokens with this role (scope).
    pub has_role: Option<String>,
}

/// Tokens by ascending id, at most `limit`. With a role, the walk follows
/// that scope's rows of `token_scopes` (kept by triggers) in id order.
pub fn list(
    conn: &mut DbConnection,
    filter: &CompatFilter,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<TokenRecord>, StoreError> {
    let now = now.naive_utc();
    // The same filters on either walk; `id` is the token's id in both.
    macro_rules! filtered {
        ($q:expr, $id:expr) => {{
            let mut q = $q;
            if let Some(after) = &filter.after_id {
                q = q.filter($id.gt(after.clone()));
            }
            if !filter.include_revoked {
                q = q.filter(t::revoked_at.is_null());
            }
            if !filter.include_expired {
                q = q.filter(t::expires_at.is_null().or(t::expires_at.gt(now)));
            }
            q.order($id.asc())
                .limit(limit)
                .select(TokenRow::as_select())
                .load(conn)?
        }};
    }
    let rows: Vec<TokenRow> = match &filter.has_role {
        Some(role) => filtered!(
            t::access_tokens
                .inner_join(s::token_scopes.on(s::token_id.eq(t::id)))
                .filter(s::scope.eq(role.clone()))
                .into_boxed(),
            s::token_id
        ),
        None => filtered!(t::access_tokens.into_boxed(), t::id),
    };
    Ok(rows.into_iter().map(TokenRecord::from).collect())
}

/// The tokens among `ids`.
pub fn batch(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<TokenRecord>, StoreError> {
    Ok(t::access_tokens
        .filter(t::id.eq_any(ids))
        .select(TokenRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TokenRecord::from)
        .collect())
}

/// Changes to a token; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = super::schema::access_tokens)]
pub struct CompatChanges {
    /// New owner.
    pub owner: Option<String>,
    /// New admin flag.
    pub is_admin: Option<bool>,
    /// New secret hash.
    pub secret_hash: Option<String>,
    /// New expiry (`Some(None)` removes it).
    pub expires_at: Option<Option<NaiveDateTime>>,
    /// New scopes, space-separated.
    pub scopes: Option<String>,
}

/// Applies `changes` to token `id`; `false` when there is no such token.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    changes: &CompatChanges,
) -> Result<bool, StoreError> {
    let nothing = changes.owner.is_none()
        && changes.is_admin.is_none()
        && changes.secret_hash.is_none()
        && changes.expires_at.is_none()
        && changes.scopes.is_none();
    if nothing {
        return Ok(super::tokens::find(conn, id)?.is_some());
    }
    Ok(diesel::update(t::access_tokens.filter(t::id.eq(id)))
        .set(changes)
        .execute(conn)?
        == 1)
}
