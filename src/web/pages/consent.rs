//! The consent screen at `GET|POST /oauth2/authorize/{id}`: "Create personal
//! access token", for a signed-in person allowed to create tokens.

use super::{html, message, redirect, ConsentPage as ConsentTemplate};
use crate::app::Services;
use crate::oauth::consent::{self, ConsentDecision, ConsentForm, ConsentPage, Unavailable};
use crate::web::auth::{PageForm, PageUser};
use crate::web::errors::PageError;
use crate::web::run;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

fn unavailable(why: Unavailable) -> HttpResponse {
    let (status, title, text) = match why {
        Unavailable::Unknown => (
            StatusCode::NOT_FOUND,
            "Request not found",
            "This token request does not exist. Start again from the application.",
        ),
        Unavailable::Expired => (
            StatusCode::GONE,
            "Request expired",
            "This token request expired. Start again from the application.",
        ),
        Unavailable::Finished => (
            StatusCode::GONE,
            "Request already answered",
            "This token request was already approved or cancelled.",
        ),
        Unavailable::OtherUser => (
            StatusCode::FORBIDDEN,
            "Not your request",
            "This token request belongs to another user.",
        ),
    };
    message(status, title, text)
}

/// `GET /oauth2/authorize/{id}`: the consent screen (sign-in first).
pub async fn show(
    user: PageUser,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let (id, who) = (path.into_inner(), user.who);
    let page = run(&svc.into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| consent::show(tx, who, &id))
    })
    .await?;
    Ok(match page {
        ConsentPage::Show(screen) => html(
            StatusCode::OK,
            &ConsentTemplate {
                s: *screen,
                csrf: user.session.csrf,
            },
        ),
        ConsentPage::Unavailable(why) => unavailable(why),
    })
}

/// `POST /oauth2/authorize/{id}`: Create token or Cancel.
pub async fn submit(
    post: PageForm,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, PageError> {
    let form = ConsentForm {
        approve: post.field("action") == "approve",
        token_name: post.field("token_name"),
        scopes: post.all("scope"),
        expiry: post.field("expiry"),
        custom_date: post.field("custom_date"),
    };
    let (id, who, csrf) = (path.into_inner(), post.user.who, post.user.session.csrf);
    let decision = run(&svc.into_inner(), move |s| {
        crate::principal::act(s, &who, |tx, who| consent::submit(tx, who, &id, &form))
    })
    .await?;
    Ok(match decision {
        // 302, as RFC 6749 §4.1.2 shows; browsers follow it with a GET.
        ConsentDecision::Redirect(url) => redirect(StatusCode::FOUND, url.as_str()),
        ConsentDecision::Invalid(screen) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ConsentTemplate { s: *screen, csrf },
        ),
        ConsentDecision::Unavailable(why) => unavailable(why),
        ConsentDecision::DeviceAnswered(true) => message(
            StatusCode::OK,
            "Token approved",
            "Return to your device: it receives the token within a few seconds. You can close this page.",
        ),
        ConsentDecision::DeviceAnswered(false) => message(
            StatusCode::OK,
            "Request refused",
            "No token was created. The device is told that you refused.",
        ),
    })
}
