//! Listings: every token of a kind, filtered and paged in the database, a
//! token's audit trail, and the operator's full list.

use super::{read, Lookup};
use crate::app::Tx;
use crate::audit::AuditPage;
use crate::cursor;
use crate::error::OpError;
use crate::policy::rules::{MAX_NAME_CHARS, MAX_OWNER_CHARS};
use crate::policy::{Action, Policy, Principal};
use crate::store::models::TokenRecord;
use crate::store::token_queries::{self as store, TokenFilter};
use crate::store::TokenKind;

/// Largest page size.
pub const MAX_PAGE: i64 = 200;

/// One page of a listing.
#[derive(Debug)]
pub struct Page {
    /// The tokens, newest first.
    pub tokens: Vec<TokenRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn decode(c: Option<&str>) -> Result<Option<(chrono::NaiveDateTime, String)>, OpError> {
    match c {
        None => Ok(None),
        Some(c) => cursor::decode(c)
            .map(Some)
            .ok_or_else(|| OpError::Malformed(cursor::BAD_CURSOR.into())),
    }
}

/// A search text no longer than the longest value it could match (a longer
/// one could match nothing, and SQLite refuses very long LIKE patterns).
pub fn bounded_search(text: Option<&str>, field: &str, max: usize) -> Result<(), OpError> {
    match text {
        Some(t) if t.chars().count() > max => Err(OpError::Malformed(format!(
            "{field} must be at most {max} characters"
        ))),
        _ => Ok(()),
    }
}

/// A page of the tokens of `kind` that match `filter`, newest first.
pub fn page(
    tx: &mut Tx<'_>,
    who: &Principal,
    kind: TokenKind,
    filter: &TokenFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page, OpError> {
    Policy::of(tx.config()).check(who, Action::ListAll(kind))?;
    bounded_search(filter.name_contains.as_deref(), "q", MAX_NAME_CHARS)?;
    bounded_search(filter.owner.as_deref(), "owner", MAX_OWNER_CHARS)?;
    let filter = TokenFilter {
        kind: Some(kind),
        ..filter.clone()
    };
    keyset_page(tx, &filter, after, limit)
}

/// A page of `who`'s own personal tokens, newest first, after the cursor
/// `after` (the `next_cursor` of the page before); at most `limit` (1 to
/// [`MAX_PAGE`]). Read from the index on (kind, owner, created_at, id).
pub fn own_page(
    tx: &mut Tx<'_>,
    who: &Principal,
    after: Option<&str>,
    limit: i64,
) -> Result<Page, OpError> {
    Policy::of(tx.config()).check(who, Action::ListOwn)?;
    let filter = TokenFilter {
        kind: Some(TokenKind::Personal),
        owner: Some(who.subject.clone()),
        ..TokenFilter::default()
    };
    keyset_page(tx, &filter, after, limit)
}

/// How many personal tokens `who` has (any status).
pub fn own_count(tx: &mut Tx<'_>, who: &Principal) -> Result<i64, OpError> {
    Policy::of(tx.config()).check(who, Action::ListOwn)?;
    Ok(store::count_owned(
        tx.conn,
        TokenKind::Personal,
        &who.subject,
    )?)
}

/// One keyset page of `filter`, with the cursor of the next when there is one.
fn keyset_page(
    tx: &mut Tx<'_>,
    filter: &TokenFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Page, OpError> {
    let after = decode(after)?;
    let limit = limit.clamp(1, MAX_PAGE);
    let now = tx.now();
    let mut rows = store::page(tx.conn, filter, now, after, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| cursor::encode(r.created_at.naive_utc(), &r.id))
    } else {
        None
    };
    Ok(Page {
        tokens: rows,
        next_cursor: next,
    })
}

/// A page of token `id`'s audit trail, newest first, if `who` may read the token.
pub fn audit_trail(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    lookup: Lookup,
    before: Option<&str>,
    limit: i64,
) -> Result<AuditPage, OpError> {
    let record = read(tx, who, id, lookup)?;
    let before = decode(before)?;
    Ok(crate::audit::for_token(tx.conn, &record.id, before, limit)?)
}

/// Every token, service tokens then personal ones, each newest first,
/// handed to `each` one batch of at most
/// `batch` at a time (the operator's `admin token list`): each batch is one
/// keyset query, so memory holds one batch whatever the number of tokens.
/// `each` returning an error stops the walk (a closed pipe).
pub fn each_batch<E: From<OpError>>(
    svc: &crate::app::Services,
    who: &Principal,
    batch: i64,
    mut each: impl FnMut(&[TokenRecord]) -> Result<(), E>,
) -> Result<(), E> {
    let policy = Policy::of(&svc.config);
    policy
        .check(who, Action::ListAll(TokenKind::Personal))
        .map_err(OpError::from)?;
    policy
        .check(who, Action::ListAll(TokenKind::Service))
        .map_err(OpError::from)?;
    // One kind at a time, so each batch is a range of the index on
    // (kind, created_at, id).
    for kind in [TokenKind::Service, TokenKind::Personal] {
        let filter = TokenFilter {
            kind: Some(kind),
            ..TokenFilter::default()
        };
        let mut after = None;
        loop {
            let rows = svc
                .read(|tx| store::page(tx.conn, &filter, tx.now(), after.clone(), batch))
                .map_err(OpError::from)?;
            each(&rows)?;
            match rows.last() {
                Some(last) if rows.len() as i64 == batch => {
                    after = Some((last.created_at.naive_utc(), last.id.clone()));
                }
                _ => break,
            }
        }
    }
    Ok(())
}
