//! Errors as HTTP: the one place where a status code is chosen. Internal
//! details are logged (with the request id, by the middleware) and never sent.

use crate::error::InternalError;
use crate::oauth::{OAuthError, OAuthErrorCode};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde_json::json;

/// An error from an OAuth endpoint, answered as RFC 6749 §5.2 JSON.
#[derive(Debug, thiserror::Error)]
pub enum OAuthEndpointError {
    /// A protocol error the client can act on.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The body exceeds the limit.
    #[error("request body too large")]
    TooLarge,
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
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
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, description) = match self {
            Self::OAuth(e) => (e.code.as_str(), e.description.as_str()),
            Self::TooLarge => ("invalid_request", "request body too large"),
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
        no_store(&mut res).json(json!({ "error": code, "error_description": description }))
    }
}

/// An error from a management or discovery endpoint, answered as
/// `{"error":{"message","code"?}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials (RFC 6750 §3.1 `invalid_token`).
    #[error("not authenticated")]
    Unauthorized,
    /// Authenticated, but not allowed.
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
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, code): (String, &str) = match self {
            Self::Unauthorized => (
                "a valid patgate access token (Bearer) or a signed-in session is required".into(),
                "unauthorized",
            ),
            Self::Forbidden(why) => (why.to_string(), "forbidden"),
            Self::BadRequest(why) => (why.clone(), "bad_request"),
            Self::Conflict(why) => (why.clone(), "conflict"),
            Self::Invalid(why) => (why.clone(), "invalid"),
            Self::NotFound => ("not found".into(), "not_found"),
            Self::Unavailable(_) => ("service unavailable".into(), "unavailable"),
            Self::Internal(_) => (
                "internal error; see the X-Request-Id header".into(),
                "internal",
            ),
        };
        let mut res = HttpResponse::build(self.status_code());
        if let Self::Unauthorized = self {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"patgate\""));
        }
        no_store(&mut res).json(json!({ "error": { "message": message, "code": code } }))
    }
}

/// Marks a response as never to be cached (RFC 6749 §5.1).
pub fn no_store(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
}

/// An internal failure while rendering a page: a plain 500 page; details go
/// to the log with the request id.
impl ResponseError for InternalError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        no_store(&mut HttpResponse::build(self.status_code()))
            .content_type("text/plain; charset=utf-8")
            .body("patgate had an internal error; the X-Request-Id header identifies it in the server log.")
    }
}
