//! Queries on `oauth_clients` and `authorization_sessions`. Every state
//! change of an authorization session is one conditional UPDATE whose row
//! count the caller checks.

use super::schema::{authorization_sessions::dsl as a, oauth_clients::dsl as c};
use super::{DbConnection, SessionMode, SessionStatus, StoreError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// A registered client as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::oauth_clients)]
pub struct ClientRow {
    /// `client_id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Redirect URIs, one per line.
    pub redirect_uris: String,
    /// argon2id PHC of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// Scopes it may request, space-separated; empty means any.
    pub scopes: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
}

/// Registers a client; `false` when the id is taken.
pub fn insert_client(conn: &mut DbConnection, row: &ClientRow) -> Result<bool, StoreError> {
    super::inserted(conn, |conn| {
        diesel::insert_into(c::oauth_clients)
            .values(row)
            .execute(conn)
    })
}

/// The client `id`.
pub fn find_client(conn: &mut DbConnection, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(c::oauth_clients
        .filter(c::id.eq(id))
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every registered client, by id.
pub fn list_clients(conn: &mut DbConnection) -> Result<Vec<ClientRow>, StoreError> {
    Ok(c::oauth_clients
        .order(c::id)
        .select(ClientRow::as_select())
        .load(conn)?)
}

/// Removes client `id`; whether it existed.
pub fn delete_client(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(c::oauth_clients.filter(c::id.eq(id))).execute(conn)? == 1)
}

/// An authorization session as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::authorization_sessions)]
pub struct AuthSessionRow {
    /// The id in `/oauth2/authorize/{id}`.
    pub id: String,
    /// Requesting client.
    pub client_id: String,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: String,
    /// Requested scopes, space-separated.
    pub scopes: String,
    /// Suggested token name.
    pub token_name_hint: Option<String>,
    /// The user it is bound to, once shown to one.
    pub subject: Option<String>,
    /// Where it stands.
    pub status: SessionStatus,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// The session expires then.
    pub expires_at: NaiveDateTime,
    /// SHA-256 of the authorization code.
    pub code_hash: Option<String>,
    /// The code expires then.
    pub code_expires_at: Option<NaiveDateTime>,
    /// Approved token name.
    pub token_name: Option<String>,
    /// Approved scopes, space-separated.
    pub token_scopes: Option<String>,
    /// Approved token expiry (`None`: never, when approved).
    pub token_expires_at: Option<NaiveDateTime>,
    /// The PAT issued from the code.
    pub token_id: Option<String>,
    /// How it answers: a redirect with a code, or a polling device.
    pub mode: SessionMode,
    /// The key the token must be bound to (RFC 9449 §10), if asked.
    pub dpop_jkt: Option<String>,
    /// The resource servers it is to be limited to (RFC 8707), space-separated.
    pub resources: String,
}

/// Stores a new pending session.
pub fn insert_session(conn: &mut DbConnection, row: &AuthSessionRow) -> Result<(), StoreError> {
    diesel::insert_into(a::authorization_sessions)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The session `id`.
pub fn find_session(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<AuthSessionRow>, StoreError> {
    Ok(a::authorization_sessions
        .filter(a::id.eq(id))
        .select(AuthSessionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The session that issued the code with this hash.
pub fn find_by_code(
    conn: &mut DbConnection,
    code_hash: &str,
) -> Result<Option<AuthSessionRow>, StoreError> {
    Ok(a::authorization_sessions
        .filter(a::code_hash.eq(code_hash))
        .select(AuthSessionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Binds an unbound session to `subject` (the first user who sees it).
pub fn bind_subject(conn: &mut DbConnection, id: &str, subject: &str) -> Result<(), StoreError> {
    diesel::update(
        a::authorization_sessions
            .filter(a::id.eq(id))
            .filter(a::subject.is_null()),
    )
    .set(a::subject.eq(subject))
    .execute(conn)?;
    Ok(())
}

/// What an approval records.
#[derive(Debug)]
pub struct Approval<'a> {
    /// SHA-256 of the new code.
    pub code_hash: &'a str,
    /// When the code expires.
    pub code_expires_at: DateTime<Utc>,
    /// Token name.
    pub token_name: &'a str,
    /// Approved scopes.
    pub token_scopes: &'a [String],
    /// Token expiry; `None` never.
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// Approves a pending, unexpired session of `subject`; whether it did.
pub fn approve(
    conn: &mut DbConnection,
    id: &str,
    subject: &str,
    now: DateTime<Utc>,
    approval: &Approval<'_>,
) -> Result<bool, StoreError> {
    let n = diesel::update(pending(id, subject, now))
        .set((
            a::status.eq(SessionStatus::Approved),
            a::code_hash.eq(approval.code_hash),
            a::code_expires_at.eq(approval.code_expires_at.naive_utc()),
            a::token_name.eq(approval.token_name),
            a::token_scopes.eq(approval.token_scopes.join(" ")),
            a::token_expires_at.eq(approval.token_expires_at.map(|t| t.naive_utc())),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Denies a pending, unexpired session of `subject`; whether it did.
pub fn deny(
    conn: &mut DbConnection,
    id: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(diesel::update(pending(id, subject, now))
        .set(a::status.eq(SessionStatus::Denied))
        .execute(conn)?
        == 1)
}

type PendingFilter<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Filter<a::authorization_sessions, diesel::dsl::Eq<a::id, &'a str>>,
            diesel::dsl::Eq<a::subject, &'a str>,
        >,
        diesel::dsl::Eq<a::status, SessionStatus>,
    >,
    diesel::dsl::Gt<a::expires_at, NaiveDateTime>,
>;

fn pending<'a>(id: &'a str, subject: &'a str, now: DateTime<Utc>) -> PendingFilter<'a> {
    a::authorization_sessions
        .filter(a::id.eq(id))
        .filter(a::subject.eq(subject))
        .filter(a::status.eq(SessionStatus::Pending))
        .filter(a::expires_at.gt(now.naive_utc()))
}

/// Consumes an approved, unexpired code: one conditional UPDATE. Whether
/// this call consumed it.
pub fn consume_code(
    conn: &mut DbConnection,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        a::authorization_sessions
            .filter(a::code_hash.eq(code_hash))
            .filter(a::status.eq(SessionStatus::Approved))
            .filter(a::code_expires_at.gt(now.naive_utc())),
    )
    .set(a::status.eq(SessionStatus::Used))
    .execute(conn)?;
    Ok(n == 1)
}

/// Consumes approved session `id` (the device grant, which has no code):
/// one conditional UPDATE. Whether this call consumed it.
pub fn consume_session(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    let n = diesel::update(
        a::authorization_sessions
            .filter(a::id.eq(id))
            .filter(a::status.eq(SessionStatus::Approved)),
    )
    .set(a::status.eq(SessionStatus::Used))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records the PAT issued from session `id`'s code.
pub fn set_token(conn: &mut DbConnection, id: &str, token_id: &str) -> Result<(), StoreError> {
    diesel::update(a::authorization_sessions.filter(a::id.eq(id)))
        .set(a::token_id.eq(token_id))
        .execute(conn)?;
    Ok(())
}
