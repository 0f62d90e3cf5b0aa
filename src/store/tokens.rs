//! Queries on `access_tokens`.

use super::models::{NewTokenRow, TokenRecord, TokenRow};
use super::schema::access_tokens::dsl as t;
use super::{DbConnection, StoreError, TokenKind};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

/// A token to store.
#[derive(Debug)]
pub struct NewToken<'a> {
    /// Public id.
    pub id: &'a str,
    /// Personal or service.
    pub kind: TokenKind,
    /// Owner subject or group.
    pub owner: &'a str,
    /// Name (must be free among the owner's active tokens of this kind).
    pub name: &'a str,
    /// Description.
    pub description: Option<&'a str>,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// Admin role.
    pub is_admin: bool,
    /// PHC string of the secret.
    pub secret_hash: &'a str,
    /// Client it was issued to.
    pub client_id: Option<&'a str>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed client networks (CIDR); empty allows any.
    pub cidrs: &'a [String],
    /// The confidential client it is bound to.
    pub bound_client_id: Option<&'a str>,
    /// The thumbprint of the key it is bound to (DPoP).
    pub dpop_jkt: Option<&'a str>,
    /// The audiences its JWTs may be for (RFC 8707); empty: the default.
    pub resources: &'a [String],
}

/// What an insert did.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored.
    Inserted,
    /// The owner already has an active token of this kind with this name.
    NameTaken,
    /// A token with this id exists.
    IdTaken,
}

/// Stores a token. Names held by the owner's *expired* tokens are released
/// first, in the same transaction, so only active tokens keep a name.
pub fn insert(conn: &mut DbConnection, new: &NewToken<'_>) -> Result<InsertOutcome, StoreError> {
    let result = conn.transaction::<_, diesel::result::Error, _>(|conn| {
        diesel::update(
            t::access_tokens
                .filter(t::kind.eq(new.kind))
                .filter(t::owner.eq(new.owner))
                .filter(t::active_name.eq(new.name))
                .filter(t::expires_at.le(new.created_at.naive_utc())),
        )
        .set(t::active_name.eq(None::<String>))
        .execute(conn)?;
        diesel::insert_into(t::access_tokens)
            .values(NewTokenRow {
                id: new.id,
                kind: new.kind,
                owner: new.owner,
                name: new.name,
                active_name: Some(new.name),
                description: new.description,
                scopes: new.scopes.join(" "),
                is_admin: new.is_admin,
                secret_hash: new.secret_hash,
                client_id: new.client_id,
                created_at: new.created_at.naive_utc(),
                expires_at: new.expires_at.map(|e| e.naive_utc()),
                cidrs: new.cidrs.join(" "),
                bound_client_id: new.bound_client_id,
                dpop_jkt: new.dpop_jkt,
                resources: new.resources.join(" "),
            })
            .execute(conn)
    });
    match result.map_err(StoreError::from) {
        Ok(_) => Ok(InsertOutcome::Inserted),
        Err(e) if e.is_unique_violation() => Ok(if find(conn, new.id)?.is_some() {
            InsertOutcome::IdTaken
        } else {
            InsertOutcome::NameTaken
        }),
        Err(e) => Err(e),
    }
}

/// The token with this id.
///
/// Every exchange runs this, so it goes to the backend's own connection:
/// through the connection enum, diesel writes the SQL text anew on each call
/// before it finds the prepared statement; this way the statement is found
/// by its type alone.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<TokenRecord>, StoreError> {
    let query = t::access_tokens.filter(t::id.eq(id));
    let row = match conn {
        DbConnection::Sqlite(c) => query.select(TokenRow::as_select()).get_result(c),
        DbConnection::Postgres(c) => query.select(TokenRow::as_select()).get_result(c),
    };
    Ok(row.optional()?.map(TokenRecord::from))
}

/// Revokes a token that is not revoked yet; one conditional UPDATE. Returns
/// whether this call revoked it.
pub fn revoke(
    conn: &mut DbConnection,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        t::access_tokens
            .filter(t::id.eq(id))
            .filter(t::revoked_at.is_null()),
    )
    .set((
        t::revoked_at.eq(now.naive_utc()),
        t::revoked_by.eq(by),
        t::active_name.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a use, unless one was recorded less than `interval` ago (checked
/// in the UPDATE itself, so concurrent instances write at most once).
pub fn touch_last_used(
    conn: &mut DbConnection,
    id: &str,
    ip: Option<&str>,
    now: DateTime<Utc>,
    interval: Duration,
) -> Result<bool, StoreError> {
    let due = (now - interval).naive_utc();
    let n = diesel::update(
        t::access_tokens
            .filter(t::id.eq(id))
            .filter(t::last_used_at.is_null().or(t::last_used_at.le(due))),
    )
    .set((t::last_used_at.eq(now.naive_utc()), t::last_used_ip.eq(ip)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether `owner` has an active (unrevoked, unexpired) token of `kind` named `name`.
pub fn active_name_taken(
    conn: &mut DbConnection,
    kind: TokenKind,
    owner: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(t::access_tokens
        .filter(t::kind.eq(kind))
        .filter(t::owner.eq(owner))
        .filter(t::active_name.eq(name))
        .filter(
            t::expires_at
                .is_null()
                .or(t::expires_at.gt(now.naive_utc())),
        )
        .select(t::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Replaces the secret of an active token whose hash is still `old_hash`
/// (one conditional UPDATE, so two rotations cannot both win). With `grace`,
/// the old hash keeps working until the given time. Returns whether it did.
pub fn replace_secret(
    conn: &mut DbConnection,
    id: &str,
    old_hash: &str,
    new_hash: &str,
    grace: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        t::access_tokens
            .filter(t::id.eq(id))
            .filter(t::secret_hash.eq(old_hash))
            .filter(t::revoked_at.is_null()),
    )
    .set((
        t::secret_hash.eq(new_hash),
        t::previous_secret_hash.eq(grace.map(|_| old_hash)),
        t::previous_secret_expires_at.eq(grace.map(|g| g.naive_utc())),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
