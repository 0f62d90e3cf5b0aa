//! Who is calling, as actix extractors: a handler names what it needs in its
//! signature, and a caller who does not qualify gets one refusal.
//!
//! - [`ApiCaller`]: a patgate access token as `Authorization: Bearer` (RFC
//!   6750 §2.1), or a signed-in browser that sends its CSRF token in
//!   `X-CSRF-Token` on anything but GET. Refusal: [`ApiError`] (JSON 401/403).
//! - [`PageUser`]: a signed-in person on a page. Not signed in: a GET goes
//!   to the sign-in page and comes back, anything else is a 401 page.
//! - [`PageForm`]: a [`PageUser`]'s form post, once its `csrf` field matches
//!   the session. Refusal: [`PageError`] (a page).
//!
//! These only establish the principal; what it may do is the domain's
//! policy, asked by every operation.

use super::errors::{ApiError, PageError};
use super::render::{login_url, Nav};
use super::request::{dpop_header, form_field, form_pairs, origin};
use super::run;
use crate::accounts::sessions;
use crate::accounts::sessions::SessionUser;
use crate::app::Services;
use crate::config::Permission;
use crate::credential::{self, Credential, Door};
use crate::error::InternalError;
use crate::policy::{Origin, Principal};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

/// The header a browser session must send with every change (CSRF).
pub const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn services(req: &HttpRequest) -> Arc<Services> {
    req.app_data::<web::Data<Services>>()
        .expect("the app registers its services")
        .clone()
        .into_inner()
}

/// An authenticated caller of a management API.
#[derive(Debug)]
pub struct ApiCaller(pub Principal);

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(ApiCaller) })
    }
}

/// The access token of `req` and whether it came with the `DPoP` scheme
/// rather than `Bearer` (RFC 9449 §7.1), if it carries one.
fn access_credentials(req: &HttpRequest) -> Option<Result<(bool, String), ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let text = value.to_str().unwrap_or_default();
    if text
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("dpop "))
    {
        return Some(Ok((true, text[5..].trim().to_string())));
    }
    Some(bearer(req)?.map(|t| (false, t)))
}

/// The Bearer token of `req`, if it carries one (case-insensitive scheme).
pub fn bearer(req: &HttpRequest) -> Option<Result<String, ApiError>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("bearer "))
                    .map(|_| v[7..].trim().to_string())
            })
            .ok_or(ApiError::Unauthorized),
    )
}

pub(crate) async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let svc = services(req);
    let from = origin(req, &svc);
    if let Some(credentials) = access_credentials(req) {
        let (dpop_scheme, token) = credentials?;
        return resolve_jwt(req, &svc, Door::ManagementApi, dpop_scheme, token, from).await;
    }
    let user = current_user(req, &svc)
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
    session_principal(&svc, user.subject, from)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// The principal behind the JWT `token` at `door`, through the one
/// resolver ([`credential::resolve`]); 401 when it is none there.
pub(crate) async fn resolve_jwt(
    req: &HttpRequest,
    svc: &Arc<Services>,
    door: Door,
    dpop_scheme: bool,
    token: String,
    from: Origin,
) -> Result<Principal, ApiError> {
    let proof = dpop_header(req);
    let (method, url) = (req.method().to_string(), svc.config.url(req.path()));
    let found = run(svc, move |svc| {
        let credential = Credential::Jwt {
            jwt: &token,
            how: crate::oauth::dpop::Presentation {
                dpop_scheme,
                proof: proof.as_deref(),
                method: &method,
                url: &url,
            },
        };
        svc.read(|tx| credential::resolve(tx, door, &credential, from))
    });
    found.await?.ok_or(ApiError::Unauthorized)
}

/// The signed-in `subject`'s principal; `None` once the account is disabled.
async fn session_principal(
    svc: &Arc<Services>,
    subject: String,
    from: Origin,
) -> Result<Option<Principal>, InternalError> {
    run(svc, move |svc| {
        let credential = Credential::Session { subject: &subject };
        svc.read(|tx| credential::resolve(tx, Door::ManagementApi, &credential, from))
    })
    .await
}

/// The signed-in user of this request, if any. Reads the database.
pub async fn current_user(
    req: &HttpRequest,
    svc: &std::sync::Arc<Services>,
) -> Result<Option<SessionUser>, InternalError> {
    let Some(value) = req.cookie(sessions::COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let svc = svc.clone();
    run(&svc, move |svc| sessions::current(svc, &value)).await
}

/// A signed-in person on a page.
#[derive(Debug)]
pub struct PageUser {
    /// Their session (CSRF token).
    pub session: SessionUser,
    /// Who they are and what they may do.
    pub who: Principal,
}

impl PageUser {
    /// The navigation bar for this person (which links to show).
    pub fn nav(&self) -> Nav {
        Nav {
            subject: self.session.subject.clone(),
            csrf: self.session.csrf.clone(),
            admin: self.who.may(Permission::ServiceRead) || self.who.may(Permission::UserAdmin),
            users: self.who.may(Permission::UserAdmin),
        }
    }
}

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { page_user(&req).await })
    }
}

async fn page_user(req: &HttpRequest) -> Result<PageUser, PageError> {
    let svc = services(req);
    let Some(session) = current_user(req, &svc).await? else {
        if req.method() != Method::GET {
            return Err(PageError::SessionEnded);
        }
        let here = req
            .uri()
            .path_and_query()
            .map_or("/".to_string(), |pq| pq.as_str().to_string());
        return Err(PageError::SignIn(login_url(&svc, &here)));
    };
    let (subject, from) = (session.subject.clone(), origin(req, &svc));
    let who = session_principal(&svc, subject, from)
        .await?
        .ok_or(PageError::SessionEnded)?;
    Ok(PageUser { session, who })
}

/// A signed-in person's form post whose `csrf` field matches the session,
/// with its fields (repeated names kept in order).
#[derive(Debug)]
pub struct PageForm {
    /// Who posted.
    pub user: PageUser,
    /// The form's name/value pairs.
    pub fields: Vec<(String, String)>,
}

impl PageForm {
    /// The first value of `name`, or "".
    pub fn field(&self, name: &str) -> String {
        form_field(&self.fields, name)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest for PageForm {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| {
                PageError::Message(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "Form too large",
                    "The form could not be read.".into(),
                )
            })?;
            let user = page_user(&req).await?;
            let fields = form_pairs(&body);
            if !user.session.csrf_matches(&form_field(&fields, "csrf")) {
                return Err(PageError::FormExpired);
            }
            Ok(PageForm { user, fields })
        })
    }
}
