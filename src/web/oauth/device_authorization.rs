//! `POST /api/auth/v1/device_authorization` (RFC 8628 §3.1–3.2): a device
//! gets its codes.

use super::token::{basic_credentials, read_params};
use crate::app::Services;
use crate::oauth::device;
use crate::web::errors::{no_store, OAuthEndpointError};
use crate::web::{hashing_permit, run};
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /api/auth/v1/device_authorization`.
pub async fn start(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let params = read_params(&req, payload).await?;
    let creds = basic_credentials(&req)?;
    // Client authentication may run argon2: bounded like every verification.
    let _permit = hashing_permit(&svc).await?;
    let started = run(&svc, move |s| {
        device::start(s, &params, &creds).map_err(OAuthEndpointError::from)
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(started))
}
