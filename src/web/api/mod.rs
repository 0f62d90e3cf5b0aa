//! The JSON management APIs: `/api/access-tokens/personal` (a person's own
//! tokens), `/api/access-tokens/service` (service tokens, offboarding) and
//! the `@access-tokens`-compatible admin API; and what they share. Callers
//! authenticate as [`crate::web::auth::ApiCaller`]; what they may do is the
//! domain's policy.

pub mod compat;
pub mod compat_schema;
pub mod leaks;
pub mod personal;
pub mod service;

use super::errors::{no_store, ApiError};
use super::run;
use crate::app::Services;
use crate::policy::Principal;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest, Lookup, RequestedLifetime};
use actix_web::{HttpRequest, HttpResponse};
use std::collections::HashMap;
use std::sync::Arc;

/// `expiresAt` of a create body: an RFC 3339 time, or the default lifetime
/// when absent (422 otherwise).
pub(crate) fn requested_expiry(expires_at: Option<&str>) -> Result<RequestedLifetime, ApiError> {
    Ok(match expires_at {
        None => RequestedLifetime::Default,
        Some(t) => RequestedLifetime::Until(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::Invalid("expiresAt must be an RFC 3339 time".into()))?
                .to_utc(),
        ),
    })
}

/// A `dpopJkt` of a create body: 43 base64url characters (an RFC 7638
/// SHA-256 thumbprint), or 422.
pub(crate) fn dpop_thumbprint(jkt: Option<String>) -> Result<Option<String>, ApiError> {
    match jkt {
        Some(j) if !crate::oauth::dpop::is_thumbprint(&j) => Err(ApiError::Invalid(
            "dpopJkt must be a key's RFC 7638 SHA-256 thumbprint (43 base64url characters)".into(),
        )),
        other => Ok(other),
    }
}

/// Issues `request` as `who` and answers `201 {token, rawToken}` (shown once).
pub(crate) async fn issue_answer(
    svc: &Arc<Services>,
    who: Principal,
    request: IssueRequest,
) -> Result<HttpResponse, ApiError> {
    let issued = run(svc, move |s| tokens::issue(s, &who, request)).await?;
    Ok(
        no_store(&mut HttpResponse::Created()).json(super::dto::IssuedToken {
            token: TokenView::new(&issued.record, svc.now()),
            raw_token: issued.raw.expose().to_string(),
        }),
    )
}

/// `200` with token `id` as `lookup` lets `who` find it, never cached.
pub(crate) async fn read_answer(
    svc: &Arc<Services>,
    who: Principal,
    id: String,
    lookup: Lookup,
) -> Result<HttpResponse, ApiError> {
    let record = run(svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| tokens::read(tx, who, &id, lookup))
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(TokenView::new(&record, svc.now())))
}

/// Revokes token `id` as `lookup` lets `who` find it: `204`, or 409 if it
/// was revoked already.
pub(crate) async fn revoke_answer(
    svc: &Arc<Services>,
    who: Principal,
    id: String,
    lookup: Lookup,
    reason: Option<String>,
) -> Result<HttpResponse, ApiError> {
    run(svc, move |s| {
        crate::principal::act(s, &who, |tx, who| {
            tokens::revoke(tx, who, &id, lookup, reason.as_deref())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A JSON body that may be left out: `None` when it is blank (400 when it
/// is not JSON).
pub(crate) fn optional_json(body: &[u8]) -> Result<Option<serde_json::Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

/// The query string as name → value (400 when it cannot be parsed).
pub(crate) fn query_map(req: &HttpRequest) -> Result<HashMap<String, String>, ApiError> {
    actix_web::web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| ApiError::BadRequest(format!("query: {e}")))
}

/// `limit` from the query: 50 when absent, 1 to `max` (400 otherwise).
pub(crate) fn page_limit(query: &HashMap<String, String>, max: i64) -> Result<i64, ApiError> {
    match query.get("limit") {
        None => Ok(50.min(max)),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be 1 to {max}"))),
    }
}

/// The query of the audit routes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct AuditQuery {
    /// Events per page (1–200; 50 when absent).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The optional body of a rotation.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct RotateBody {
    /// Seconds the old secret keeps working (0–604800; 0 when absent).
    grace_seconds: Option<i64>,
}

/// `{"events": […], "next_cursor"}`: a page of token `id`'s audit trail,
/// newest first (`?limit&cursor`), if `who` may read the token.
pub(crate) async fn audit_answer(
    req: &HttpRequest,
    svc: &Arc<Services>,
    who: Principal,
    id: String,
    lookup: Lookup,
) -> Result<HttpResponse, ApiError> {
    let query = query_map(req)?;
    let limit = page_limit(&query, crate::audit::MAX_AUDIT_PAGE)?;
    let cursor = query.get("cursor").cloned();
    let page = run(svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            tokens::admin::audit_trail(tx, who, &id, lookup, cursor.as_deref(), limit)
        })
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(page))
}
