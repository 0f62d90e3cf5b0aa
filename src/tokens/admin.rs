//! Administration: paged listings, restore, revoke with a reason, and
//! revoking everything a user holds (offboarding). Every change is audited.

use super::{RevokeOutcome, Services};
use crate::audit::{self, Actor, Event};
use crate::cursor;
use crate::error::InternalError;
use crate::store::models::TokenRecord;
use crate::store::token_queries::{self as store, RestoreResult, TokenFilter};
use crate::store::tokens as token_store;
use serde_json::json;

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

/// A page of tokens. `Err` names a bad cursor. Blocking.
pub fn page(
    svc: &Services,
    filter: &TokenFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Result<Page, String>, InternalError> {
    let after = match cursor {
        None => None,
        Some(c) => match cursor::decode(c) {
            Some(after) => Some(after),
            None => return Ok(Err(cursor::BAD_CURSOR.into())),
        },
    };
    let limit = limit.clamp(1, MAX_PAGE);
    let mut rows = store::page(&mut *svc.conn()?, filter, svc.now(), after, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| cursor::encode(r.created_at.naive_utc(), &r.id))
    } else {
        None
    };
    Ok(Ok(Page {
        tokens: rows,
        next_cursor: next,
    }))
}

/// Revokes `id` on behalf of `by`, recording `reason`. Blocking.
pub fn revoke_with_reason(
    svc: &Services,
    id: &str,
    by: &Actor,
    reason: Option<&str>,
) -> Result<RevokeOutcome, InternalError> {
    let mut conn = svc.conn()?;
    if token_store::revoke(&mut conn, id, by.label(), svc.now())? {
        tracing::info!(token_id = %id, actor = %by.label(), "token revoked");
        let details = reason.map_or(json!({}), |r| json!({ "reason": r }));
        audit::record(svc, &mut conn, id, Event::Revoked, by, details)?;
        return Ok(RevokeOutcome::Revoked);
    }
    Ok(match token_store::find(&mut conn, id)? {
        Some(_) => RevokeOutcome::AlreadyRevoked,
        None => RevokeOutcome::NotFound,
    })
}

/// The result of a restore.
#[derive(Debug)]
pub enum RestoreOutcome {
    /// Active again.
    Restored(Box<TokenRecord>),
    /// No such token.
    NotFound,
    /// It was not revoked.
    NotRevoked,
    /// Its name is held by another active token of the owner.
    NameTaken,
}

/// Un-revokes `id` on behalf of `by`. Blocking.
pub fn restore(svc: &Services, id: &str, by: &Actor) -> Result<RestoreOutcome, InternalError> {
    let mut conn = svc.conn()?;
    let Some(record) = token_store::find(&mut conn, id)? else {
        return Ok(RestoreOutcome::NotFound);
    };
    Ok(match store::restore(&mut conn, id, &record.name)? {
        RestoreResult::Restored => {
            audit::record(svc, &mut conn, id, Event::Restored, by, json!({}))?;
            let record = token_store::find(&mut conn, id)?
                .ok_or(InternalError::Blocking("token vanished".into()))?;
            RestoreOutcome::Restored(Box::new(record))
        }
        RestoreResult::NotRevoked => RestoreOutcome::NotRevoked,
        RestoreResult::NameTaken => RestoreOutcome::NameTaken,
    })
}

/// Revokes every personal token of `owner` (offboarding); returns how many. Blocking.
pub fn revoke_all(svc: &Services, owner: &str, by: &Actor) -> Result<usize, InternalError> {
    let ids = store::unrevoked_personal(&mut *svc.conn()?, owner)?;
    let mut revoked = 0;
    for id in ids {
        if revoke_with_reason(svc, &id, by, Some("all tokens of the user revoked"))?
            == RevokeOutcome::Revoked
        {
            revoked += 1;
        }
    }
    tracing::info!(%owner, actor = %by.label(), revoked, "revoked all tokens of a user");
    Ok(revoked)
}
