//! `/admin/users`: every user (local and from identity providers) with
//! provider, subject, email, groups, roles and last sign-in; disable (ends
//! their sessions; revokes their tokens when configured) and enable.

use super::views::{shown, ConfirmPage, UserLine, UsersPage};
use super::{html, page_url, redirect};
use crate::app::Services;
use crate::error::OpError;
use crate::policy::{Action, Policy};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::PageError;
use crate::web::request::query_params;
use crate::web::run;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

const USERS: &str = "/admin/users";
/// Users per page.
const PAGE_SIZE: i64 = 100;

/// `GET /admin/users?q`.
pub async fn list(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let q = query_params(&req);
    let filter = q
        .get("q")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let (f, who) = (filter.clone(), user.who.clone());
    let cursor = q.get("cursor").cloned();
    let page = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            crate::accounts::list(tx, who, f.as_deref(), cursor.as_deref(), PAGE_SIZE)
        })
    })
    .await?;
    let next_url = page.next_cursor.as_ref().map(|c| {
        let mut pairs = vec![("cursor", c.as_str())];
        if let Some(f) = &filter {
            pairs.push(("q", f.as_str()));
        }
        page_url(&svc, USERS, &pairs)
    });
    let users = page
        .users
        .into_iter()
        .map(|u| {
            let mut direct = u.role_list();
            if u.is_admin {
                direct.push("admin".into());
            }
            let roles = svc.config.access.roles_of(&direct, &u.group_list());
            UserLine {
                tokens_url: page_url(
                    &svc,
                    "/admin/access-tokens",
                    &[("view", "personal"), ("owner", &u.subject)],
                ),
                disable_url: page_url(&svc, "/admin/users/disable", &[("user", &u.subject)]),
                provider: u.provider.clone().unwrap_or_else(|| "local".into()),
                email: u.email.clone().unwrap_or_default(),
                display_name: u.display_name.clone().unwrap_or_default(),
                groups: u.group_list().join(", "),
                roles: roles.into_iter().collect::<Vec<_>>().join(", "),
                last_sign_in: u
                    .last_login_at
                    .map_or("never".into(), |t| shown(t.and_utc())),
                disabled: u.disabled,
                subject: u.subject,
            }
        })
        .collect();
    let notice = match q.get("done").map(String::as_str) {
        Some("disabled") => {
            Some("User disabled: their sessions ended and they cannot sign in.".to_string())
        }
        Some("enabled") => Some("User enabled.".to_string()),
        _ => None,
    };
    let page = UsersPage {
        nav: user.nav(),
        q: filter.unwrap_or_default(),
        users,
        next_url,
        notice,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `GET /admin/users/disable?user=…`: asks for confirmation.
pub async fn confirm_disable(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    Policy::of(&svc.config)
        .check(&user.who, Action::ManageUsers)
        .map_err(PageError::Denied)?;
    let subject = query_params(&req).get("user").cloned().unwrap_or_default();
    let tokens = if svc.config.sso.revoke_tokens_on_disable {
        " Every token they hold is revoked too."
    } else {
        " Their tokens stay as they are; revoke them separately if needed."
    };
    let page = ConfirmPage {
        hidden: vec![("user".into(), subject.clone())],
        ..ConfirmPage::new(
            user.nav(),
            format!("Disable {subject}?"),
            &format!("They can no longer sign in and their browser sessions end.{tokens}"),
            page_url(&svc, "/admin/users/disable", &[]),
            "Disable user",
            USERS,
        )
    };
    Ok(html(StatusCode::OK, &page))
}

async fn set(
    post: PageForm,
    svc: web::Data<Services>,
    disable: bool,
) -> Result<HttpResponse, PageError> {
    let (subject, who) = (post.field("user"), post.user.who);
    let done = run(&svc.clone().into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| {
            crate::accounts::set_disabled(tx, who, &subject, disable)
        })
    })
    .await;
    match done {
        Ok(()) => {}
        Err(OpError::NotFound) => {
            return Err(PageError::not_found("There is no user with this subject."))
        }
        Err(e) => return Err(e.into()),
    }
    let done = if disable { "disabled" } else { "enabled" };
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &page_url(&svc, USERS, &[("done", done)]),
    ))
}

/// `POST /admin/users/disable` with `user`.
pub async fn disable(post: PageForm, svc: web::Data<Services>) -> Result<HttpResponse, PageError> {
    set(post, svc, true).await
}

/// `POST /admin/users/enable` with `user`.
pub async fn enable(post: PageForm, svc: web::Data<Services>) -> Result<HttpResponse, PageError> {
    set(post, svc, false).await
}
