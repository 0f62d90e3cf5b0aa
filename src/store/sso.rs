//! Queries for SSO: started sign-ins (`sso_logins`) and users that
//! providers create or update at each sign-in.

use super::accounts::UserRow;
use super::schema::{browser_sessions::dsl as bs, sso_logins::dsl as l, users::dsl as u};
use super::{DbConnection, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// A started sign-in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::sso_logins)]
pub struct SsoLoginRow {
    /// SHA-256 of `state`.
    pub state_hash: String,
    /// Provider id.
    pub provider: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// PKCE verifier (RFC 7636).
    pub pkce_verifier: String,
    /// Where to continue after sign-in (a local path).
    pub next_path: String,
    /// Start.
    pub created_at: NaiveDateTime,
    /// It must finish before then.
    pub expires_at: NaiveDateTime,
    /// Finished (or tried to).
    pub used: bool,
    /// SHA-256 of the cookie value of the browser that started it.
    pub browser_hash: String,
}

/// Stores a started sign-in.
pub fn insert_login(conn: &mut DbConnection, row: &SsoLoginRow) -> Result<(), StoreError> {
    diesel::insert_into(l::sso_logins)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Consumes the unexpired, unused sign-in with this state hash for
/// `provider`, started by the browser whose cookie hashes to
/// `browser_hash`: one conditional UPDATE, then a read. `None` when there
/// is none; a sign-in of another browser stays usable.
pub fn consume_login(
    conn: &mut DbConnection,
    state_hash: &str,
    browser_hash: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> Result<Option<SsoLoginRow>, StoreError> {
    let n = diesel::update(
        l::sso_logins
            .filter(l::state_hash.eq(state_hash))
            .filter(l::browser_hash.eq(browser_hash))
            .filter(l::provider.eq(provider))
            .filter(l::used.eq(false))
            .filter(l::expires_at.gt(now.naive_utc())),
    )
    .set(l::used.eq(true))
    .execute(conn)?;
    if n != 1 {
        return Ok(None);
    }
    Ok(l::sso_logins
        .filter(l::state_hash.eq(state_hash))
        .select(SsoLoginRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Deletes sign-ins that expired before `before`.
pub fn purge_logins(conn: &mut DbConnection, before: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(l::sso_logins.filter(l::expires_at.lt(before.naive_utc()))).execute(conn)?)
}

/// What a provider says about a person at sign-in.
#[derive(Debug, Clone)]
pub struct SsoProfile {
    /// `{provider}:{subject claim}`.
    pub subject: String,
    /// Provider id.
    pub provider: String,
    /// Email, if given.
    pub email: Option<String>,
    /// Display name, if given.
    pub display_name: Option<String>,
    /// Groups, space-separated.
    pub groups: String,
}

/// Creates the user or updates what the provider says of them, and records
/// the sign-in. Returns the user as stored.
pub fn upsert_user(
    conn: &mut DbConnection,
    p: &SsoProfile,
    now: DateTime<Utc>,
) -> Result<UserRow, StoreError> {
    // New or not, the update below records what the provider says now.
    super::inserted(conn, |conn| {
        diesel::insert_into(u::users)
            .values((
                u::subject.eq(&p.subject),
                u::password_hash.eq(None::<String>),
                u::is_admin.eq(false),
                u::created_at.eq(now.naive_utc()),
                u::provider.eq(&p.provider),
            ))
            .execute(conn)
    })?;
    diesel::update(u::users.filter(u::subject.eq(&p.subject)))
        .set((
            u::email.eq(&p.email),
            u::display_name.eq(&p.display_name),
            u::groups.eq(&p.groups),
            u::provider.eq(&p.provider),
            u::last_login_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    super::accounts::find_user(conn, &p.subject)?
        .ok_or(StoreError::Query(diesel::result::Error::NotFound))
}

/// Marks `subject` disabled (or not), suspends (or restores) their personal
/// tokens in the same statement set, and ends their browser sessions when
/// disabled; `false` when there is no such user.
pub fn set_disabled(
    conn: &mut DbConnection,
    subject: &str,
    disabled: bool,
) -> Result<bool, StoreError> {
    let n = diesel::update(u::users.filter(u::subject.eq(subject)))
        .set(u::disabled.eq(disabled))
        .execute(conn)?;
    if n == 1 {
        use super::schema::access_tokens::dsl as t;
        diesel::update(
            t::access_tokens
                .filter(t::owner.eq(subject))
                .filter(t::kind.eq(super::TokenKind::Personal)),
        )
        .set(t::owner_disabled.eq(disabled))
        .execute(conn)?;
    }
    if disabled {
        diesel::delete(bs::browser_sessions.filter(bs::subject.eq(subject))).execute(conn)?;
    }
    Ok(n == 1)
}

/// Where a page of users starts: after this (last sign-in, subject), or,
/// with no sign-in time, after this subject among those who never signed in.
pub type UserCursor = (Option<NaiveDateTime>, String);

/// Users, most recent sign-in first (then by subject), then those who never
/// signed in (by subject), optionally only those whose subject or email
/// contains `q` (case-insensitive for ASCII); strictly after `after`; at
/// most `limit`. Each part is a range of an index in its order
/// (`users_last_login`, then the primary key).
pub fn list_users(
    conn: &mut DbConnection,
    q: Option<&str>,
    after: Option<&UserCursor>,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    let mut rows = Vec::new();
    if !matches!(after, Some((None, _))) {
        let mut signed_in = matching(q).filter(u::last_login_at.is_not_null());
        if let Some((Some(at), subject)) = after {
            signed_in = signed_in
                .filter(u::last_login_at.le(*at))
                .filter(u::last_login_at.lt(*at).or(u::subject.gt(subject.clone())));
        }
        rows = signed_in
            .order((u::last_login_at.desc(), u::subject.asc()))
            .limit(limit)
            .select(UserRow::as_select())
            .load(conn)?;
    }
    let left = limit - rows.len() as i64;
    if left > 0 {
        let mut never = matching(q).filter(u::last_login_at.is_null());
        if let Some((None, subject)) = after {
            never = never.filter(u::subject.gt(subject.clone()));
        }
        rows.extend(
            never
                .order(u::subject.asc())
                .limit(left)
                .select(UserRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// The users whose subject or email contains `q` (all without it).
fn matching<'a>(
    q: Option<&str>,
) -> super::schema::users::BoxedQuery<'a, super::connection::MultiBackend> {
    let mut query = u::users.into_boxed();
    if let Some(q) = q {
        let pattern = format!(
            "%{}%",
            q.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(lower(subject) LIKE ")
                .bind::<diesel::sql_types::Text, _>(pattern.clone())
                .sql(" ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ")
                .bind::<diesel::sql_types::Text, _>(pattern)
                .sql(" ESCAPE '\\')"),
        );
    }
    query
}
