//! `GET /login/sso/{provider}` and its callback: sign-in through an upstream
//! OpenID Connect provider. Every failure ends on a page; none signs anyone in.

use super::blocking;
use super::pages::{cookie, local_path, message, redirect};
use crate::accounts::sessions;
use crate::app::Services;
use crate::error::InternalError;
use crate::sso::{self, SsoError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

fn failed(req: &HttpRequest, e: &SsoError) -> HttpResponse {
    let status = match e {
        SsoError::UnknownProvider => StatusCode::NOT_FOUND,
        SsoError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        SsoError::NotAllowed => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::info!(error = %e, "SSO sign-in failed");
    message(
        status,
        "Sign-in failed",
        &format!("{e}. Nobody was signed in; go back to the sign-in page and try again."),
        req,
    )
}

/// `GET /login/sso/{provider}?next=…`: off to the provider.
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let provider = match sso::provider(&svc, &path.into_inner()) {
        Ok(p) => p.clone(),
        Err(e) => return Ok(failed(&req, &e)),
    };
    let discovery = match svc.sso.discover(&provider).await {
        Ok(d) => d,
        Err(e) => return Ok(failed(&req, &e)),
    };
    let next = local_path(super::query_params(&req).get("next").map(String::as_str));
    let s = svc.clone();
    let url = blocking(move || sso::begin(&s, &provider, &discovery, &next)).await?;
    Ok(redirect(StatusCode::SEE_OTHER, url.as_str()))
}

/// `GET /login/sso/{provider}/callback?code&state` (or `?error`).
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let provider = match sso::provider(&svc, &path.into_inner()) {
        Ok(p) => p.clone(),
        Err(e) => return Ok(failed(&req, &e)),
    };
    let q = super::query_params(&req);
    let (s, p, state) = (
        svc.clone(),
        provider.clone(),
        q.get("state").cloned().unwrap_or_default(),
    );
    let login = blocking(move || sso::take(&s, &p, &state)).await?;
    if let Some(error) = q.get("error") {
        let described = q
            .get("error_description")
            .map_or(error.clone(), |d| format!("{error}: {d}"));
        return Ok(failed(&req, &SsoError::Refused(described)));
    }
    let Some(login) = login else {
        return Ok(failed(&req, &SsoError::BadState));
    };
    let result = async {
        let discovery = svc.sso.discover(&provider).await?;
        let code = q
            .get("code")
            .ok_or_else(|| SsoError::Refused("no code".into()))?;
        sso::redeem(&svc, &provider, &discovery, &login, code).await
    }
    .await;
    let profile = match result {
        Ok(p) => p,
        Err(e) => return Ok(failed(&req, &e)),
    };
    let (s, p) = (svc.clone(), provider.clone());
    let subject = match blocking(move || sso::admit(&s, &p, &profile)).await? {
        Ok(subject) => subject,
        Err(e) => return Ok(failed(&req, &e)),
    };
    let s = svc.clone();
    let value = blocking(move || sessions::start(&s, &subject)).await?;
    let mut res = redirect(StatusCode::SEE_OTHER, &local_path(Some(&login.next_path)));
    let _ = res.add_cookie(&cookie(&svc, sessions::COOKIE, value.expose().to_string()));
    Ok(res)
}
