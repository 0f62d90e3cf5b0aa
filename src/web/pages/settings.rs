//! `/settings/personal-tokens`: a person's own tokens. "Generate new token"
//! runs the consent flow with the built-in web client and shows the token
//! once; revoke and regenerate ask for confirmation. Works without
//! JavaScript (a script only adds the copy button).

use super::views::{ConfirmPage, PersonalTokensPage, TokenLine, TokenSecretPage};
use super::{cookie, html, message_for, page_url, redirect};
use crate::app::Services;
use crate::error::{Conflict, InternalError, OpError};
use crate::oauth::consent::may_approve;
use crate::oauth::web_client::{self, FinishOutcome};
use crate::store::models::TokenRecord;
use crate::tokens::{self, Lookup};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::op_status;
use crate::web::errors::PageError;
use crate::web::request::query_params;
use crate::web::run;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The cookie that carries `state` and the PKCE verifier through the consent screen.
const FLOW_COOKIE: &str = "patgate_token_flow";
/// The list page.
const LIST: &str = "/settings/personal-tokens";
/// Tokens per page of the list.
const PAGE_SIZE: i64 = 25;

/// Grace periods offered when regenerating (seconds, label); at most 7 days.
const GRACE_CHOICES: [(i64, &str); 5] = [
    (0, "No grace: the old secret stops now"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (259_200, "3 days"),
    (604_800, "7 days"),
];

fn notice_for(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "revoked" => "Token revoked. Anything using it can no longer get access tokens.",
            "cancelled" => "No token was created.",
            _ => return None,
        }
        .to_string(),
    )
}

/// `GET /settings/personal-tokens`.
pub async fn list(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let who = user.who.clone();
    let query = query_params(&req);
    let cursor = query.get("cursor").cloned();
    let (page, count, mut usage) = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            let page = tokens::admin::own_page(tx, who, cursor.as_deref(), PAGE_SIZE)?;
            let count = tokens::admin::own_count(tx, who)?;
            let ids: Vec<String> = page.tokens.iter().map(|r| r.id.clone()).collect();
            let usage = crate::audit::usage::of_tokens(tx.conn, &ids, tx.now())?;
            Ok::<_, crate::error::OpError>((page, count, usage))
        })
    })
    .await?;
    let records = page.tokens;
    let (now, unused_after) = (svc.now(), svc.config.unused_after.duration());
    let line = |r: &crate::store::models::TokenRecord| {
        let mut line = TokenLine::new(r, now).flag_unused(r, now, unused_after);
        if let Some(u) = usage.remove(&r.id) {
            line.sparkline = super::usage_chart::sparkline(&u);
        }
        line
    };
    let next_url = page
        .next_cursor
        .map(|c| page_url(&svc, LIST, &[("cursor", c.as_str())]));
    let page = PersonalTokensPage {
        nav: user.nav(),
        tokens: records.iter().map(line).collect(),
        count,
        next_url,
        first_page: !query.contains_key("cursor"),
        notice: notice_for(query.get("done").map(String::as_str)),
    };
    Ok(html(StatusCode::OK, &page))
}

/// `GET /settings/personal-tokens/new`: starts the consent flow, for a
/// person who may create tokens.
pub async fn generate(user: PageUser, svc: web::Data<Services>) -> Result<HttpResponse, PageError> {
    may_approve(&svc.config, &user.who).map_err(PageError::Denied)?;
    let flow = web_client::start(&svc);
    let mut flow_cookie = cookie(&svc, FLOW_COOKIE, flow.cookie_value.expose().to_string());
    flow_cookie.set_path(LIST);
    flow_cookie.set_max_age(CookieDuration::minutes(15));
    let mut res = redirect(StatusCode::SEE_OTHER, flow.authorize_url.as_str());
    res.add_cookie(&flow_cookie)
        .map_err(|e| InternalError::Answer(e.to_string()))?;
    Ok(res)
}

/// `GET /settings/personal-tokens/callback?code&state` (or `?error`): redeems
/// the code and shows the new token once.
pub async fn callback(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let query = query_params(&req);
    let flow = req.cookie(FLOW_COOKIE).map(|c| c.value().to_string());
    let mut gone = Cookie::new(FLOW_COOKIE, "");
    gone.set_path(LIST);
    gone.make_removal();
    let mut res = if query.contains_key("error") {
        redirect(
            StatusCode::SEE_OTHER,
            &page_url(&svc, LIST, &[("done", "cancelled")]),
        )
    } else {
        let who = user.who.clone();
        let state = query.get("state").cloned().unwrap_or_default();
        let code = query.get("code").cloned().unwrap_or_default();
        let finished = run(&svc, move |s| {
            web_client::finish(s, flow.as_deref(), &state, &code, &who)
        })
        .await?;
        match finished {
            FinishOutcome::Issued { raw, record } => {
                secret_page(&svc, &user, "Your new personal access token", raw.expose(), &record, None)
            }
            FinishOutcome::NoFlow => message_for(
                &user,
                StatusCode::BAD_REQUEST,
                "Nothing to show",
                "This token was shown already, or the request is too old. Tokens are shown only once; generate a new one if you did not copy it.",
            ),
            FinishOutcome::Refused(why) => {
                message_for(&user, StatusCode::BAD_REQUEST, "No token was created", &why)
            }
        }
    };
    res.add_removal_cookie(&gone)
        .map_err(|e| InternalError::Answer(e.to_string()))?;
    Ok(res)
}

fn secret_page(
    svc: &Services,
    user: &PageUser,
    title: &str,
    raw: &str,
    record: &TokenRecord,
    note: Option<String>,
) -> HttpResponse {
    let page = TokenSecretPage {
        nav: user.nav(),
        title: title.into(),
        token: TokenLine::new(record, svc.now()),
        raw: raw.into(),
        note,
        back: LIST.into(),
    };
    html(StatusCode::OK, &page)
}

/// The person's own token `id`, if they may read it.
async fn own_token(
    svc: &web::Data<Services>,
    user: &PageUser,
    id: String,
) -> Result<TokenRecord, PageError> {
    let who = user.who.clone();
    run(&svc.clone().into_inner(), move |s| {
        crate::principal::act_read(s, &who, |tx, who| tokens::read(tx, who, &id, Lookup::Own))
    })
    .await
    .map_err(own_error)
}

/// A refusal on one's own token, as a page.
fn own_error(e: OpError) -> PageError {
    match e {
        OpError::NotFound => PageError::not_found("You have no token with this id."),
        other => other.into(),
    }
}

/// `GET /settings/personal-tokens/{id}/revoke`: asks for confirmation.
pub async fn confirm_revoke(
    user: PageUser,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let record = own_token(&svc, &user, path.into_inner()).await?;
    let page = ConfirmPage::new(
        user.nav(),
        format!("Revoke “{}”?", record.name),
        "Anything that uses this token will stop working at once. This cannot be undone.",
        page_url(&svc, &format!("{LIST}/{}/revoke", record.id), &[]),
        "Revoke token",
        LIST,
    );
    Ok(html(StatusCode::OK, &page))
}

/// `POST /settings/personal-tokens/{id}/revoke`.
pub async fn revoke(
    post: PageForm,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let (id, who) = (path.into_inner(), post.user.who);
    let revoked = run(&svc.clone().into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| {
            tokens::revoke(tx, who, &id, Lookup::Own, None)
        })
    })
    .await;
    match revoked {
        Ok(()) | Err(OpError::Conflict(Conflict::AlreadyRevoked)) => Ok(redirect(
            StatusCode::SEE_OTHER,
            &page_url(&svc, LIST, &[("done", "revoked")]),
        )),
        Err(e) => Err(own_error(e)),
    }
}

/// `GET /settings/personal-tokens/{id}/regenerate`: asks for confirmation
/// and a grace period.
pub async fn confirm_regenerate(
    user: PageUser,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let record = own_token(&svc, &user, path.into_inner()).await?;
    let page = ConfirmPage {
        grace_choices: GRACE_CHOICES
            .iter()
            .map(|(s, l)| (s.to_string(), l.to_string()))
            .collect(),
        ..ConfirmPage::new(
            user.nav(),
            format!("Regenerate “{}”?", record.name),
            "A new secret is issued for the same token (same id, name, scopes and expiry). Update everything that uses it.",
            page_url(&svc, &format!("{LIST}/{}/regenerate", record.id), &[]),
            "Regenerate token",
            LIST,
        )
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /settings/personal-tokens/{id}/regenerate` with `grace` (seconds).
pub async fn regenerate(
    post: PageForm,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let Some(grace) = post
        .field("grace")
        .parse::<i64>()
        .ok()
        .filter(|g| GRACE_CHOICES.iter().any(|(s, _)| s == g))
    else {
        return Err(PageError::Message(
            StatusCode::BAD_REQUEST,
            "Choose a grace period",
            "Pick one of the offered grace periods.".into(),
        ));
    };
    let (id, who) = (path.into_inner(), post.user.who.clone());
    let rotated = run(&svc.clone().into_inner(), move |s| {
        tokens::rotate(s, &who, &id, Lookup::Own, grace)
    })
    .await;
    let t = match rotated {
        Ok(t) => t,
        Err(e @ OpError::Conflict(_)) => {
            return Err(PageError::Message(
                op_status(&e),
                "Cannot regenerate",
                "Revoked or expired tokens cannot be regenerated.".into(),
            ))
        }
        Err(e) => return Err(own_error(e)),
    };
    let note = (grace > 0).then(|| {
        let label = GRACE_CHOICES
            .iter()
            .find(|(s, _)| *s == grace)
            .map_or("", |(_, l)| l);
        format!("The previous secret keeps working for {label}, then stops.")
    });
    Ok(secret_page(
        &svc,
        &post.user,
        "Your regenerated token",
        t.raw.expose(),
        &t.record,
        note,
    ))
}
