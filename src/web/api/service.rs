//! `/api/access-tokens/service` (service tokens), the scope catalogue, and
//! `/api/access-tokens/users/{subject}/revoke-all` (offboarding).

use super::AuditQuery;
use super::{
    audit_answer, issue_answer, optional_json, page_limit, query_map, read_answer,
    requested_expiry, revoke_answer,
};
use crate::app::Services;
use crate::audit::AuditPage;
use crate::store::token_queries::TokenFilter;
use crate::tokens::admin;
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest, Lookup};
use crate::web::auth::ApiCaller;
use crate::web::dto::{ApiErrorBody, IssuedToken, TokenList};
use crate::web::errors::{no_store, ApiError};
use crate::web::run;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

const STATUSES: [&str; 5] = ["active", "expiring", "expired", "revoked", "suspended"];

/// The query of `GET /api/access-tokens/service`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListQuery {
    /// `active`, `expiring`, `expired`, `revoked` or `suspended`.
    status: Option<String>,
    /// Only this owner's.
    owner: Option<String>,
    /// Name contains.
    q: Option<String>,
    /// Tokens per page (1–200; 50 when absent).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/access-tokens/service?status&owner&q&limit&cursor` → `{tokens, next_cursor}`.
#[utoipa::path(get, path = "/api/access-tokens/service", tag = "service", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of service tokens", body = TokenList),
        (status = 400, description = "A malformed filter or cursor", body = ApiErrorBody), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody)))]
pub async fn list(
    req: HttpRequest,
    ApiCaller(who): ApiCaller,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let query = query_map(&req)?;
    let status = query.get("status").cloned();
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::BadRequest(
            "status must be active, expiring, expired, revoked or suspended".into(),
        ));
    }
    let limit = page_limit(&query, admin::MAX_PAGE)?;
    let filter = TokenFilter {
        kind: None,
        status,
        owner: query.get("owner").cloned(),
        name_contains: query.get("q").filter(|q| !q.is_empty()).cloned(),
    };
    let cursor = query.get("cursor").cloned();
    let page = run(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            admin::page(
                tx,
                who,
                TokenKind::Service,
                &filter,
                cursor.as_deref(),
                limit,
            )
        })
    })
    .await?;
    let now = svc.now();
    let tokens: Vec<TokenView> = page.tokens.iter().map(|r| TokenView::new(r, now)).collect();
    let list = TokenList {
        tokens,
        next_cursor: Some(page.next_cursor),
    };
    Ok(no_store(&mut HttpResponse::Ok()).json(list))
}

/// The body of `POST /api/access-tokens/service`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateServiceToken {
    name: String,
    owner: String,
    #[serde(default)]
    description: Option<String>,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    cidrs: Vec<String>,
    /// Bind the token to a key (DPoP, RFC 9449): its RFC 7638 thumbprint.
    #[serde(default)]
    dpop_jkt: Option<String>,
    /// Limit the token to these resource servers' audiences (RFC 8707).
    #[serde(default)]
    resources: Vec<String>,
}

/// `POST /api/access-tokens/service` → `201 {token, rawToken}`.
#[utoipa::path(post, path = "/api/access-tokens/service", tag = "service", security(("bearer" = [])), request_body = CreateServiceToken,
    responses((status = 201, description = "Issued; `rawToken` is shown this once", body = IssuedToken),
        (status = 422, description = "A rule on names, scopes, expiry or networks is broken", body = ApiErrorBody), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody)))]
pub async fn create(
    ApiCaller(who): ApiCaller,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: CreateServiceToken =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(format!("body: {e}")))?;
    let request = IssueRequest {
        description: input.description,
        lifetime: requested_expiry(input.expires_at.as_deref())?,
        cidrs: input.cidrs,
        dpop_jkt: super::dpop_thumbprint(input.dpop_jkt)?,
        resources: input.resources,
        ..IssueRequest::new(TokenKind::Service, &input.owner, &input.name, input.scopes)
    };
    issue_answer(&svc.into_inner(), who, request).await
}

/// `GET /api/access-tokens/service/{id}`.
#[utoipa::path(get, path = "/api/access-tokens/service/{id}", tag = "service", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "The token", body = TokenView), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody), (status = 404, description = "No such service token", body = ApiErrorBody)))]
pub async fn get(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    read_answer(&svc.into_inner(), who, path.into_inner(), Lookup::Service).await
}

/// The optional body of a revocation.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct RevokeBody {
    /// Why (kept in the audit trail; at most 500 characters).
    reason: Option<String>,
}

/// `DELETE /api/access-tokens/service/{id}` with optional `{"reason"}` → 204 (409 if revoked).
#[utoipa::path(delete, path = "/api/access-tokens/service/{id}", tag = "service", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    request_body(content = RevokeBody, description = "Optional"),
    responses((status = 204, description = "Revoked"), (status = 409, description = "Revoked already", body = ApiErrorBody),
        (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody), (status = 404, description = "No such service token", body = ApiErrorBody)))]
pub async fn revoke(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let reason = optional_json(&body)?
        .as_ref()
        .and_then(|v| v.get("reason")?.as_str().map(str::to_string))
        .map(|r| r.chars().take(500).collect::<String>());
    let (svc, id) = (svc.into_inner(), path.into_inner());
    revoke_answer(&svc, who, id, Lookup::Service, reason).await
}

/// A restored token.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RestoredToken {
    /// The token, active again.
    token: TokenView,
}

/// `POST /api/access-tokens/service/{id}/restore` → `{token}` (409 if not revoked or its name is taken).
#[utoipa::path(post, path = "/api/access-tokens/service/{id}/restore", tag = "service", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 200, description = "Restored", body = RestoredToken),
        (status = 409, description = "Not revoked, or its name is taken", body = ApiErrorBody), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody), (status = 404, description = "No such service token", body = ApiErrorBody)))]
pub async fn restore(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let (svc, id) = (svc.into_inner(), path.into_inner());
    let record = run(&svc, move |s| {
        crate::principal::act(s, &who, |tx, who| {
            tokens::restore(tx, who, &id, Lookup::Service)
        })
    })
    .await?;
    let token = TokenView::new(&record, svc.now());
    Ok(no_store(&mut HttpResponse::Ok()).json(RestoredToken { token }))
}

/// `GET /api/access-tokens/service/{id}/audit`, newest first.
#[utoipa::path(get, path = "/api/access-tokens/service/{id}/audit", tag = "service", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id"), AuditQuery),
    responses((status = 200, description = "A page of the token's events", body = AuditPage), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody), (status = 404, description = "No such service token", body = ApiErrorBody)))]
pub async fn audit_trail(
    req: HttpRequest,
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    audit_answer(
        &req,
        &svc.into_inner(),
        who,
        path.into_inner(),
        Lookup::Service,
    )
    .await
}

/// `GET /api/access-tokens/service/scopes`: the scope catalogue (any
/// authenticated caller).
#[utoipa::path(get, path = "/api/access-tokens/service/scopes", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "The scope catalogue", body = ScopeList), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody)))]
pub async fn scopes(_caller: ApiCaller, svc: web::Data<Services>) -> HttpResponse {
    let scopes = svc
        .config
        .scopes
        .iter()
        .map(|(name, description)| ScopeEntry {
            name: name.clone(),
            description: description.clone(),
        })
        .collect();
    HttpResponse::Ok().json(ScopeList { scopes })
}

/// The scope catalogue.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ScopeList {
    /// Every scope a token may carry.
    scopes: Vec<ScopeEntry>,
}

/// One scope.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ScopeEntry {
    /// Its name.
    name: String,
    /// What it allows, in words.
    description: String,
}

/// How many tokens were revoked.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct RevokedCount {
    /// Tokens revoked now.
    revoked: usize,
}

/// `POST /api/access-tokens/users/{subject}/revoke-all` → `{revoked: n}`.
#[utoipa::path(post, path = "/api/access-tokens/users/{subject}/revoke-all", tag = "service", security(("bearer" = [])),
    params(("subject" = String, Path, description = "The user whose tokens to revoke (offboarding)")),
    responses((status = 200, description = "Every active token of the user revoked", body = RevokedCount), (status = 401, description = "No valid bearer JWT or session", body = ApiErrorBody), (status = 403, description = "Not allowed (`insufficient_scope` when a scope is missing)", body = ApiErrorBody)))]
pub async fn revoke_all(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let (svc, subject) = (svc.into_inner(), path.into_inner());
    let revoked = run(&svc, move |s| {
        crate::principal::act(s, &who, |tx, who| tokens::revoke_all(tx, who, &subject))
    })
    .await?;
    Ok(HttpResponse::Ok().json(RevokedCount { revoked }))
}
