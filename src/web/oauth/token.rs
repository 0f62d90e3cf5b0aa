//! `POST /api/auth/v1/token` (RFC 6749 §3.2).

use crate::app::Services;
use crate::audit::Event;
use crate::error::InternalError;
use crate::limits::Throttled;
use crate::metrics::ExchangeOutcome;
use crate::oauth::access_token::{Minter, Rfc9068, TokenResponse};
use crate::oauth::clients::ClientCredentials;
use crate::oauth::code_grant;
use crate::oauth::refresh_grant::{
    self, ClientProof, Denial, ExchangeRequest, ExchangeResult, ExchangeStep,
};
use crate::oauth::token_request::{TokenParams, MAX_BODY_BYTES};
use crate::oauth::{OAuthError, OAuthErrorCode};
use crate::secret::lanes::Lane;
use crate::secret::SecretString;
use crate::tokens::format::PresentedToken;
use crate::web::errors::{no_store, OAuthEndpointError};
use crate::web::oauth::client_turn;
use crate::web::request::client_ip;
use crate::web::request::dpop_header;
use crate::web::request_log::TokenIdForLog;
use crate::web::{hashing_turn, run, run_exchange_step, WebState};
use actix_web::http::header;
use actix_web::HttpMessage;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::StreamExt;
use std::sync::Arc;

/// Reads at most `MAX_BODY_BYTES` of the body.
async fn read_body(
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

/// The form (or JSON) parameters of an OAuth endpoint's body, at most
/// `MAX_BODY_BYTES` of it (RFC 6749 §3.2).
pub(crate) async fn read_params(
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

/// The token endpoint: dispatches on `grant_type`.
#[utoipa::path(post, path = "/api/auth/v1/token", tag = "oauth",
    description = "Exchange a PAT (`refresh_token`, RFC 6749 §6) for a short-lived JWT (RFC 9068); \
        also redeems authorization codes (§4.1.3, PKCE) and device codes (RFC 8628 §3.4).",
    request_body(content = crate::web::dto::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A JWT (and, for codes, the new PAT)", body = crate::oauth::access_token::TokenResponse),
        (status = 400, description = "`invalid_grant`, `invalid_request`, `invalid_scope`, `authorization_pending`, …", body = crate::web::dto::OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = crate::web::dto::OAuthErrorBody),
        (status = 429, description = "Too many requests (`Retry-After`)", body = crate::web::dto::OAuthErrorBody),
        (status = 503, description = "Busy (`Retry-After`)", body = crate::web::dto::OAuthErrorBody)))]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, OAuthEndpointError> {
    let params = read_params(&req, payload).await?;
    let (svc, state) = (svc.into_inner(), state.into_inner());
    match params.require("grant_type")? {
        "refresh_token" => {
            let raw = params.require("refresh_token")?;
            let proof = client_proof(&req, &params)?;
            let exchange = Exchange {
                raw,
                scope: params.get("scope"),
                proof,
                minter: &Rfc9068,
                dpop: dpop_header(&req),
                resource: params.get("resource"),
            };
            let response = exchange.run(&req, &svc, &state).await?;
            Ok(no_store(&mut HttpResponse::Ok()).json(response))
        }
        TOKEN_EXCHANGE_GRANT => token_exchange(&req, &svc, &state, &params).await,
        crate::oauth::device::DEVICE_GRANT => device_code(&req, svc, &state, params).await,
        "authorization_code" => authorization_code(&req, svc, &state, params).await,
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

/// The client credentials of an exchange: Basic, or `client_id` and
/// `client_secret` in the body (RFC 6749 §2.3.1).
fn client_proof(req: &HttpRequest, params: &TokenParams) -> Result<ClientProof, OAuthError> {
    Ok(match basic_credentials(req)?.basic {
        Some((id, secret)) => ClientProof {
            id: Some(id),
            secret: Some(secret),
        },
        None => ClientProof {
            id: params.get("client_id").map(str::to_string),
            secret: params.get("client_secret").map(SecretString::new),
        },
    })
}

/// A device's poll (see `oauth::device`).
async fn device_code(
    req: &HttpRequest,
    svc: Arc<Services>,
    state: &WebState,
    params: TokenParams,
) -> Result<HttpResponse, OAuthEndpointError> {
    let creds = basic_credentials(req)?;
    let _turn = client_turn(req, &svc, state, &creds, &params).await?;
    let response = run(&svc, move |s| {
        crate::oauth::device::poll(s, &params, &creds).map_err(OAuthEndpointError::from)
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(response))
}

/// Code → PAT (see `oauth::code_grant`).
async fn authorization_code(
    req: &HttpRequest,
    svc: Arc<Services>,
    state: &WebState,
    params: TokenParams,
) -> Result<HttpResponse, OAuthEndpointError> {
    let creds = basic_credentials(req)?;
    let proof = dpop_header(req);
    let _turn = client_turn(req, &svc, state, &creds, &params).await?;
    let response = run(&svc, move |s| {
        code_grant::exchange(s, &params, &creds, proof.as_deref()).map_err(OAuthEndpointError::from)
    })
    .await?;
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
    svc: &Arc<Services>,
    state: &Arc<WebState>,
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
    let proof = client_proof(req, params)?;
    let exchange = Exchange {
        raw,
        scope: params.get("scope"),
        proof,
        minter: &Rfc9068,
        dpop: dpop_header(req),
        resource: params.get("resource"),
    };
    let response = exchange.run(req, svc, state).await?;
    let mut body =
        serde_json::to_value(&response).map_err(|e| InternalError::Answer(e.to_string()))?;
    body["issued_token_type"] = serde_json::json!(ACCESS_TOKEN_TYPE);
    Ok(no_store(&mut HttpResponse::Ok()).json(body))
}

/// A rate-limit refusal of an exchange for `token_id`, logged once a
/// minute per token id and limit.
fn throttled(state: &WebState, token_id: &str, t: Throttled) -> OAuthEndpointError {
    let reason = t.limit.as_str();
    if state.refusals.count(token_id, reason) {
        tracing::info!(token_id = %token_id, limit = reason, "exchange throttled");
    }
    t.into()
}

/// One PAT → JWT exchange (see `oauth::refresh_grant`).
pub(crate) struct Exchange<'a> {
    /// The PAT as presented.
    pub raw: &'a str,
    /// The requested `scope`.
    pub scope: Option<&'a str>,
    /// The client credentials presented.
    pub proof: ClientProof,
    /// Which JWT to mint.
    pub minter: &'static dyn Minter,
    /// The `DPoP` header (RFC 9449 §4.1); repeated headers give a proof
    /// that fails its check.
    pub dpop: Option<String>,
    /// The `resource` parameter (RFC 8707 §2).
    pub resource: Option<&'a str>,
}

impl Exchange<'_> {
    /// Runs the exchange and counts it (or its refusal) for the audit log
    /// and the metrics.
    pub async fn run(
        self,
        req: &HttpRequest,
        svc: &Arc<Services>,
        state: &WebState,
    ) -> Result<TokenResponse, OAuthEndpointError> {
        let result = self.run_counted(req, svc, state).await;
        let outcome = match &result {
            Ok(_) => ExchangeOutcome::Issued,
            Err(OAuthEndpointError::Throttled(_)) => ExchangeOutcome::Throttled,
            Err(OAuthEndpointError::Internal(e)) if e.is_unavailable() => {
                ExchangeOutcome::Unavailable
            }
            Err(OAuthEndpointError::Internal(_)) => ExchangeOutcome::Error,
            Err(_) => ExchangeOutcome::Denied,
        };
        svc.metrics.exchange(outcome);
        result
    }

    async fn run_counted(
        self,
        req: &HttpRequest,
        svc: &Arc<Services>,
        state: &WebState,
    ) -> Result<TokenResponse, OAuthEndpointError> {
        let Ok(presented) = PresentedToken::parse(self.raw) else {
            svc.metrics.denial("malformed");
            if state.refusals.count("(malformed)", "malformed") {
                tracing::info!("exchange refused: malformed token");
            }
            return Err(OAuthError::invalid_grant().into());
        };
        let token_id = presented.id.clone();
        req.extensions_mut().insert(TokenIdForLog(token_id.clone()));
        let ip = client_ip(req, &svc.config.trusted_proxies);
        let request = Arc::new(ExchangeRequest {
            scope: self.scope.map(str::to_string),
            ip,
            client: self.proof,
            minter: self.minter,
            dpop_proof: self.dpop,
            resource: self.resource.map(str::to_string),
        });
        // Only a secret not verified lately costs argon2, so only such
        // exchanges are limited, and a holder is never slowed. One the cache
        // has never seen is limited before any database work, so a flood of
        // guesses costs no more than parsing; it is summarised in the log
        // (its token id may not even exist, so it is not in the audit).
        let warm = svc.verified.knows(&presented.id, presented.secret.expose());
        svc.metrics.secret_cache(warm);
        if !warm {
            state
                .limits
                .cold_verification(Some(&token_id), ip)
                .map_err(|t| throttled(state, &token_id, t))?;
        }
        let first = request.clone();
        let step =
            run_exchange_step(svc, move |s| refresh_grant::begin(s, presented, &first)).await?;
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let now = svc.now();
        let counts = &state.exchange_counts;
        let result = match step {
            ExchangeStep::Done(result) => result,
            ExchangeStep::NeedsVerification(pending) => {
                // Known secret, changed hash (a rotation): limited here.
                if warm {
                    if let Err(t) = state.limits.cold_verification(Some(&token_id), ip) {
                        let why = Some("throttled");
                        counts.count(&token_id, Event::ExchangeDenied, why, ip, user_agent, now);
                        return Err(throttled(state, &token_id, t));
                    }
                }
                let _turn = hashing_turn(svc, Lane::Exchange).await?;
                run(svc, move |s| refresh_grant::verify(s, *pending, &request)).await?
            }
        };
        match result {
            ExchangeResult::Issued(response) => {
                counts.count(&token_id, Event::Exchanged, None, ip, user_agent, now);
                Ok(response)
            }
            ExchangeResult::Denied(denial) => {
                svc.metrics.denial(denial.as_str());
                if state.refusals.count(&token_id, denial.as_str()) {
                    tracing::info!(token_id = %token_id, reason = denial.as_str(), "exchange refused");
                }
                if denial != Denial::Unknown {
                    let reason = Some(denial.as_str());
                    counts.count(
                        &token_id,
                        Event::ExchangeDenied,
                        reason,
                        ip,
                        user_agent,
                        now,
                    );
                }
                Err(denial.to_oauth_error().into())
            }
        }
    }
}
