//! `POST /api/auth/v1/revoke` (RFC 7009) and `POST /api/auth/v1/introspect`
//! (RFC 7662).

use super::errors::no_store;
use super::token_endpoint::{basic_credentials, read_body};
use super::{actor, blocking, OAuthEndpointError};
use crate::app::Services;
use crate::oauth::code_grant;
use crate::oauth::token_request::TokenParams;
use crate::oauth::{introspection, revocation, OAuthError, OAuthErrorCode};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

async fn params(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<TokenParams, OAuthEndpointError> {
    let body = read_body(req, payload).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Ok(TokenParams::parse(content_type, &body)?)
}

/// Revocation: the holder of a PAT revokes it. Always 200 once the request
/// is well-formed, also for an unknown or invalid token (RFC 7009 §2.2); a
/// client that authenticates must do so correctly.
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let params = params(&req, payload).await?;
    let raw = params.require("token")?.to_string();
    let creds = basic_credentials(&req)?;
    let _permit = super::hashing_permit(&svc).await?;
    if creds.basic.is_some() || params.get("client_secret").is_some() {
        let s = svc.clone();
        blocking(move || code_grant::authenticate(&s, &params, &creds)).await??;
    }
    let (s, by) = (svc.clone(), actor(&req, &svc, "revocation-endpoint"));
    blocking(move || revocation::revoke_presented(&s, &raw, &by)).await?;
    Ok(no_store(&mut HttpResponse::Ok()).finish())
}

/// Introspection, for authenticated confidential clients (resource servers, RFC 7662 §2.1).
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let params = params(&req, payload).await?;
    let raw = params.require("token")?.to_string();
    let creds = basic_credentials(&req)?;
    let _permit = super::hashing_permit(&svc).await?;
    let s = svc.clone();
    let client = blocking(move || code_grant::authenticate(&s, &params, &creds)).await??;
    if client.is_public() {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "introspection needs a confidential client (client_secret_basic or client_secret_post)",
        )
        .into());
    }
    let s = svc.clone();
    let answer = blocking(move || introspection::introspect(&s, &raw)).await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(answer))
}
