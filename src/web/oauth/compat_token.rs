//! `POST {auth}/token` of the `@access-tokens/express`-compatible API: a PAT
//! in, that package's JWT out.

use super::token::Exchange;
use crate::app::Services;
use crate::compat::CompatMinter;
use crate::oauth::refresh_grant::ClientProof;
use crate::oauth::token_request::TokenParams;
use crate::oauth::OAuthErrorCode;
use crate::web::errors::{no_store, ApiError, OAuthEndpointError};
use crate::web::WebState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

/// `POST {auth}/token`: the PAT from `client_secret`, else Basic `<any>:<PAT>`,
/// else `Bearer <PAT>`; `grant_type`, when sent, is `client_credentials`.
#[utoipa::path(post, path = "/auth/token", tag = "compat",
    description = "The `@access-tokens` exchange: a PAT (form `client_secret`, Basic `<any>:<PAT>` or `Bearer <PAT>`) for that package's JWT.",
    request_body(content = crate::web::api::compat_schema::CompatTokenForm, content_type = "application/x-www-form-urlencoded", description = "Optional"),
    responses((status = 200, description = "A JWT", body = crate::oauth::access_token::TokenResponse),
        (status = 401, description = "No valid PAT", body = crate::web::api::compat_schema::CompatErrorBody)))]
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = if body.iter().all(u8::is_ascii_whitespace) {
        TokenParams::default()
    } else {
        TokenParams::parse(content_type, &body).map_err(|e| ApiError::BadRequest(e.description))?
    };
    if params
        .get("grant_type")
        .is_some_and(|g| g != "client_credentials")
    {
        return Err(ApiError::BadRequest("Unsupported grant_type".into()));
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let pat = if let Some(secret) = params.get("client_secret") {
        secret.to_string()
    } else if let Some(basic) = auth.and_then(|a| a.strip_prefix("Basic ")) {
        let decoded = STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((_, secret)) => secret.to_string(),
            None => return Err(ApiError::Unauthorized),
        }
    } else if let Some(bearer) = auth.and_then(|a| a.strip_prefix("Bearer ")) {
        bearer.trim().to_string()
    } else {
        return Err(ApiError::BadRequest(
            "Missing credentials: provide client_secret, Basic auth, or Bearer token".into(),
        ));
    };
    // The compatible API has no client authentication: a PAT bound to a
    // confidential client is refused here.
    let exchange = Exchange {
        raw: &pat,
        scope: None,
        proof: ClientProof::default(),
        minter: &CompatMinter,
        dpop: None,
        resource: None,
    };
    let response = match exchange.run(&req, &svc.into_inner(), &state).await {
        Ok(r) => r,
        Err(OAuthEndpointError::OAuth(e))
            if matches!(
                e.code,
                OAuthErrorCode::InvalidGrant | OAuthErrorCode::InvalidClient
            ) =>
        {
            return Err(ApiError::Unauthorized)
        }
        Err(OAuthEndpointError::OAuth(e)) => return Err(ApiError::BadRequest(e.description)),
        Err(OAuthEndpointError::TooLarge) => {
            return Err(ApiError::BadRequest("request body too large".into()))
        }
        Err(OAuthEndpointError::Throttled(t)) => return Err(t.into()),
        Err(OAuthEndpointError::Internal(e)) => return Err(e.into()),
    };
    let mut answer = json!({
        "access_token": response.access_token,
        "token_type": "Bearer",
        "expires_in": response.expires_in,
    });
    if let Some(state) = params.get("state") {
        answer["state"] = json!(state);
    }
    Ok(no_store(&mut HttpResponse::Ok()).json(answer))
}
