//! `/admin/access-tokens`: service tokens (list with filters and
//! database-level pagination, detail with audit trail, revoke with a reason,
//! restore), every user's personal tokens, and revoking all tokens of a user.

use super::page_access::{allowed, forbidden, page_form, page_user};
use super::pages::{html, message, page_url, redirect};
use super::views::{AdminTokensPage, ConfirmPage, EventLine, TokenDetailPage, TokenLine};
use super::{actor, blocking, form_field};
use crate::accounts::principal::Permission;
use crate::app::Services;
use crate::error::InternalError;
use crate::store::models::TokenRecord;
use crate::store::token_queries::TokenFilter;
use crate::tokens;
use crate::tokens::admin::{self, RestoreOutcome};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// The listing.
const LIST: &str = "/admin/access-tokens";
const PAGE_SIZE: i64 = 25;
const STATUSES: [&str; 4] = ["active", "expiring", "expired", "revoked"];

/// The permission that reads (`write`: changes) tokens of `kind`.
fn needed_for(kind: &str, change: Option<Permission>) -> Permission {
    match (kind, change) {
        ("service", Some(p)) => p,
        ("service", None) => Permission::ServiceRead,
        _ => Permission::UserAdmin,
    }
}

/// `GET /admin/access-tokens?view&status&owner&q&cursor`.
pub async fn list(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[]).await?);
    let (can_service, can_users) = (
        user.who.may(Permission::ServiceRead),
        user.who.may(Permission::UserAdmin),
    );
    let q = super::query_params(&req);
    let view = match q.get("view").map(String::as_str) {
        Some("personal") => "personal",
        Some("service") => "service",
        _ if !can_service && can_users => "personal",
        _ => "service",
    };
    let needed = needed_for(view, None);
    if !user.who.may(needed) {
        return Ok(forbidden(&req, needed));
    }
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = TokenFilter {
        kind: Some(view.into()),
        status: text("status").filter(|s| STATUSES.contains(&s.as_str())),
        owner: text("owner"),
        name_contains: text("q"),
    };
    let (s, f, cursor) = (svc.clone(), filter.clone(), text("cursor"));
    let page = match blocking(move || admin::page(&s, &f, cursor.as_deref(), PAGE_SIZE)).await? {
        Ok(p) => p,
        Err(why) => {
            return Ok(message(
                StatusCode::BAD_REQUEST,
                "Cannot list tokens",
                &why,
                &req,
            ))
        }
    };
    let next_url = page.next_cursor.map(|c| {
        let mut url = svc.config.url(LIST);
        url.query_pairs_mut().append_pair("view", view);
        for (k, v) in [
            ("status", &filter.status),
            ("owner", &filter.owner),
            ("q", &filter.name_contains),
        ] {
            if let Some(v) = v {
                url.query_pairs_mut().append_pair(k, v);
            }
        }
        url.query_pairs_mut().append_pair("cursor", &c);
        url.to_string()
    });
    let now = svc.now();
    let notice = match q.get("done").map(String::as_str) {
        Some("revoked-all") => Some(format!(
            "Revoked {} token(s) of {}.",
            q.get("n").map_or("0", String::as_str),
            filter.owner.clone().unwrap_or_default()
        )),
        _ => None,
    };
    let page = AdminTokensPage {
        nav: user.nav(),
        view: view.into(),
        can_service,
        can_users,
        can_create: user.who.may(Permission::ServiceWrite),
        status: filter.status.unwrap_or_default(),
        owner: filter.owner.unwrap_or_default(),
        q: filter.name_contains.unwrap_or_default(),
        tokens: page.tokens.iter().map(|r| TokenLine::new(r, now)).collect(),
        next_url,
        notice,
    };
    Ok(html(StatusCode::OK, page, &req))
}

async fn load(svc: &Arc<Services>, id: String) -> Result<Option<TokenRecord>, InternalError> {
    let s = svc.clone();
    blocking(move || tokens::find(&s, &id)).await
}

fn not_found(req: &HttpRequest) -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        "No such token",
        "There is no token with this id.",
        req,
    )
}

/// `GET /admin/access-tokens/{id}?cursor`: the token and a page of its audit trail.
pub async fn detail(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[]).await?);
    let Some(record) = load(&svc, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let needed = needed_for(&record.kind, None);
    if !user.who.may(needed) {
        return Ok(forbidden(&req, needed));
    }
    let q = super::query_params(&req);
    let (s, id, cursor) = (svc.clone(), record.id.clone(), q.get("cursor").cloned());
    let audit =
        match blocking(move || crate::audit::for_token(&s, &id, cursor.as_deref(), 50)).await? {
            Ok(p) => p,
            Err(why) => {
                return Ok(message(
                    StatusCode::BAD_REQUEST,
                    "Cannot show the audit trail",
                    &why,
                    &req,
                ))
            }
        };
    let next_url = audit
        .next_cursor
        .map(|c| page_url(&svc, &format!("{LIST}/{}", record.id), &[("cursor", &c)]));
    let line = TokenLine::new(&record, svc.now());
    let page = TokenDetailPage {
        nav: user.nav(),
        can_revoke: record.revoked_at.is_none()
            && user
                .who
                .may(needed_for(&record.kind, Some(Permission::ServiceRevoke))),
        can_restore: record.revoked_at.is_some()
            && user
                .who
                .may(needed_for(&record.kind, Some(Permission::ServiceWrite))),
        token: line,
        events: audit.events.into_iter().map(EventLine::from).collect(),
        next_url,
        notice: match q.get("done").map(String::as_str) {
            Some("revoked") => Some("Token revoked.".into()),
            Some("restored") => Some("Token restored.".into()),
            _ => None,
        },
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `POST /admin/access-tokens/{id}/revoke` with an optional `reason`.
pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[]).await?);
    let Some(record) = load(&svc, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let needed = needed_for(&record.kind, Some(Permission::ServiceRevoke));
    if !user.who.may(needed) {
        return Ok(forbidden(&req, needed));
    }
    let reason = Some(
        form_field(&fields, "reason")
            .trim()
            .chars()
            .take(500)
            .collect::<String>(),
    )
    .filter(|r| !r.is_empty());
    let (s, by, id) = (
        svc.clone(),
        actor(&req, &svc, &user.session.subject),
        record.id.clone(),
    );
    blocking(move || admin::revoke_with_reason(&s, &id, &by, reason.as_deref())).await?;
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &page_url(
            &svc,
            &format!("{LIST}/{}", record.id),
            &[("done", "revoked")],
        ),
    ))
}

/// `POST /admin/access-tokens/{id}/restore`.
pub async fn restore(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, _) = allowed!(page_form(&req, &body, &svc, &[]).await?);
    let Some(record) = load(&svc, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let needed = needed_for(&record.kind, Some(Permission::ServiceWrite));
    if !user.who.may(needed) {
        return Ok(forbidden(&req, needed));
    }
    let (s, by, id) = (
        svc.clone(),
        actor(&req, &svc, &user.session.subject),
        record.id.clone(),
    );
    Ok(
        match blocking(move || admin::restore(&s, &id, &by)).await? {
            RestoreOutcome::Restored(_) | RestoreOutcome::NotRevoked => redirect(
                StatusCode::SEE_OTHER,
                &page_url(
                    &svc,
                    &format!("{LIST}/{}", record.id),
                    &[("done", "restored")],
                ),
            ),
            RestoreOutcome::NameTaken => message(
                StatusCode::CONFLICT,
                "Cannot restore",
                "Another active token of the owner has this name.",
                &req,
            ),
            RestoreOutcome::NotFound => not_found(&req),
        },
    )
}

/// `GET /admin/users/revoke-all?user=…`: asks for confirmation.
pub async fn confirm_revoke_all(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserAdmin]).await?);
    let subject = super::query_params(&req)
        .get("user")
        .map(|u| u.trim().to_string())
        .unwrap_or_default();
    if subject.is_empty() {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Which user?",
            "Name the user whose tokens to revoke.",
            &req,
        ));
    }
    let page = ConfirmPage {
        nav: user.nav(),
        title: format!("Revoke every token of {subject}?"),
        text: "Every personal access token of this user is revoked at once, and every access token minted from them stops working. Use this when someone leaves or an account is compromised.".into(),
        action: "/admin/users/revoke-all".into(),
        button: "Revoke all tokens".into(),
        ask_reason: false,
        grace_choices: vec![],
        hidden: vec![("user".into(), subject)],
        back: LIST.into(),
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `POST /admin/users/revoke-all` with `user`.
pub async fn revoke_all(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[Permission::UserAdmin]).await?);
    let subject = form_field(&fields, "user").trim().to_string();
    let (s, by, owner) = (
        svc.clone(),
        actor(&req, &svc, &user.session.subject),
        subject.clone(),
    );
    let revoked = blocking(move || admin::revoke_all(&s, &owner, &by)).await?;
    let n = revoked.to_string();
    let pairs = [
        ("view", "personal"),
        ("owner", &subject),
        ("done", "revoked-all"),
        ("n", &n),
    ];
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &page_url(&svc, LIST, &pairs),
    ))
}
