//! `GET|POST /api/auth/v1/authorize` and the consent screen at
//! `GET|POST /oauth2/authorize/{id}`.

use super::pages::{self, current_user, html, message, redirect, ConsentPage as ConsentTemplate};
use super::{blocking, form_field, form_pairs};
use crate::app::Services;
use crate::error::InternalError;
use crate::oauth::authorize::{self, AuthorizeOutcome};
use crate::oauth::consent::{self, ConsentDecision, ConsentForm, ConsentPage, Unavailable};
use crate::oauth::token_request::TokenParams;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

async fn authorize(
    req: HttpRequest,
    svc: web::Data<Services>,
    params: Result<TokenParams, crate::oauth::OAuthError>,
) -> Result<HttpResponse, InternalError> {
    let params = match params {
        Ok(p) => p,
        Err(e) => {
            return Ok(message(
                StatusCode::BAD_REQUEST,
                "Cannot continue",
                &e.description,
                &req,
            ))
        }
    };
    let svc = svc.into_inner();
    let s = svc.clone();
    Ok(
        match blocking(move || authorize::start(&s, &params)).await? {
            AuthorizeOutcome::ErrorPage(text) => {
                message(StatusCode::BAD_REQUEST, "Cannot continue", &text, &req)
            }
            AuthorizeOutcome::RedirectError(url) => redirect(StatusCode::FOUND, url.as_str()),
            AuthorizeOutcome::Created(id) => redirect(
                StatusCode::FOUND,
                svc.config.url(&format!("/oauth2/authorize/{id}")).as_str(),
            ),
        },
    )
}

/// `GET /api/auth/v1/authorize?…` (RFC 6749 §4.1.1).
pub async fn authorize_get(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let params = TokenParams::from_query(req.query_string());
    authorize(req, svc, params).await
}

/// `POST /api/auth/v1/authorize` with a form body.
pub async fn authorize_post(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let params = TokenParams::parse(None, &body);
    authorize(req, svc, params).await
}

fn unavailable(why: Unavailable, req: &HttpRequest) -> HttpResponse {
    let (status, title, text) = match why {
        Unavailable::Unknown => (
            StatusCode::NOT_FOUND,
            "Request not found",
            "This token request does not exist. Start again from the application.",
        ),
        Unavailable::Expired => (
            StatusCode::GONE,
            "Request expired",
            "This token request expired. Start again from the application.",
        ),
        Unavailable::Finished => (
            StatusCode::GONE,
            "Request already answered",
            "This token request was already approved or cancelled.",
        ),
        Unavailable::OtherUser => (
            StatusCode::FORBIDDEN,
            "Not your request",
            "This token request belongs to another user.",
        ),
    };
    message(status, title, text, req)
}

/// `GET /oauth2/authorize/{id}`: the consent screen (sign-in first).
pub async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let id = path.into_inner();
    let Some(user) = current_user(&req, &svc).await? else {
        return Ok(redirect(
            StatusCode::FOUND,
            &pages::login_url(&svc, req.path()),
        ));
    };
    let (s, subject) = (svc.clone(), user.subject.clone());
    Ok(
        match blocking(move || consent::show(&s, &id, &subject)).await? {
            ConsentPage::Show(screen) => html(
                StatusCode::OK,
                ConsentTemplate {
                    s: *screen,
                    csrf: user.csrf,
                },
                &req,
            ),
            ConsentPage::Unavailable(why) => unavailable(why, &req),
        },
    )
}

/// `POST /oauth2/authorize/{id}`: Create token or Cancel.
pub async fn submit(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let id = path.into_inner();
    let Some(user) = current_user(&req, &svc).await? else {
        return Ok(redirect(
            StatusCode::SEE_OTHER,
            &pages::login_url(&svc, req.path()),
        ));
    };
    let pairs = form_pairs(&body);
    let field = |name: &str| form_field(&pairs, name);
    if !user.csrf_matches(&field("csrf")) {
        return Ok(message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form could not be verified (CSRF). Reload the page and try again.",
            &req,
        ));
    }
    let form = ConsentForm {
        approve: field("action") == "approve",
        token_name: field("token_name"),
        scopes: pairs
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
        expiry: field("expiry"),
        custom_date: field("custom_date"),
    };
    let (s, subject) = (svc.clone(), user.subject.clone());
    Ok(
        match blocking(move || consent::submit(&s, &id, &subject, &form)).await? {
            // 302, as RFC 6749 §4.1.2 shows; browsers follow it with a GET.
            ConsentDecision::Redirect(url) => redirect(StatusCode::FOUND, url.as_str()),
            ConsentDecision::Invalid(screen) => html(
                StatusCode::UNPROCESSABLE_ENTITY,
                ConsentTemplate {
                    s: *screen,
                    csrf: user.csrf,
                },
                &req,
            ),
            ConsentDecision::Unavailable(why) => unavailable(why, &req),
            ConsentDecision::DeviceAnswered(true) => message(
                StatusCode::OK,
                "Token approved",
                "Return to your device: it receives the token within a few seconds. You can close this page.",
                &req,
            ),
            ConsentDecision::DeviceAnswered(false) => message(
                StatusCode::OK,
                "Request refused",
                "No token was created. The device is told that you refused.",
                &req,
            ),
        },
    )
}
