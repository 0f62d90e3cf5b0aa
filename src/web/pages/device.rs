//! `/device` (RFC 8628 §3.3): where the signed-in person types a device's
//! code and goes on to the usual consent screen.

use super::views::DevicePage;
use super::{html, page_url, redirect};
use crate::app::Services;
use crate::error::OpError;
use crate::oauth::paths::consent_path;
use crate::oauth::{consent, device};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::PageError;
use crate::web::request::{client_ip, query_params};
use crate::web::{run, WebState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// `GET /device[?user_code=…]`: the form, for a person who may approve tokens.
pub async fn show(
    req: HttpRequest,
    user: PageUser,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    consent::may_approve(&svc.config, &user.who).map_err(PageError::Denied)?;
    let page = DevicePage {
        nav: user.nav(),
        user_code: query_params(&req)
            .get("user_code")
            .cloned()
            .unwrap_or_default(),
        error: None,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `POST /device` with `user_code`: on to the consent screen, or the form
/// again. Needs what approving a token needs; each code typed counts
/// against the person and the address (RFC 8628 §5.1), 429 past that.
pub async fn submit(
    req: HttpRequest,
    post: PageForm,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, PageError> {
    let svc = svc.into_inner();
    let ip = client_ip(&req, &svc.config.trusted_proxies);
    state.limits.user_code(&post.user.session.subject, ip)?;
    let typed = post.field("user_code");
    let (who, code) = (post.user.who.clone(), typed.clone());
    let found = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| device::session_for(tx, who, &code))
    })
    .await;
    match found {
        Ok(session) => Ok(redirect(
            StatusCode::SEE_OTHER,
            &page_url(&svc, &consent_path(&session), &[]),
        )),
        Err(OpError::NotFound) => {
            let page = DevicePage {
                nav: post.user.nav(),
                user_code: typed,
                error: Some(
                    "That code is unknown or has expired. Check the code on your device.".into(),
                ),
            };
            Ok(html(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(e.into()),
    }
}
