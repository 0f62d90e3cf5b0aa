//! Errors as HTTP: the one place where a status code is chosen, for the
//! OAuth endpoints (RFC 6749 §5.2 JSON), the management APIs
//! (`{"error":{"message","code"}}`) and the pages (an HTML message).
//! Internal details are logged with the request id (by the middleware) and
//! never sent.

use super::dto::{ApiErrorBody, ApiErrorDetail, OAuthErrorBody};
use crate::error::{InternalError, OpError};
use crate::limits::Throttled;
use crate::oauth::{GrantError, OAuthError, OAuthErrorCode};
use crate::policy::Denied;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

/// An error from an OAuth endpoint, answered as RFC 6749 §5.2 JSON.
#[derive(Debug, thiserror::Error)]
pub enum OAuthEndpointError {
    /// A protocol error the client can act on.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The body exceeds the limit.
    #[error("request body too large")]
    TooLarge,
    /// A rate limit refused the request.
    #[error("throttled: {0:?}")]
    Throttled(#[from] Throttled),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<GrantError> for OAuthEndpointError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Refused(e) => Self::OAuth(e),
            GrantError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<crate::store::StoreError> for OAuthEndpointError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl ResponseError for OAuthEndpointError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::OAuth(e) => match e.code {
                OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
                OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            },
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(e) => internal_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, description) = match self {
            Self::OAuth(e) => (e.code.as_str(), e.description.as_str()),
            Self::TooLarge => ("invalid_request", "request body too large"),
            // RFC 6749 has no code for "slow down" at the token endpoint;
            // `temporarily_unavailable` (§4.1.2.1) says "try again later".
            Self::Throttled(_) => (
                "temporarily_unavailable",
                "too many requests; retry after the Retry-After header's seconds",
            ),
            Self::Internal(e) if e.is_unavailable() => (
                "temporarily_unavailable",
                "patgate is busy or its database is unavailable; retry later",
            ),
            Self::Internal(_) => (
                "server_error",
                "internal error; see the X-Request-Id header",
            ),
        };
        let mut res = HttpResponse::build(self.status_code());
        if let Self::OAuth(OAuthError {
            code: OAuthErrorCode::InvalidClient,
            ..
        }) = self
        {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"patgate\""));
        }
        let res = no_store(&mut res).json(OAuthErrorBody {
            error: code,
            error_description: description,
        });
        let seconds = match self {
            Self::Throttled(t) => retry_seconds(Some(t), None),
            Self::Internal(e) => retry_seconds(None, Some(e)),
            _ => None,
        };
        with_retry_after(res, seconds)
    }
}

/// 503 for overload and an unavailable database, 500 for a defect.
fn internal_status(e: &InternalError) -> StatusCode {
    if e.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// Seconds to wait after a 503 of overload or an unavailable database.
fn unavailable_retry(e: &InternalError) -> Option<u64> {
    e.is_unavailable().then_some(1)
}

/// Seconds to wait before retrying (RFC 9110 §10.2.3), for a refusal that
/// has them: a rate limit's, or 1 s for overload and an unavailable database.
fn retry_seconds(throttled: Option<&Throttled>, internal: Option<&InternalError>) -> Option<u64> {
    throttled
        .map(|t| t.retry_after)
        .or_else(|| internal.and_then(unavailable_retry))
}

/// Writes `Retry-After` when there is one: the one place every error
/// answer (OAuth, API, page, plain) gets it from.
fn with_retry_after(mut res: HttpResponse, seconds: Option<u64>) -> HttpResponse {
    if let Some(v) = seconds.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The status of a refused domain operation, for the APIs and the pages
/// alike (a caller's mistake is never a 5xx).
pub(crate) fn op_status(e: &OpError) -> StatusCode {
    match e {
        OpError::Unauthenticated => StatusCode::UNAUTHORIZED,
        OpError::Denied(_) => StatusCode::FORBIDDEN,
        OpError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        OpError::Malformed(_) => StatusCode::BAD_REQUEST,
        OpError::NotFound => StatusCode::NOT_FOUND,
        OpError::Conflict(_) => StatusCode::CONFLICT,
        OpError::Internal(e) => internal_status(e),
    }
}

/// An error from a management or discovery endpoint, answered as
/// `{"error":{"message","code"?}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials (RFC 6750 §3.1 `invalid_token`).
    #[error("not authenticated")]
    Unauthorized,
    /// The policy refused the caller.
    #[error("denied: {0:?}")]
    Denied(Denied),
    /// Refused for another reason (a missing CSRF header).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request body or a parameter is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Well-formed but invalid input.
    #[error("invalid: {0}")]
    Invalid(String),
    /// No such resource.
    #[error("not found")]
    NotFound,
    /// A dependency is down (readiness).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A rate limit refused the request.
    #[error("throttled: {0:?}")]
    Throttled(#[from] Throttled),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Unauthenticated => Self::Unauthorized,
            OpError::Denied(d) => Self::Denied(d),
            OpError::Invalid(v) => Self::Invalid(v.message),
            OpError::Malformed(why) => Self::BadRequest(why),
            OpError::NotFound => Self::NotFound,
            OpError::Conflict(c) => Self::Conflict(c.message().into()),
            OpError::Internal(e) => Self::Internal(e),
        }
    }
}

impl ApiError {
    /// The answer of the `@access-tokens`-compatible API, which calls every
    /// invalid input a 400 (its client retries only 5xx).
    pub fn compat(e: OpError) -> Self {
        match e {
            OpError::Invalid(v) => Self::BadRequest(v.message),
            other => other.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Denied(_) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(e) => internal_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, code): (String, &str) = match self {
            Self::Unauthorized => (
                "a valid patgate access token (Bearer) or a signed-in session is required".into(),
                "unauthorized",
            ),
            Self::Denied(Denied::Scope { .. }) => (denied_message(self), "insufficient_scope"),
            Self::Denied(_) => (denied_message(self), "forbidden"),
            Self::Forbidden(why) => (why.to_string(), "forbidden"),
            Self::BadRequest(why) => (why.clone(), "bad_request"),
            Self::Conflict(why) => (why.clone(), "conflict"),
            Self::Invalid(why) => (why.clone(), "invalid"),
            Self::NotFound => ("not found".into(), "not_found"),
            Self::Unavailable(_) => ("service unavailable".into(), "unavailable"),
            Self::Throttled(t) => (t.to_string(), "rate_limited"),
            Self::Internal(e) if e.is_unavailable() => (
                "patgate is busy or its database is unavailable; retry later".into(),
                "unavailable",
            ),
            Self::Internal(_) => (
                "internal error; see the X-Request-Id header".into(),
                "internal",
            ),
        };
        let mut res = HttpResponse::build(self.status_code());
        let seconds = match self {
            Self::Unavailable(_) => Some(1),
            Self::Throttled(t) => retry_seconds(Some(t), None),
            Self::Internal(e) => retry_seconds(None, Some(e)),
            _ => None,
        };
        match self {
            Self::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"patgate\""));
            }
            // RFC 6750 §3.1: which scope the token lacks.
            Self::Denied(Denied::Scope { scopes, .. }) => {
                let challenge = format!(
                    "Bearer realm=\"patgate\", error=\"insufficient_scope\", scope=\"{}\"",
                    scopes.join(" ")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    res.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            _ => {}
        }
        let res = no_store(&mut res).json(ApiErrorBody {
            error: ApiErrorDetail {
                message: &message,
                code,
            },
        });
        with_retry_after(res, seconds)
    }
}

fn denied_message(e: &ApiError) -> String {
    match e {
        ApiError::Denied(d) => d.message(),
        _ => String::new(),
    }
}

/// Marks a response as never to be cached (RFC 6749 §5.1).
pub fn no_store(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
}

/// Why a page was not shown: a redirect to sign-in, or an HTML message
/// page with the status that says why.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in on a page opened with GET: sign in, then come back here.
    #[error("sign in first")]
    SignIn(String),
    /// Not signed in on a form post (the session ended).
    #[error("session ended")]
    SessionEnded,
    /// The form's CSRF token does not match the session's.
    #[error("form expired")]
    FormExpired,
    /// A message page with this status, title and text.
    #[error("{1}")]
    Message(StatusCode, &'static str, String),
    /// The policy refused the person.
    #[error("denied: {0:?}")]
    Denied(Denied),
    /// A rate limit refused the request.
    #[error("throttled: {0:?}")]
    Throttled(#[from] Throttled),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl PageError {
    /// A 404 page saying `text`.
    pub fn not_found(text: &str) -> Self {
        Self::Message(StatusCode::NOT_FOUND, "Not found", text.into())
    }
}

impl From<OpError> for PageError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Unauthenticated => Self::SessionEnded,
            OpError::Denied(d) => Self::Denied(d),
            OpError::NotFound => Self::not_found("There is nothing here, or it is not yours."),
            OpError::Internal(e) => Self::Internal(e),
            e @ (OpError::Invalid(_) | OpError::Malformed(_) | OpError::Conflict(_)) => {
                let status = op_status(&e);
                Self::Message(status, "Cannot do that", op_text(e))
            }
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::SEE_OTHER,
            Self::SessionEnded => StatusCode::UNAUTHORIZED,
            Self::FormExpired | Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::Message(status, ..) => *status,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(e) => internal_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        use super::render::{message, redirect};
        let status = self.status_code();
        let res = match self {
            Self::SignIn(url) => redirect(status, url),
            Self::SessionEnded => message(
                status,
                "Sign in first",
                "Your session has ended. Sign in again and repeat the action.",
            ),
            Self::FormExpired => message(
                status,
                "Form expired",
                "This form is out of date or came from another site. Go back, reload and try again.",
            ),
            Self::Message(_, title, text) => message(status, title, text),
            Self::Denied(d) => message(
                status,
                "Not allowed",
                &format!("{}. Ask an administrator if you need it.", capitalized(&d.message())),
            ),
            Self::Throttled(t) => message(
                status,
                "Too many requests",
                &format!("Too many requests from your address. Try again in {} seconds.", t.retry_after),
            ),
            Self::Internal(e) if e.is_unavailable() => message(
                status,
                "Busy",
                "patgate is busy or its database is unavailable. Try again in a moment.",
            ),
            Self::Internal(_) => message(
                status,
                "Something went wrong",
                "patgate had an internal error; the X-Request-Id header identifies it in the server log.",
            ),
        };
        let seconds = match self {
            Self::Throttled(t) => retry_seconds(Some(t), None),
            Self::Internal(e) => retry_seconds(None, Some(e)),
            _ => None,
        };
        with_retry_after(res, seconds)
    }
}

/// What a refused operation tells the person.
fn op_text(e: OpError) -> String {
    match e {
        OpError::Invalid(v) => v.message,
        OpError::Malformed(why) => why,
        OpError::Conflict(c) => c.message().into(),
        other => other.to_string(),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// An internal failure outside a page or API handler: a plain 500; details
/// go to the log with the request id.
impl ResponseError for InternalError {
    fn status_code(&self) -> StatusCode {
        internal_status(self)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        let res = no_store(&mut res)
            .content_type("text/plain; charset=utf-8")
            .body("patgate had an internal error; the X-Request-Id header identifies it in the server log.");
        with_retry_after(res, retry_seconds(None, Some(self)))
    }
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
