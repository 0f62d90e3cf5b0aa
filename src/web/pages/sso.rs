//! `GET /login/sso/{provider}` and its callback: sign-in through an upstream
//! OpenID Connect provider. The start sets a short-lived cookie whose hash
//! is stored with the sign-in; the callback finishes only in the browser
//! holding it, so nobody can be signed in through someone else's callback
//! URL (login CSRF, RFC 6749 §10.12, RFC 9700 §4.7.1). Every failure ends
//! on a page; none signs anyone in.

use super::{cookie, local_path, message, redirect};
use crate::accounts::sessions;
use crate::app::Services;
use crate::clock::random_alphanumeric;
use crate::error::InternalError;
use crate::metrics::SignInResult;
use crate::sso::{self, SsoError, LOGIN_LIFETIME};
use crate::web::errors::PageError;
use crate::web::request::{client_ip, origin, query_params};
use crate::web::{run, WebState};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The cookie binding a started sign-in to its browser.
const BROWSER_COOKIE: &str = "patgate_sso";
/// Length of its random value.
const BROWSER_VALUE_LEN: usize = 43;

/// This browser's binding value, if it carries a well-formed one.
fn browser_value(req: &HttpRequest) -> Option<String> {
    req.cookie(BROWSER_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == BROWSER_VALUE_LEN && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn failed(e: &SsoError) -> HttpResponse {
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
    )
}

/// `GET /login/sso/{provider}?next=…`: off to the provider, with this
/// browser's binding cookie set (kept when present, so sign-ins started in
/// two tabs both finish).
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    // Each start stores a pending login: limited per address.
    state
        .limits
        .anonymous_write(client_ip(&req, &svc.config.trusted_proxies))?;
    let provider = match sso::provider(&svc, &path.into_inner()) {
        Ok(p) => p.clone(),
        Err(e) => return Ok(failed(&e)),
    };
    let discovery = match state.sso.discover(&provider).await {
        Ok(d) => d,
        Err(e) => return Ok(failed(&e)),
    };
    let next = local_path(query_params(&req).get("next").map(String::as_str));
    let browser = browser_value(&req)
        .unwrap_or_else(|| random_alphanumeric(svc.random.as_ref(), BROWSER_VALUE_LEN));
    let value = browser.clone();
    let url = run(&svc, move |s| {
        sso::begin(s, &provider, &discovery, &next, &value)
    })
    .await?;
    let mut binding = cookie(&svc, BROWSER_COOKIE, browser);
    binding.set_path("/login/sso/");
    binding.set_max_age(CookieDuration::seconds(LOGIN_LIFETIME.num_seconds()));
    let mut res = redirect(StatusCode::SEE_OTHER, url.as_str());
    res.add_cookie(&binding)
        .map_err(|e| InternalError::Answer(e.to_string()))?;
    Ok(res)
}

/// `GET /login/sso/{provider}/callback?code&state` (or `?error`); counts
/// the sign-in in the metrics (a redirect with a session is the success).
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, InternalError> {
    let metrics_svc = svc.clone();
    let res = admit_from_callback(req, path, svc, state).await?;
    metrics_svc
        .metrics
        .sign_in(if res.status() == StatusCode::SEE_OTHER {
            SignInResult::Sso
        } else {
            SignInResult::Failed
        });
    Ok(res)
}

async fn admit_from_callback(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let provider = match sso::provider(&svc, &path.into_inner()) {
        Ok(p) => p.clone(),
        Err(e) => return Ok(failed(&e)),
    };
    let q = query_params(&req);
    let (p, state_value, browser) = (
        provider.clone(),
        q.get("state").cloned().unwrap_or_default(),
        browser_value(&req).unwrap_or_default(),
    );
    let login = run(&svc, move |s| sso::take(s, &p, &state_value, &browser)).await?;
    if let Some(error) = q.get("error") {
        let described = q
            .get("error_description")
            .map_or(error.clone(), |d| format!("{error}: {d}"));
        return Ok(failed(&SsoError::Refused(described)));
    }
    let Some(login) = login else {
        return Ok(failed(&SsoError::BadState));
    };
    let result = async {
        let discovery = state.sso.discover(&provider).await?;
        let code = q
            .get("code")
            .ok_or_else(|| SsoError::Refused("no code".into()))?;
        sso::redeem(&svc, &state.sso, &provider, &discovery, &login, code).await
    }
    .await;
    let profile = match result {
        Ok(p) => p,
        Err(e) => return Ok(failed(&e)),
    };
    let (p, from) = (provider.clone(), origin(&req, &svc));
    let subject = match run(&svc, move |s| sso::admit(s, &p, &profile, &from)).await? {
        Ok(subject) => subject,
        Err(e) => return Ok(failed(&e)),
    };
    let value = run(&svc, move |s| sessions::start(s, &subject)).await?;
    let mut res = redirect(StatusCode::SEE_OTHER, &local_path(Some(&login.next_path)));
    let _ = res.add_cookie(&cookie(&svc, sessions::COOKIE, value.expose().to_string()));
    Ok(res)
}
