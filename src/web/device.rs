//! The device grant's two web ends (RFC 8628): `POST
//! /api/auth/v1/device_authorization` for the device, and `/device`, where
//! the signed-in person types the code and goes on to the consent screen.

use super::errors::no_store;
use super::page_access::{allowed, page_form, page_user};
use super::pages::{html, page_url, redirect};
use super::token_endpoint::{basic_credentials, read_body};
use super::views::DevicePage;
use super::{blocking, form_field, OAuthEndpointError};
use crate::app::Services;
use crate::error::InternalError;
use crate::oauth::device;
use crate::oauth::token_request::TokenParams;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /api/auth/v1/device_authorization` (RFC 8628 §3.1–3.2).
pub async fn authorize(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let body = read_body(&req, payload).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = TokenParams::parse(content_type, &body)?;
    let creds = basic_credentials(&req)?;
    let _permit = super::hashing_permit(&svc).await?;
    let s = svc.clone();
    let started = blocking(move || device::start(&s, &params, &creds)).await??;
    Ok(no_store(&mut HttpResponse::Ok()).json(started))
}

/// `GET /device[?user_code=…]`: the form.
pub async fn show(
    req: HttpRequest,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let user = allowed!(page_user(&req, &svc, &[]).await?);
    let query = super::query_params(&req);
    let page = DevicePage {
        nav: user.nav(),
        user_code: query.get("user_code").cloned().unwrap_or_default(),
        error: None,
    };
    Ok(html(StatusCode::OK, page, &req))
}

/// `POST /device` with `user_code`: on to the consent screen, or the form again.
pub async fn submit(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, InternalError> {
    let svc = svc.into_inner();
    let (user, fields) = allowed!(page_form(&req, &body, &svc, &[]).await?);
    let typed = form_field(&fields, "user_code");
    let (s, t) = (svc.clone(), typed.clone());
    match blocking(move || device::session_for(&s, &t)).await? {
        Some(session) => Ok(redirect(
            StatusCode::SEE_OTHER,
            &page_url(&svc, &format!("/oauth2/authorize/{session}"), &[]),
        )),
        None => {
            let page = DevicePage {
                nav: user.nav(),
                user_code: typed,
                error: Some(
                    "That code is unknown or has expired. Check the code on your device.".into(),
                ),
            };
            Ok(html(StatusCode::BAD_REQUEST, page, &req))
        }
    }
}
