//! `POST /api/auth/v1/device_authorization` (RFC 8628 §3.1–3.2): a device
//! gets its codes.

use super::token::{basic_credentials, read_params};
use crate::app::Services;
use crate::oauth::device;
use crate::web::errors::{no_store, OAuthEndpointError};
use crate::web::oauth::client_turn;
use crate::web::request::{client_ip, origin};
use crate::web::{run, WebState};
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /api/auth/v1/device_authorization`.
#[utoipa::path(post, path = "/api/auth/v1/device_authorization", tag = "oauth",
    request_body(content = crate::web::dto::DeviceForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Codes for the device and the person (RFC 8628 §3.2)", body = crate::oauth::device::DeviceAuthorization),
        (status = 400, description = "`invalid_request`, `invalid_scope`", body = crate::web::dto::OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = crate::web::dto::OAuthErrorBody)))]
pub async fn start(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    // Anyone may start a device flow: it writes rows, so it is limited.
    state
        .limits
        .anonymous_write(client_ip(&req, &svc.config.trusted_proxies))?;
    let params = read_params(&req, payload).await?;
    let creds = basic_credentials(&req)?;
    let _turn = client_turn(&req, &svc, &state, &creds, &params).await?;
    let from = origin(&req, &svc);
    let started = run(&svc, move |s| {
        device::start(s, &params, &creds, &from).map_err(OAuthEndpointError::from)
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(started))
}
