//! `/api/access-tokens/service` (service tokens), the scope catalogue, and
//! `/api/access-tokens/users/{subject}/revoke-all` (offboarding).

use super::{
    audit_answer, issue_answer, optional_json, page_limit, query_map, read_answer,
    requested_expiry, revoke_answer,
};
use crate::app::Services;
use crate::store::token_queries::TokenFilter;
use crate::tokens::admin;
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest, Lookup};
use crate::web::auth::ApiCaller;
use crate::web::errors::{no_store, ApiError};
use crate::web::run;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

const STATUSES: [&str; 4] = ["active", "expiring", "expired", "revoked"];

/// `GET /api/access-tokens/service?status&owner&q&limit&cursor` → `{tokens, next_cursor}`.
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
            "status must be active, expiring, expired or revoked".into(),
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
        s.read(|tx| {
            admin::page(
                tx,
                &who,
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
    Ok(no_store(&mut HttpResponse::Ok())
        .json(json!({ "tokens": tokens, "next_cursor": page.next_cursor })))
}

/// The body of `POST /api/access-tokens/service`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateServiceToken {
    name: String,
    owner: String,
    #[serde(default)]
    description: Option<String>,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    cidrs: Vec<String>,
}

/// `POST /api/access-tokens/service` → `201 {token, rawToken}`.
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
        ..IssueRequest::new(TokenKind::Service, &input.owner, &input.name, input.scopes)
    };
    issue_answer(&svc.into_inner(), who, request).await
}

/// `GET /api/access-tokens/service/{id}`.
pub async fn get(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    read_answer(&svc.into_inner(), who, path.into_inner(), Lookup::Service).await
}

/// `DELETE /api/access-tokens/service/{id}` with optional `{"reason"}` → 204 (409 if revoked).
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

/// `POST /api/access-tokens/service/{id}/restore` → `{token}` (409 if not revoked or its name is taken).
pub async fn restore(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let (svc, id) = (svc.into_inner(), path.into_inner());
    let record = run(&svc, move |s| {
        s.write(|tx| tokens::restore(tx, &who, &id, Lookup::Service))
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok())
        .json(json!({ "token": TokenView::new(&record, svc.now()) })))
}

/// `GET /api/access-tokens/service/{id}/audit`, newest first.
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
pub async fn scopes(_caller: ApiCaller, svc: web::Data<Services>) -> HttpResponse {
    let list: Vec<_> = svc
        .config
        .scopes
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    HttpResponse::Ok().json(json!({ "scopes": list }))
}

/// `POST /api/access-tokens/users/{subject}/revoke-all` → `{revoked: n}`.
pub async fn revoke_all(
    ApiCaller(who): ApiCaller,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let (svc, subject) = (svc.into_inner(), path.into_inner());
    let revoked = run(&svc, move |s| {
        s.write(|tx| tokens::revoke_all(tx, &who, &subject))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}
