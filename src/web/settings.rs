//! `/settings/personal-tokens`: a person's own tokens. "Generate new token"
//! runs the consent flow with the built-in web client and shows the token
//! once; revoke and regenerate ask for confirmation. Works without
//! JavaScript (a script only adds the copy button).

use super::page_access::{allowed, page_form, page_user, PageUser};
use super::pages::{cookie, html, message, page_url, redirect};
use super::views::{ConfirmPage, PersonalTokensPage, TokenLine, TokenSecretPage};
use super::{actor, blocking, form_field};
use crate::accounts::principal::Permission;
use crate::app::Services;
use crate::error::InternalError;
use crate::oauth::web_client::{self, FinishOutcome};
use crate::store::models::TokenRecord;
use crate::tokens::{self, RevokeOutcome, RotateOutcome};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// The cookie that carries `state` and the PKCE verifier through the consent screen.
const FLOW_COOKIE: &str = "patgate_token_flow";
/// The list page.
const LIST: &str = "/settings/personal-tokens";

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
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserRead]).await?);
    let (s, subject) = (svc.clone(), user.session.subject.clone());
    let records = blocking(move || tokens::personal_of(&s, &subject)).await?;
    let now = svc.now();
    let query = super::query_params(&req);
    let page = PersonalTokensPage {
        nav: user.nav(),
        tokens: records.iter().map(|r| TokenLine::new(r, now)).collect(),
        notice: notice_for(query.get("done").map(String::as_str)),
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `GET /settings/personal-tokens/new`: starts the consent flow.
pub async fn generate(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    allowed!(page_user(&req, &svc, &[Permission::UserWrite]).await?);
    let flow = web_client::start(&svc);
    let mut flow_cookie = cookie(&svc, FLOW_COOKIE, flow.cookie_value.expose().to_string());
    flow_cookie.set_path(LIST);
    flow_cookie.set_max_age(CookieDuration::minutes(15));
    let mut res = redirect(StatusCode::SEE_OTHER, flow.authorize_url.as_str());
    res.add_cookie(&flow_cookie)
        .map_err(|e| InternalError::Blocking(e.to_string()))?;
    Ok(res)
}

/// `GET /settings/personal-tokens/callback?code&state` (or `?error`): redeems
/// the code and shows the new token once.
pub async fn callback(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserWrite]).await?);
    let query = super::query_params(&req);
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
        let (s, subject) = (svc.clone(), user.session.subject.clone());
        let state = query.get("state").cloned().unwrap_or_default();
        let code = query.get("code").cloned().unwrap_or_default();
        match blocking(move || web_client::finish(&s, flow.as_deref(), &state, &code, &subject)).await? {
            FinishOutcome::Issued { raw, record } => {
                secret_page(&req, &svc, &user, "Your new personal access token", raw.expose(), &record, None)
            }
            FinishOutcome::NoFlow => message(
                StatusCode::BAD_REQUEST,
                "Nothing to show",
                "This token was shown already, or the request is too old. Tokens are shown only once; generate a new one if you did not copy it.",
                &req,
            ),
            FinishOutcome::Refused(why) => message(StatusCode::BAD_REQUEST, "No token was created", &why, &req),
        }
    };
    res.add_removal_cookie(&gone)
        .map_err(|e| InternalError::Blocking(e.to_string()))?;
    Ok(res)
}

fn secret_page(
    req: &HttpRequest,
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
    html(StatusCode::OK, page, req)
}

async fn own_token(
    svc: &Arc<Services>,
    user: &PageUser,
    id: String,
) -> Result<Option<TokenRecord>, InternalError> {
    let (s, subject) = (svc.clone(), user.session.subject.clone());
    blocking(move || tokens::personal_owned_by(&s, &id, &subject)).await
}

fn not_found(req: &HttpRequest) -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        "No such token",
        "You have no token with this id.",
        req,
    )
}

/// `GET /settings/personal-tokens/{id}/revoke`: asks for confirmation.
pub async fn confirm_revoke(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserRevoke]).await?);
    let Some(record) = own_token(&svc, &user, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let page = ConfirmPage {
        nav: user.nav(),
        title: format!("Revoke “{}”?", record.name),
        text: "Anything that uses this token will stop working at once. This cannot be undone."
            .into(),
        action: page_url(&svc, &format!("{LIST}/{}/revoke", record.id), &[]),
        button: "Revoke token".into(),
        ask_reason: false,
        grace_choices: vec![],
        hidden: vec![],
        back: LIST.into(),
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `POST /settings/personal-tokens/{id}/revoke`.
pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, _) = allowed!(page_form(&req, &body, &svc, &[Permission::UserRevoke]).await?);
    let Some(record) = own_token(&svc, &user, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let (s, by) = (svc.clone(), actor(&req, &svc, &user.session.subject));
    match blocking(move || tokens::revoke(&s, &record.id, &by)).await? {
        RevokeOutcome::Revoked | RevokeOutcome::AlreadyRevoked => Ok(redirect(
            StatusCode::SEE_OTHER,
            &page_url(&svc, LIST, &[("done", "revoked")]),
        )),
        RevokeOutcome::NotFound => Ok(not_found(&req)),
    }
}

/// `GET /settings/personal-tokens/{id}/regenerate`: asks for confirmation
/// and a grace period.
pub async fn confirm_regenerate(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[Permission::UserWrite]).await?);
    let Some(record) = own_token(&svc, &user, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let page = ConfirmPage {
        nav: user.nav(),
        title: format!("Regenerate “{}”?", record.name),
        text: "A new secret is issued for the same token (same id, name, scopes and expiry). Update everything that uses it.".into(),
        action: page_url(&svc, &format!("{LIST}/{}/regenerate", record.id), &[]),
        button: "Regenerate token".into(),
        ask_reason: false,
        grace_choices: GRACE_CHOICES
            .iter()
            .map(|(s, l)| (s.to_string(), l.to_string()))
            .collect(),
        hidden: vec![],
        back: LIST.into(),
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `POST /settings/personal-tokens/{id}/regenerate` with `grace` (seconds).
pub async fn regenerate(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[Permission::UserWrite]).await?);
    let Some(record) = own_token(&svc, &user, path.into_inner()).await? else {
        return Ok(not_found(&req));
    };
    let Some(grace) = form_field(&fields, "grace")
        .parse::<i64>()
        .ok()
        .filter(|g| GRACE_CHOICES.iter().any(|(s, _)| s == g))
    else {
        return Ok(message(
            StatusCode::BAD_REQUEST,
            "Choose a grace period",
            "Pick one of the offered grace periods.",
            &req,
        ));
    };
    let (s, by) = (svc.clone(), actor(&req, &svc, &user.session.subject));
    let outcome =
        blocking(move || tokens::rotate(&s, &record.id, chrono::Duration::seconds(grace), &by))
            .await?;
    Ok(match outcome {
        RotateOutcome::Rotated(t) => {
            let note = (grace > 0).then(|| {
                let label = GRACE_CHOICES
                    .iter()
                    .find(|(s, _)| *s == grace)
                    .map_or("", |(_, l)| l);
                format!("The previous secret keeps working for {label}, then stops.")
            });
            secret_page(
                &req,
                &svc,
                &user,
                "Your regenerated token",
                t.raw.expose(),
                &t.record,
                note,
            )
        }
        RotateOutcome::Inactive => message(
            StatusCode::CONFLICT,
            "Cannot regenerate",
            "Revoked or expired tokens cannot be regenerated.",
            &req,
        ),
        RotateOutcome::InvalidGrace => message(
            StatusCode::BAD_REQUEST,
            "Choose a grace period",
            "The grace period is 0 to 7 days.",
            &req,
        ),
        RotateOutcome::NotFound => not_found(&req),
    })
}
