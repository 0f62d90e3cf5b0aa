//! `GET|POST /api/auth/v1/authorize` (RFC 6749 §4.1.1): validates the
//! request and sends the browser on to the consent screen. A bad client or
//! redirect URI is a page, never a redirect (§4.1.2.1).

use crate::app::Services;
use crate::oauth::authorize::{self, AuthorizeOutcome};
use crate::oauth::paths::consent_path;
use crate::oauth::token_request::TokenParams;
use crate::oauth::OAuthError;
use crate::web::errors::OAuthEndpointError;
use crate::web::errors::PageError;
use crate::web::oauth::token::read_params;
use crate::web::render::redirect;
use crate::web::request::client_ip;
use crate::web::{run, WebState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

async fn start(
    req: &HttpRequest,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
    params: Result<TokenParams, OAuthError>,
) -> Result<HttpResponse, PageError> {
    let cannot =
        |text: String| PageError::Message(StatusCode::BAD_REQUEST, "Cannot continue", text);
    // Anyone may start one, and each stores a pending session.
    state
        .limits
        .anonymous_write(client_ip(req, &svc.config.trusted_proxies))?;
    let params = params.map_err(|e| cannot(e.description))?;
    let svc = svc.into_inner();
    match run(&svc, move |s| authorize::start(s, &params)).await? {
        AuthorizeOutcome::ErrorPage(text) => Err(cannot(text)),
        AuthorizeOutcome::RedirectError(url) => Ok(redirect(StatusCode::FOUND, url.as_str())),
        AuthorizeOutcome::Created(id) => Ok(redirect(
            StatusCode::FOUND,
            svc.config.url(&consent_path(&id)).as_str(),
        )),
    }
}

/// `GET /api/auth/v1/authorize?…`.
pub async fn get(
    req: HttpRequest,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, PageError> {
    let params = TokenParams::from_query(req.query_string());
    start(&req, svc, state, params).await
}

/// `POST /api/auth/v1/authorize` with a form body (at most 16 KiB).
pub async fn post(
    req: HttpRequest,
    body: web::Payload,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, PageError> {
    let params = match read_params(&req, body).await {
        Ok(params) => Ok(params),
        Err(OAuthEndpointError::OAuth(e)) => Err(e),
        Err(OAuthEndpointError::TooLarge) => {
            Err(OAuthError::invalid_request("the form is too large"))
        }
        Err(other) => {
            return Err(PageError::Message(
                StatusCode::BAD_REQUEST,
                "Cannot continue",
                other.to_string(),
            ))
        }
    };
    start(&req, svc, state, params).await
}
