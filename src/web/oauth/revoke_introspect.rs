//! `POST /api/auth/v1/revoke` (RFC 7009) and `POST /api/auth/v1/introspect`
//! (RFC 7662).

use super::token::{basic_credentials, read_params};
use crate::app::Services;
use crate::oauth::clients;
use crate::oauth::{introspection, revocation, OAuthError, OAuthErrorCode};
use crate::secret::lanes::Lane;
use crate::tokens::format::PresentedToken;
use crate::web::errors::{no_store, OAuthEndpointError};
use crate::web::oauth::client_turn;
use crate::web::request::client_ip;
use crate::web::request::origin;
use crate::web::{hashing_turn, run, WebState};
use actix_web::{web, HttpRequest, HttpResponse};

/// Revocation: the holder of a PAT revokes it. Always 200 once the request
/// is well-formed, also for an unknown or invalid token (RFC 7009 §2.2); a
/// client that authenticates must do so correctly, and a PAT issued through
/// a confidential client needs that client's authentication (§2.1).
#[utoipa::path(post, path = "/api/auth/v1/revoke", tag = "oauth",
    request_body(content = crate::web::dto::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or nothing to revoke (RFC 7009 §2.2)"),
        (status = 400, description = "`invalid_request`", body = crate::web::dto::OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = crate::web::dto::OAuthErrorBody)))]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let params = read_params(&req, payload).await?;
    let raw = params.require("token")?.to_string();
    let creds = basic_credentials(&req)?;
    let from = origin(&req, &svc);
    // Revoking a PAT proves its secret (argon2 when not cached): limited
    // per token id and address like an exchange, client secret or not.
    let token_id = PresentedToken::parse(&raw).ok().map(|p| p.id);
    let ip = client_ip(&req, &svc.config.trusted_proxies);
    state.limits.cold_verification(token_id.as_deref(), ip)?;
    let _turn = hashing_turn(&svc, Lane::Client).await?;
    run(&svc, move |s| {
        revocation::revoke_presented(s, &raw, &params, &creds, from)
            .map_err(OAuthEndpointError::from)
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).finish())
}

/// Introspection, for authenticated confidential clients (resource servers, RFC 7662 §2.1).
#[utoipa::path(post, path = "/api/auth/v1/introspect", tag = "oauth",
    request_body(content = crate::web::dto::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "`{\"active\": false}`, or the token's claims (RFC 7662 §2.2)", body = Object),
        (status = 401, description = "`invalid_client`: introspection needs a confidential client", body = crate::web::dto::OAuthErrorBody)))]
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let svc = svc.into_inner();
    let params = read_params(&req, payload).await?;
    let raw = params.require("token")?.to_string();
    let creds = basic_credentials(&req)?;
    let _turn = client_turn(&req, &svc, &state, &creds, &params).await?;
    let answer = run(&svc, move |s| {
        s.read(|tx| {
            let client = clients::authenticate(tx, &params, &creds)?;
            if client.is_public() {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidClient,
                    "introspection needs a confidential client (client_secret_basic or client_secret_post)",
                )
                .into());
            }
            Ok::<_, OAuthEndpointError>(introspection::introspect(tx, &client, &raw)?)
        })
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(answer))
}
