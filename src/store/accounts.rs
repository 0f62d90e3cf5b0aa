//! Queries on `users`, `browser_sessions` and `login_throttle`.

use super::schema::{browser_sessions::dsl as bs, login_throttle::dsl as lt, users::dsl as u};
use super::{DbConnection, StoreError};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

/// A user as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::users)]
pub struct UserRow {
    /// Subject (the local user name for local accounts).
    pub subject: String,
    /// argon2id PHC string; `None` for users without a local password.
    pub password_hash: Option<String>,
    /// Has the admin role.
    pub is_admin: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last sign-in (UTC).
    pub last_login_at: Option<NaiveDateTime>,
    /// Roles given directly, space-separated.
    pub roles: String,
    /// Upstream groups at the last sign-in, space-separated.
    pub groups: String,
    /// The provider of an SSO user.
    pub provider: Option<String>,
    /// Email address (from the provider).
    pub email: Option<String>,
    /// Display name (from the provider).
    pub display_name: Option<String>,
    /// Refused at sign-in (upstream or by an admin).
    pub disabled: bool,
}

impl UserRow {
    /// The directly given roles.
    pub fn role_list(&self) -> Vec<String> {
        self.roles.split_whitespace().map(str::to_string).collect()
    }

    /// The upstream groups.
    pub fn group_list(&self) -> Vec<String> {
        self.groups.split_whitespace().map(str::to_string).collect()
    }
}

/// Replaces the directly given roles of `subject`; `false` when no such user.
pub fn set_roles(
    conn: &mut DbConnection,
    subject: &str,
    roles: &[String],
) -> Result<bool, StoreError> {
    Ok(diesel::update(u::users.filter(u::subject.eq(subject)))
        .set(u::roles.eq(roles.join(" ")))
        .execute(conn)?
        == 1)
}

/// Adds a user; `false` when the subject exists already.
pub fn insert_user(
    conn: &mut DbConnection,
    subject: &str,
    password_hash: Option<&str>,
    is_admin: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    super::inserted(conn, |conn| {
        diesel::insert_into(u::users)
            .values((
                u::subject.eq(subject),
                u::password_hash.eq(password_hash),
                u::is_admin.eq(is_admin),
                u::created_at.eq(now.naive_utc()),
            ))
            .execute(conn)
    })
}

/// The user `subject`.
pub fn find_user(conn: &mut DbConnection, subject: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(u::users
        .filter(u::subject.eq(subject))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Sets the password of the local user `subject` (not an SSO user) and
/// ends their browser sessions (call inside the caller's transaction);
/// whether the user was found.
pub fn set_password(
    conn: &mut DbConnection,
    subject: &str,
    password_hash: &str,
) -> Result<bool, StoreError> {
    use super::schema::browser_sessions::dsl as b;
    let changed = diesel::update(
        u::users
            .filter(u::subject.eq(subject))
            .filter(u::provider.is_null()),
    )
    .set(u::password_hash.eq(password_hash))
    .execute(conn)?;
    if changed == 1 {
        diesel::delete(b::browser_sessions.filter(b::subject.eq(subject))).execute(conn)?;
    }
    Ok(changed == 1)
}

/// Sets (or clears) the email address of the local user `subject`; SSO
/// users' addresses come from their provider at each sign-in. Whether the
/// user was found.
pub fn set_email(
    conn: &mut DbConnection,
    subject: &str,
    email: Option<&str>,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        u::users
            .filter(u::subject.eq(subject))
            .filter(u::provider.is_null()),
    )
    .set(u::email.eq(email))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Whether any user exists.
pub fn any_user(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(u::users
        .select(u::subject)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Records a successful sign-in.
pub fn record_login(
    conn: &mut DbConnection,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(u::users.filter(u::subject.eq(subject)))
        .set(u::last_login_at.eq(now.naive_utc()))
        .execute(conn)?;
    Ok(())
}

/// Stores a browser session (the cookie's hash).
pub fn insert_session(
    conn: &mut DbConnection,
    id_hash: &str,
    subject: &str,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(bs::browser_sessions)
        .values((
            bs::id_hash.eq(id_hash),
            bs::subject.eq(subject),
            bs::csrf_token.eq(csrf_token),
            bs::created_at.eq(now.naive_utc()),
            bs::last_seen_at.eq(now.naive_utc()),
            bs::expires_at.eq(expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A live session: not past its absolute expiry, seen within `idle`.
/// Returns (subject, csrf token), and records the visit at most once a minute.
pub fn live_session(
    conn: &mut DbConnection,
    id_hash: &str,
    now: DateTime<Utc>,
    idle: Duration,
) -> Result<Option<(String, String)>, StoreError> {
    let found = bs::browser_sessions
        .filter(bs::id_hash.eq(id_hash))
        .filter(bs::expires_at.gt(now.naive_utc()))
        .filter(bs::last_seen_at.gt((now - idle).naive_utc()))
        .select((bs::subject, bs::csrf_token))
        .first::<(String, String)>(conn)
        .optional()?;
    if found.is_some() {
        diesel::update(
            bs::browser_sessions
                .filter(bs::id_hash.eq(id_hash))
                .filter(bs::last_seen_at.le((now - Duration::minutes(1)).naive_utc())),
        )
        .set(bs::last_seen_at.eq(now.naive_utc()))
        .execute(conn)?;
    }
    Ok(found)
}

/// Ends a session.
pub fn delete_session(conn: &mut DbConnection, id_hash: &str) -> Result<(), StoreError> {
    diesel::delete(bs::browser_sessions.filter(bs::id_hash.eq(id_hash))).execute(conn)?;
    Ok(())
}

/// Until when `key` may not try to sign in, if blocked.
pub fn blocked_until(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(lt::login_throttle
        .filter(lt::key.eq(key))
        .select(lt::blocked_until)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .map(|t| t.and_utc()))
}

/// Counts a failed sign-in for `key`; failures older than `window` are
/// forgotten. Returns the failure count now held.
pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
    window: Duration,
    block_for: impl Fn(i32) -> Option<Duration>,
) -> Result<i32, StoreError> {
    // Two first failures at once both insert; the loser counts again.
    match failure_once(conn, key, now, window, &block_for) {
        Err(e) if e.is_unique_violation() => failure_once(conn, key, now, window, &block_for),
        other => other,
    }
}

fn failure_once(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
    window: Duration,
    block_for: &dyn Fn(i32) -> Option<Duration>,
) -> Result<i32, StoreError> {
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        let previous = lt::login_throttle
            .filter(lt::key.eq(key))
            .select((lt::failures, lt::last_failure_at))
            .first::<(i32, NaiveDateTime)>(conn)
            .optional()?;
        let failures = match previous {
            Some((n, last)) if last.and_utc() > now - window => n + 1,
            _ => 1,
        };
        let blocked = block_for(failures).map(|d| (now + d).naive_utc());
        let values = (
            lt::failures.eq(failures),
            lt::last_failure_at.eq(now.naive_utc()),
            lt::blocked_until.eq(blocked),
        );
        if previous.is_some() {
            diesel::update(lt::login_throttle.filter(lt::key.eq(key)))
                .set(values)
                .execute(conn)?;
        } else {
            diesel::insert_into(lt::login_throttle)
                .values((lt::key.eq(key), values))
                .execute(conn)?;
        }
        Ok(failures)
    })
    .map_err(StoreError::from)
}

/// Forgets the failures of `key` (after a successful sign-in).
pub fn clear_failures(conn: &mut DbConnection, key: &str) -> Result<(), StoreError> {
    diesel::delete(lt::login_throttle.filter(lt::key.eq(key))).execute(conn)?;
    Ok(())
}
