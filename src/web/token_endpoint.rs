//! `POST /api/auth/v1/token` (RFC 6749 §3.2).

use super::errors::no_store;
use super::{blocking, OAuthEndpointError};
use crate::app::Services;
use crate::audit::Event;
use crate::error::InternalError;
use crate::oauth::code_grant::{self, ClientCredentials};
use crate::oauth::refresh_grant::{self, Denial, ExchangeStep, JwtFlavor};
use crate::oauth::token_request::{TokenParams, MAX_BODY_BYTES};
use crate::oauth::{OAuthError, OAuthErrorCode};
use crate::secret::SecretString;
use crate::tokens::format::PresentedToken;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::StreamExt;

/// Reads at most `MAX_BODY_BYTES` of the body.
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Vec<u8>, OAuthEndpointError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(OAuthEndpointError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(OAuthEndpointError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The token endpoint: dispatches on `grant_type`.
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let body = read_body(&req, payload).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = TokenParams::parse(content_type, &body)?;
    match params.require("grant_type")? {
        "refresh_token" => {
            let raw = params.require("refresh_token")?;
            let scope = params.get("scope");
            let response = exchange(&req, svc.into_inner(), raw, scope, JwtFlavor::Rfc9068).await?;
            Ok(no_store(&mut HttpResponse::Ok()).json(response))
        }
        TOKEN_EXCHANGE_GRANT => token_exchange(&req, svc.into_inner(), &params).await,
        crate::oauth::device::DEVICE_GRANT => device_code(&req, svc.into_inner(), params).await,
        "authorization_code" => authorization_code(&req, svc.into_inner(), params).await,
        other => Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            format!("grant_type {other} is not supported"),
        )
        .into()),
    }
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: id and
/// secret are form-encoded before base64).
pub(crate) fn basic_credentials(req: &HttpRequest) -> Result<ClientCredentials, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(ClientCredentials::default());
    };
    let bad = || {
        OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "malformed Authorization header",
        )
    };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(bad)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(ClientCredentials {
        basic: Some((unescape(id), SecretString::new(unescape(secret)))),
    })
}

/// A device's poll (see `oauth::device`).
async fn device_code(
    req: &HttpRequest,
    svc: std::sync::Arc<Services>,
    params: TokenParams,
) -> Result<HttpResponse, OAuthEndpointError> {
    let creds = basic_credentials(req)?;
    let _permit = super::hashing_permit(&svc).await?;
    let s = svc.clone();
    let response = blocking(move || crate::oauth::device::poll(&s, &params, &creds)).await??;
    Ok(no_store(&mut HttpResponse::Ok()).json(response))
}

/// Code → PAT (see `oauth::code_grant`).
async fn authorization_code(
    req: &HttpRequest,
    svc: std::sync::Arc<Services>,
    params: TokenParams,
) -> Result<HttpResponse, OAuthEndpointError> {
    let creds = basic_credentials(req)?;
    // Client authentication may run argon2: bounded like every verification.
    let _permit = super::hashing_permit(&svc).await?;
    let s = svc.clone();
    let response = blocking(move || code_grant::exchange(&s, &params, &creds)).await??;
    Ok(no_store(&mut HttpResponse::Ok()).json(response))
}

/// The grant type of token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Token exchange (RFC 8693) with the PAT as `subject_token` of type
/// `refresh_token`: the same exchange as the refresh grant, answered with
/// `issued_token_type` (§2.2.1).
async fn token_exchange(
    req: &HttpRequest,
    svc: std::sync::Arc<Services>,
    params: &TokenParams,
) -> Result<HttpResponse, OAuthEndpointError> {
    let raw = params.require("subject_token")?;
    if params.require("subject_token_type")? != REFRESH_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type must be {REFRESH_TOKEN_TYPE} (a personal access token)"
        ))
        .into());
    }
    let wanted = params.get("requested_token_type");
    if wanted.is_some_and(|t| t != ACCESS_TOKEN_TYPE && t != "urn:ietf:params:oauth:token-type:jwt")
    {
        return Err(OAuthError::invalid_request("only access tokens are issued").into());
    }
    if params.get("actor_token").is_some() {
        return Err(
            OAuthError::invalid_request("delegation (actor_token) is not supported").into(),
        );
    }
    let response = exchange(req, svc, raw, params.get("scope"), JwtFlavor::Rfc9068).await?;
    let mut body =
        serde_json::to_value(&response).map_err(|e| InternalError::Blocking(e.to_string()))?;
    body["issued_token_type"] = serde_json::json!(ACCESS_TOKEN_TYPE);
    Ok(no_store(&mut HttpResponse::Ok()).json(body))
}

/// The PAT → JWT exchange (see `oauth::refresh_grant`), with its audit counts.
pub(crate) async fn exchange(
    req: &HttpRequest,
    svc: std::sync::Arc<Services>,
    raw: &str,
    scope: Option<&str>,
    flavor: JwtFlavor,
) -> Result<crate::oauth::access_token::TokenResponse, OAuthEndpointError> {
    let scope = scope.map(str::to_string);
    let Ok(presented) = PresentedToken::parse(raw) else {
        tracing::info!("exchange refused: malformed token");
        return Err(OAuthError::invalid_grant().into());
    };
    let token_id = presented.id.clone();
    let ip = super::client_ip(req, &svc.config.trusted_proxies);
    let (s, sc) = (svc.clone(), scope.clone());
    let mut step =
        blocking(move || refresh_grant::begin(&s, presented, sc.as_deref(), ip, flavor)).await?;
    if let ExchangeStep::NeedsVerification(pending) = step {
        let _permit = super::hashing_permit(&svc).await?;
        let s = svc.clone();
        step = blocking(move || refresh_grant::verify(&s, *pending, scope.as_deref())).await?;
    }
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let now = svc.now();
    match step {
        ExchangeStep::Issued(response) => {
            svc.exchange_counts
                .count(&token_id, Event::Exchanged, None, ip, user_agent, now);
            Ok(response)
        }
        ExchangeStep::Denied(denial) => {
            tracing::info!(token_id = %token_id, reason = denial.as_str(), "exchange refused");
            if denial != Denial::Unknown {
                svc.exchange_counts.count(
                    &token_id,
                    Event::ExchangeDenied,
                    Some(denial.as_str()),
                    ip,
                    user_agent,
                    now,
                );
            }
            Err(denial.to_oauth_error().into())
        }
        ExchangeStep::NeedsVerification(_) => {
            Err(InternalError::Blocking("verification step did not conclude".into()).into())
        }
    }
}
