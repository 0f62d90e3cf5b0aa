//! `/api/access-tokens/personal`: the caller's own tokens as JSON. Another
//! person's token id answers 404, as a missing one does.

use super::{
    audit_answer, issue_answer, optional_json, read_answer, requested_expiry, revoke_answer,
};
use super::{AuditQuery, RotateBody};
use crate::app::Services;
use crate::audit::AuditPage;
use crate::oauth::clients::CLI_CLIENT_ID;
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest, Lookup, RequestedLifetime};
use crate::web::auth::ApiCaller;
use crate::web::dto::{ApiErrorBody, IssuedToken, TokenList};
use crate::web::errors::{no_store, ApiError};
use crate::web::run;
use actix_web::{web, HttpRequest, HttpResponse};

/// The query of `GET /api/access-tokens/personal`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct OwnListQuery {
    /// Tokens per page (1–200; 50 when absent).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/access-tokens/personal?limit&cursor` → `{tokens, next_cursor}`:
/// the caller's tokens, newest first, one page at a time (`next_cursor` is
/// `null` on the last page).
#[utoipa::path(get, path = "/api/access-tokens/personal", tag = "personal", security(("bearer" = [])), params(OwnListQuery),
    responses((status = 200, description = "A page of the caller's tokens, newest first", body = TokenList),
        (status = 400, description = "A malformed limit or cursor", body = ApiErrorBody),
        (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody)))]
pub async fn list(
    req: HttpRequest,
    ApiCaller(who): ApiCaller,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let query = super::query_map(&req)?;
    let limit = super::page_limit(&query, tokens::admin::MAX_PAGE)?;
    let cursor = query.get("cursor").cloned();
    let page = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            tokens::admin::own_page(tx, who, cursor.as_deref(), limit)
        })
    })
    .await?;
    let now = svc.now();
    let views: Vec<TokenView> = page.tokens.iter().map(|r| TokenView::new(r, now)).collect();
    let list = TokenList {
        tokens: views,
        next_cursor: Some(page.next_cursor),
    };
    Ok(no_store(&mut HttpResponse::Ok()).json(list))
}

/// The body of `POST /api/access-tokens/personal`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreatePersonalToken {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    never_expires: bool,
    #[serde(default)]
    cidrs: Vec<String>,
    /// Bind the token to a key (DPoP, RFC 9449): its RFC 7638 thumbprint.
    #[serde(default)]
    dpop_jkt: Option<String>,
    /// Limit the token to these resource servers' audiences (RFC 8707).
    #[serde(default)]
    resources: Vec<String>,
}

/// `POST /api/access-tokens/personal` `{"name","scopes"?,"expiresAt"?,"neverExpires"?,"cidrs"?}`
/// → `201 {token, rawToken}` (what `patgate token create` calls). Without
/// `scopes`: those of the caller's access token, which are also the most it
/// may give; for a browser session, the catalogue's scopes other than
/// patgate's own API's.
#[utoipa::path(post, path = "/api/access-tokens/personal", tag = "personal", security(("bearer" = [])),
    request_body = CreatePersonalToken,
    responses((status = 201, description = "Issued; `rawToken` is shown this once", body = IssuedToken),
        (status = 422, description = "A rule on names, scopes, expiry or networks is broken", body = ApiErrorBody),
        (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody)))]
pub async fn create(
    ApiCaller(who): ApiCaller,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let input: CreatePersonalToken =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(format!("body: {e}")))?;
    let scopes = match (input.scopes, &who.token_scopes) {
        (Some(scopes), _) => scopes,
        (None, Some(own)) => own.clone(),
        (None, None) => svc
            .config
            .scopes
            .keys()
            .filter(|s| svc.config.access.scope_grants(s).is_none())
            .cloned()
            .collect(),
    };
    let lifetime = match (input.expires_at.as_deref(), input.never_expires) {
        (Some(_), true) => {
            return Err(ApiError::Invalid(
                "give expiresAt or neverExpires, not both".into(),
            ))
        }
        (None, true) => RequestedLifetime::Never,
        (expires_at, false) => requested_expiry(expires_at)?,
    };
    let owner = who.subject.clone();
    let request = IssueRequest {
        client_id: Some(CLI_CLIENT_ID.into()),
        lifetime,
        cidrs: input.cidrs,
        dpop_jkt: super::dpop_thumbprint(input.dpop_jkt)?,
        resources: input.resources,
        ..IssueRequest::new(TokenKind::Personal, &owner, &input.name, scopes)
    };
    issue_answer(&svc, who, request).await
}

/// `GET /api/access-tokens/personal/{id}`.
#[utoipa::path(get, path = "/api/access-tokens/personal/{id}", tag = "personal", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "The token", body = TokenView), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 404, description = "No such token, or not the caller's", body = ApiErrorBody)))]
pub async fn get(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    read_answer(&svc.into_inner(), who, path.into_inner(), Lookup::Own).await
}

/// `DELETE /api/access-tokens/personal/{id}`: revokes; 204, or 409 if revoked already.
#[utoipa::path(delete, path = "/api/access-tokens/personal/{id}", tag = "personal", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 409, description = "Revoked already", body = ApiErrorBody), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 404, description = "No such token, or not the caller's", body = ApiErrorBody)))]
pub async fn revoke(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    revoke_answer(&svc.into_inner(), who, path.into_inner(), Lookup::Own, None).await
}

/// `POST /api/access-tokens/personal/{id}/rotate` with `{"graceSeconds"?: n}`
/// (0 to 7 days): a new secret, shown once, for the same token.
#[utoipa::path(post, path = "/api/access-tokens/personal/{id}/rotate", tag = "personal", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    request_body(content = RotateBody, description = "Optional"),
    responses((status = 200, description = "A new secret, shown this once", body = IssuedToken), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 404, description = "No such token, or not the caller's", body = ApiErrorBody)))]
pub async fn rotate(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let (svc, id) = (svc.into_inner(), path.into_inner());
    let body = optional_json(&body)?;
    let grace = match body.as_ref().and_then(|v| v.get("graceSeconds")) {
        None | Some(serde_json::Value::Null) => 0,
        Some(g) => g
            .as_i64()
            .ok_or_else(|| ApiError::Invalid("graceSeconds must be a whole number".into()))?,
    };
    let rotated = run(&svc, move |s| {
        tokens::rotate(s, &who, &id, Lookup::Own, grace)
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(IssuedToken {
        token: TokenView::new(&rotated.record, svc.now()),
        raw_token: rotated.raw.expose().to_string(),
    }))
}

/// `GET /api/access-tokens/personal/{id}/audit`: newest first.
#[utoipa::path(get, path = "/api/access-tokens/personal/{id}/audit", tag = "personal", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id"), AuditQuery),
    responses((status = 200, description = "A page of the token's events", body = AuditPage), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 404, description = "No such token, or not the caller's", body = ApiErrorBody)))]
pub async fn audit_trail(
    req: HttpRequest,
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    audit_answer(&req, &svc.into_inner(), who, path.into_inner(), Lookup::Own).await
}
