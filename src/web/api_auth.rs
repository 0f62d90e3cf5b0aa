//! Authentication and permission checks of the management APIs.

use super::pages::current_user;
use super::{blocking, ApiError};
use crate::accounts::principal::{self, Permission, Principal};
use crate::app::Services;
use actix_web::http::{header, Method};
use actix_web::HttpRequest;
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
            .and_then(|v| v.strip_prefix("Bearer "))
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
