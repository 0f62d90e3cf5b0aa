//! `/admin/users`: every user (local and from identity providers) with
//! provider, subject, email, groups, roles and last sign-in; disable (ends
//! their sessions; revokes their tokens when configured) and enable.

use super::page_access::{allowed, page_form, page_user};
use super::pages::{html, message, page_url, redirect};
use super::views::{shown, ConfirmPage, UserLine, UsersPage};
use super::{blocking, form_field};
use crate::accounts::principal::Permission;
use crate::app::Services;
use crate::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

const USERS: &str = "/admin/users";

/// `GET /admin/users?q`.
pub async fn list(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserAdmin]).await?);
    let q = super::query_params(&req);
    let filter = q
        .get("q")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let (s, f) = (svc.clone(), filter.clone());
    let rows = blocking(move || {
        Ok(crate::store::sso::list_users(
            &mut *s.conn()?,
            f.as_deref(),
            200,
        )?)
    })
    .await?;
    let users = rows
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
        notice,
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `GET /admin/users/disable?user=…`: asks for confirmation.
pub async fn confirm_disable(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserAdmin]).await?);
    let subject = super::query_params(&req)
        .get("user")
        .cloned()
        .unwrap_or_default();
    let tokens = if svc.config.sso.revoke_tokens_on_disable {
        " Every token they hold is revoked too."
    } else {
        " Their tokens stay as they are; revoke them separately if needed."
    };
    let page = ConfirmPage {
        nav: user.nav(),
        title: format!("Disable {subject}?"),
        text: format!("They can no longer sign in and their browser sessions end.{tokens}"),
        action: page_url(&svc, "/admin/users/disable", &[]),
        button: "Disable user".into(),
        ask_reason: false,
        grace_choices: vec![],
        hidden: vec![("user".into(), subject)],
        back: USERS.into(),
    };
    Ok(html(StatusCode::OK, page, &req))
}

async fn set(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
    disable: bool,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[Permission::UserAdmin]).await?);
    let subject = form_field(&fields, "user");
    let (s, who, by) = (svc.clone(), subject.clone(), user.session.subject.clone());
    let found = blocking(move || {
        if disable {
            crate::accounts::disable(&s, &who, &by)
        } else {
            Ok(crate::store::sso::set_disabled(
                &mut *s.conn()?,
                &who,
                false,
            )?)
        }
    })
    .await?;
    if !found {
        return Ok(message(
            StatusCode::NOT_FOUND,
            "No such user",
            "There is no user with this subject.",
            &req,
        ));
    }
    let done = if disable { "disabled" } else { "enabled" };
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &page_url(&svc, USERS, &[("done", done)]),
    ))
}

/// `POST /admin/users/disable` with `user`.
pub async fn disable(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    set(req, body, svc, true).await
}

/// `POST /admin/users/enable` with `user`.
pub async fn enable(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    set(req, body, svc, false).await
}
