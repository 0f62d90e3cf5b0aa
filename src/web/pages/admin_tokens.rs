//! `/admin/access-tokens`: service tokens (list with filters and
//! database-level pagination, detail with audit trail, revoke with a reason,
//! restore), every user's personal tokens, and revoking all tokens of a user.

use super::views::{AdminTokensPage, ConfirmPage, EventLine, TokenDetailPage, TokenLine};
use super::{html, page_url, redirect};
use crate::app::Services;
use crate::config::Permission;
use crate::error::{Conflict, InternalError, OpError};
use crate::policy::{Action, Policy};
use crate::store::token_queries::TokenFilter;
use crate::store::TokenKind;
use crate::tokens::{self, admin, Lookup};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::op_status;
use crate::web::errors::PageError;
use crate::web::request::query_params;
use crate::web::run;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The listing.
const LIST: &str = "/admin/access-tokens";
const PAGE_SIZE: i64 = 25;
const STATUSES: [&str; 5] = ["active", "expiring", "expired", "revoked", "suspended"];

fn not_found(e: OpError) -> PageError {
    match e {
        OpError::NotFound => PageError::not_found("There is no token with this id."),
        other => other.into(),
    }
}

/// `GET /admin/access-tokens?view&status&owner&q&cursor`.
pub async fn list(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let (can_service, can_users) = (
        user.who.may(Permission::ServiceRead),
        user.who.may(Permission::UserAdmin),
    );
    let q = query_params(&req);
    let view = match q.get("view").map(String::as_str) {
        Some("personal") => TokenKind::Personal,
        Some("service") => TokenKind::Service,
        _ if !can_service && can_users => TokenKind::Personal,
        _ => TokenKind::Service,
    };
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let filter = TokenFilter {
        kind: None,
        status: text("status").filter(|s| STATUSES.contains(&s.as_str())),
        owner: text("owner"),
        name_contains: text("q"),
    };
    let (f, cursor, who) = (filter.clone(), text("cursor"), user.who.clone());
    let page = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            admin::page(tx, who, view, &f, cursor.as_deref(), PAGE_SIZE)
        })
    })
    .await?;
    let next_url = page.next_cursor.map(|c| {
        let mut url = svc.config.url(LIST);
        url.query_pairs_mut().append_pair("view", view.as_str());
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
        view: view.as_str().into(),
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
    Ok(html(StatusCode::OK, &page))
}

/// `GET /admin/access-tokens/{id}?cursor`: the token and a page of its audit trail.
pub async fn detail(
    req: HttpRequest,
    user: PageUser,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let q = query_params(&req);
    let (id, cursor, who) = (
        path.into_inner(),
        q.get("cursor").cloned(),
        user.who.clone(),
    );
    let (record, audit, usage) = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            let record = tokens::read(tx, who, &id, Lookup::Any)?;
            let trail = admin::audit_trail(tx, who, &id, Lookup::Any, cursor.as_deref(), 50)?;
            let ids = [record.id.clone()];
            let mut usage = crate::audit::usage::of_tokens(tx.conn, &ids, tx.now())?;
            let usage = usage
                .remove(&record.id)
                .ok_or(InternalError::Vanished("usage"))?;
            Ok::<_, OpError>((record, trail, usage))
        })
    })
    .await
    .map_err(not_found)?;
    let next_url = audit
        .next_cursor
        .map(|c| page_url(&svc, &format!("{LIST}/{}", record.id), &[("cursor", &c)]));
    // Which buttons to show: what the policy would allow.
    let policy = Policy::of(&svc.config);
    let page = TokenDetailPage {
        nav: user.nav(),
        can_revoke: record.revoked_at.is_none()
            && policy.check(&user.who, Action::Revoke(&record)).is_ok(),
        can_restore: record.revoked_at.is_some()
            && policy.check(&user.who, Action::Restore(&record)).is_ok(),
        token: TokenLine::new(&record, svc.now()).flag_unused(
            &record,
            svc.now(),
            svc.config.unused_after.duration(),
        ),
        chart: super::usage_chart::bar_chart(&usage),
        exchanged_30d: usage.exchanged(),
        denials: usage.denials.into_iter().collect(),
        events: audit.events.into_iter().map(EventLine::from).collect(),
        next_url,
        notice: match q.get("done").map(String::as_str) {
            Some("revoked") => Some("Token revoked.".into()),
            Some("restored") => Some("Token restored.".into()),
            _ => None,
        },
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /admin/access-tokens/{id}/revoke` with an optional `reason`.
pub async fn revoke(
    post: PageForm,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let reason = Some(
        post.field("reason")
            .trim()
            .chars()
            .take(500)
            .collect::<String>(),
    )
    .filter(|r| !r.is_empty());
    let (id, who) = (path.into_inner(), post.user.who);
    let target = page_url(&svc, &format!("{LIST}/{id}"), &[("done", "revoked")]);
    let revoked = run(&svc.into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| {
            tokens::revoke(tx, who, &id, Lookup::Any, reason.as_deref())
        })
    })
    .await;
    match revoked {
        Ok(()) | Err(OpError::Conflict(Conflict::AlreadyRevoked)) => {
            Ok(redirect(StatusCode::SEE_OTHER, &target))
        }
        Err(e) => Err(not_found(e)),
    }
}

/// `POST /admin/access-tokens/{id}/restore`.
pub async fn restore(
    post: PageForm,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let (id, who) = (path.into_inner(), post.user.who);
    let target = page_url(&svc, &format!("{LIST}/{id}"), &[("done", "restored")]);
    let restored = run(&svc.into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| {
            tokens::restore(tx, who, &id, Lookup::Any)
        })
    })
    .await;
    match restored {
        Ok(_) | Err(OpError::Conflict(Conflict::NotRevoked)) => {
            Ok(redirect(StatusCode::SEE_OTHER, &target))
        }
        Err(e @ OpError::Conflict(Conflict::NameTaken)) => Err(PageError::Message(
            op_status(&e),
            "Cannot restore",
            "Another active token of the owner has this name.".into(),
        )),
        Err(e) => Err(not_found(e)),
    }
}

/// `GET /admin/users/revoke-all?user=…`: asks for confirmation.
pub async fn confirm_revoke_all(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let subject = query_params(&req)
        .get("user")
        .map(|u| u.trim().to_string())
        .unwrap_or_default();
    Policy::of(&svc.config)
        .check(&user.who, Action::RevokeAllOf(&subject))
        .map_err(PageError::Denied)?;
    if subject.is_empty() {
        return Err(PageError::Message(
            StatusCode::BAD_REQUEST,
            "Which user?",
            "Name the user whose tokens to revoke.".into(),
        ));
    }
    let page = ConfirmPage {
        hidden: vec![("user".into(), subject.clone())],
        ..ConfirmPage::new(
            user.nav(),
            format!("Revoke every token of {subject}?"),
            "Every personal access token of this user is revoked at once, and every access token minted from them stops working. Use this when someone leaves or an account is compromised.",
            "/admin/users/revoke-all".into(),
            "Revoke all tokens",
            LIST,
        )
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /admin/users/revoke-all` with `user`.
pub async fn revoke_all(
    post: PageForm,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let subject = post.field("user").trim().to_string();
    let (owner, who) = (subject.clone(), post.user.who);
    let revoked = run(&svc.clone().into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| tokens::revoke_all(tx, who, &owner))
    })
    .await?;
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
