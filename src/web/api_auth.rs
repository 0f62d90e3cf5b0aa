//! Authentication and permission checks of the management APIs, and the
//! answers both token APIs share.

use super::pages::current_user;
use super::{blocking, ApiError};
use crate::accounts::principal::{self, Permission, Principal};
use crate::app::Services;
use actix_web::http::{header, Method};
use actix_web::HttpRequest;
use std::collections::HashMap;
use std::sync::Arc;

/// The header a browser session must send with every change (CSRF).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Authenticates the caller: a patgate access token as `Authorization:
/// Bearer` (RFC 6750 §2.1), or a signed-in browser session, which must send
/// its CSRF token in `X-CSRF-Token` on anything but GET.
pub(crate) async fn authenticate(
    req: &HttpRequest,
    svc: &Arc<Services>,
) -> Result<Principal, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| &v[7..])
            })
            .ok_or(ApiError::Unauthorized)?;
        let (s, token) = (svc.clone(), token.trim().to_string());
        return blocking(move || principal::from_access_token(&s, &token))
            .await?
            .ok_or(ApiError::Unauthorized);
    }
    let user = current_user(req, svc)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if req.method() != Method::GET {
        let presented = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !user.csrf_matches(presented) {
            return Err(ApiError::Forbidden(
                "a browser session must send its CSRF token in X-CSRF-Token",
            ));
        }
    }
    let s = svc.clone();
    Ok(blocking(move || principal::from_session(&s, &user.subject)).await?)
}

/// Authenticates the caller and requires `needed` (403 otherwise).
pub(crate) async fn allowed(
    req: &HttpRequest,
    svc: &Arc<Services>,
    needed: Permission,
) -> Result<Principal, ApiError> {
    let who = authenticate(req, svc).await?;
    if who.may(needed) {
        Ok(who)
    } else {
        Err(ApiError::Forbidden("not allowed"))
    }
}

/// The answer to a revocation: 204, 409 if revoked before, 404.
pub(crate) fn revoke_answer(
    outcome: crate::tokens::RevokeOutcome,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::tokens::RevokeOutcome;
    match outcome {
        RevokeOutcome::Revoked => Ok(actix_web::HttpResponse::NoContent().finish()),
        RevokeOutcome::AlreadyRevoked => {
            Err(ApiError::Conflict("the token is already revoked".into()))
        }
        RevokeOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// `expiresAt` of a create body: an RFC 3339 time, or the default lifetime
/// when absent (422 otherwise).
pub(crate) fn requested_expiry(
    expires_at: Option<&str>,
) -> Result<crate::tokens::RequestedLifetime, ApiError> {
    use crate::tokens::RequestedLifetime;
    Ok(match expires_at {
        None => RequestedLifetime::Default,
        Some(t) => RequestedLifetime::Until(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::Invalid("expiresAt must be an RFC 3339 time".into()))?
                .to_utc(),
        ),
    })
}

/// Issues `request` for the caller and answers `201 {token, rawToken}`
/// (shown once), 422 for invalid input, or 409 with `taken` for a name in use.
pub(crate) async fn issue_answer(
    req: &HttpRequest,
    svc: &Arc<Services>,
    who: &Principal,
    request: crate::tokens::IssueRequest,
    taken: &str,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::tokens::{self, IssueOutcome};
    let (s, by) = (svc.clone(), super::actor(req, svc, &who.subject));
    match blocking(move || tokens::issue(&s, request, &by)).await? {
        IssueOutcome::Issued(t) => Ok(super::errors::no_store(
            &mut actix_web::HttpResponse::Created(),
        )
        .json(serde_json::json!({
            "token": crate::tokens::view::TokenView::new(&t.record, svc.now()),
            "rawToken": t.raw.expose(),
        }))),
        IssueOutcome::Invalid { message, .. } => Err(ApiError::Invalid(message)),
        IssueOutcome::NameTaken => Err(ApiError::Conflict(taken.into())),
    }
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

/// `{"events": […], "next_cursor"}`: a page of token `id`'s audit trail,
/// newest first (`?limit&cursor`).
pub(crate) async fn audit_answer(
    req: &HttpRequest,
    svc: &Arc<Services>,
    id: String,
) -> Result<actix_web::HttpResponse, ApiError> {
    let query = query_map(req)?;
    let limit = page_limit(&query, crate::audit::MAX_AUDIT_PAGE)?;
    let (s, cursor) = (svc.clone(), query.get("cursor").cloned());
    let page = blocking(move || crate::audit::for_token(&s, &id, cursor.as_deref(), limit))
        .await?
        .map_err(ApiError::BadRequest)?;
    Ok(actix_web::HttpResponse::Ok().json(page))
}
