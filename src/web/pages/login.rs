//! `GET/POST /login`, `POST /logout`, and the signed-in landing page `/`.

use super::{cookie, html, local_path, message, redirect, HomePage, LoginPage};
use crate::accounts::{self, sessions, SignInOutcome};
use crate::app::Services;
use crate::clock::random_alphanumeric;
use crate::error::InternalError;
use crate::metrics::SignInResult;
use crate::secret::lanes::Lane;
use crate::secret::SecretString;
use crate::web::auth::current_user;
use crate::web::errors::PageError;
use crate::web::request::{client_ip, form_field, form_pairs, origin, query_params};
use crate::web::{hashing_turn, run, WebState};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

/// Login CSRF cookie (double submit: the form must carry the same value).
const LOGIN_CSRF_COOKIE: &str = "patgate_login_csrf";

fn login_page(
    svc: &Services,
    req: &HttpRequest,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> HttpResponse {
    let csrf = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 32)
        .unwrap_or_else(|| random_alphanumeric(svc.random.as_ref(), 32));
    let page = LoginPage {
        csrf: csrf.clone(),
        next: next.to_string(),
        username: username.to_string(),
        error,
        providers: svc
            .config
            .sso
            .providers
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect(),
        local_accounts: svc.config.sso.local_accounts,
    };
    let mut res = html(status, &page);
    let _ = res.add_cookie(&cookie(svc, LOGIN_CSRF_COOKIE, csrf));
    res
}

/// `GET /login?next=…`.
pub async fn show(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let next = local_path(query_params(&req).get("next").map(String::as_str));
    if current_user(&req, &svc).await?.is_some() {
        return Ok(redirect(StatusCode::SEE_OTHER, &next));
    }
    Ok(login_page(&svc, &req, StatusCode::OK, &next, "", None))
}

/// `POST /login`: signs in and continues to `next`.
pub async fn submit(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let address = client_ip(&req, &svc.config.trusted_proxies);
    state.limits.anonymous_write(address)?;
    if !svc.config.sso.local_accounts {
        return Ok(message(
            StatusCode::FORBIDDEN,
            "Local accounts are turned off",
            "Sign in with your organisation's identity provider.",
        ));
    }
    let form = form_pairs(&body);
    let field = |name: &str| form_field(&form, name);
    let next = local_path(Some(&field("next")));
    let username = field("username");
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(field("csrf").as_bytes())) {
        return Ok(login_page(
            &svc,
            &req,
            StatusCode::FORBIDDEN,
            &next,
            &username,
            Some("The form expired; please try again.".into()),
        ));
    }
    let from = origin(&req, &svc);
    let password = SecretString::new(field("password"));
    let name = username.clone();
    let permit = hashing_turn(&svc, Lane::SignIn).await?;
    let outcome = run(&svc, move |s| accounts::sign_in(s, &name, &password, &from)).await?;
    drop(permit);
    svc.metrics.sign_in(match &outcome {
        SignInOutcome::SignedIn(_) => SignInResult::Local,
        SignInOutcome::Invalid => SignInResult::Failed,
        SignInOutcome::Throttled(_) => SignInResult::LockedOut,
    });
    match outcome {
        SignInOutcome::SignedIn(subject) => {
            let value = run(&svc, move |s| sessions::start(s, &subject)).await?;
            let mut res = redirect(StatusCode::SEE_OTHER, &next);
            let _ = res.add_cookie(&cookie(&svc, sessions::COOKIE, value.expose().to_string()));
            let _ =
                res.add_removal_cookie(&Cookie::build(LOGIN_CSRF_COOKIE, "").path("/").finish());
            Ok(res)
        }
        SignInOutcome::Invalid => Ok(login_page(
            &svc,
            &req,
            StatusCode::UNAUTHORIZED,
            &next,
            &username,
            Some("Wrong user name or password.".into()),
        )),
        SignInOutcome::Throttled(seconds) => Ok(login_page(
            &svc,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &username,
            Some(format!(
                "Too many failed sign-ins. Try again in {seconds} seconds."
            )),
        )),
    }
}

/// `POST /logout`.
pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let Some(user) = current_user(&req, &svc).await? else {
        return Ok(redirect(StatusCode::SEE_OTHER, "/login"));
    };
    if !user.csrf_matches(&form_field(&form_pairs(&body), "csrf")) {
        return Ok(message(
            StatusCode::FORBIDDEN,
            "Not signed out",
            "The form expired; please try again.",
        ));
    }
    if let Some(value) = req.cookie(sessions::COOKIE).map(|c| c.value().to_string()) {
        run(&svc, move |s| sessions::end(s, &value)).await?;
    }
    let mut res = redirect(StatusCode::SEE_OTHER, "/login");
    let _ = res.add_removal_cookie(&Cookie::build(sessions::COOKIE, "").path("/").finish());
    Ok(res)
}

/// `GET /`: who is signed in (with the links their permissions open), or
/// on to sign-in.
pub async fn home(user: crate::web::auth::PageUser) -> HttpResponse {
    html(StatusCode::OK, &HomePage { nav: user.nav() })
}
