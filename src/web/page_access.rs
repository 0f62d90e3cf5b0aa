//! Who may see a page: the signed-in person and their permissions. Not
//! signed in: a GET goes to the sign-in page and comes back; anything else
//! is a 401 page. Signed in without the permission: a 403 page. Every form
//! post must carry the session's CSRF token.

use super::pages::{current_user, login_url, message, redirect};
use super::{blocking, form_field, form_pairs};
use crate::accounts::principal::{self, Permission, Principal};
use crate::accounts::sessions::SessionUser;
use crate::app::Services;
use crate::error::InternalError;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use std::sync::Arc;

/// Unwraps a page check's `Ok`, or returns its refusal (sign-in, 401, 403) as the answer.
macro_rules! allowed {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refusal) => return Ok(refusal),
        }
    };
}
pub(crate) use allowed;

/// A signed-in person on a page.
#[derive(Debug)]
pub struct PageUser {
    /// Their session (CSRF token).
    pub session: SessionUser,
    /// What they may do.
    pub who: Principal,
}

/// The navigation bar's data.
#[derive(Debug, Clone)]
pub struct Nav {
    /// Who is signed in.
    pub subject: String,
    /// Session CSRF token (sign-out form).
    pub csrf: String,
    /// Whether to link the admin token pages.
    pub admin: bool,
    /// Whether to link the users page.
    pub users: bool,
}

impl PageUser {
    /// The navigation bar for this person.
    pub fn nav(&self) -> Nav {
        Nav {
            subject: self.session.subject.clone(),
            csrf: self.session.csrf.clone(),
            admin: self.who.may(Permission::ServiceRead) || self.who.may(Permission::UserAdmin),
            users: self.who.may(Permission::UserAdmin),
        }
    }
}

/// The answer to a request that may not proceed.
pub type Refusal = HttpResponse;

/// The signed-in person, if they hold every permission in `needed`.
pub async fn page_user(
    req: &HttpRequest,
    svc: &Arc<Services>,
    needed: &[Permission],
) -> Result<Result<PageUser, Refusal>, InternalError> {
    let Some(session) = current_user(req, svc).await? else {
        let here = match req.uri().path_and_query() {
            Some(pq) => pq.as_str().to_string(),
            None => "/".into(),
        };
        return Ok(Err(if req.method() == Method::GET {
            redirect(StatusCode::SEE_OTHER, &login_url(svc, &here))
        } else {
            message(
                StatusCode::UNAUTHORIZED,
                "Sign in first",
                "Your session has ended. Sign in again and repeat the action.",
                req,
            )
        }));
    };
    let (s, subject) = (svc.clone(), session.subject.clone());
    let who = blocking(move || principal::from_session(&s, &subject)).await?;
    if let Some(missing) = needed.iter().find(|p| !who.may(**p)) {
        return Ok(Err(forbidden(req, *missing)));
    }
    Ok(Ok(PageUser { session, who }))
}

/// A 403 page naming the missing permission.
pub fn forbidden(req: &HttpRequest, missing: Permission) -> HttpResponse {
    message(
        StatusCode::FORBIDDEN,
        "Not allowed",
        &format!(
            "This needs the permission {}. Ask an administrator if you need it.",
            missing.as_str()
        ),
        req,
    )
}

/// A form post by the signed-in person holding `needed`, with its fields,
/// once its `csrf` field matches the session.
pub async fn page_form(
    req: &HttpRequest,
    body: &[u8],
    svc: &Arc<Services>,
    needed: &[Permission],
) -> Result<Result<(PageUser, Vec<(String, String)>), Refusal>, InternalError> {
    let user = match page_user(req, svc, needed).await? {
        Ok(u) => u,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let fields = form_pairs(body);
    if !user.session.csrf_matches(&form_field(&fields, "csrf")) {
        return Ok(Err(message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form is out of date or came from another site. Go back, reload and try again.",
            req,
        )));
    }
    Ok(Ok((user, fields)))
}
