//! `/api/access-tokens/service` (service tokens), the scope catalogue, and
//! `/api/access-tokens/users/{subject}/revoke-all` (offboarding).

use super::api_auth::{
    allowed, audit_answer, authenticate, issue_answer, page_limit, query_map, requested_expiry,
    revoke_answer,
};
use super::{actor, blocking, ApiError};
use crate::accounts::principal::Permission;
use crate::app::Services;
use crate::store::token_queries::TokenFilter;
use crate::tokens::admin::{self, RestoreOutcome};
use crate::tokens::format::TokenKind;
use crate::tokens::view::TokenView;
use crate::tokens::{self, IssueRequest};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

const STATUSES: [&str; 4] = ["active", "expiring", "expired", "revoked"];

/// `GET /api/access-tokens/service?status&owner&q&limit&cursor` → `{tokens, next_cursor}`.
pub async fn list(req: HttpRequest, svc: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    allowed(&req, &svc, Permission::ServiceRead).await?;
    let query = query_map(&req)?;
    let status = query.get("status").cloned();
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::BadRequest(
            "status must be active, expiring, expired or revoked".into(),
        ));
    }
    let limit = page_limit(&query, admin::MAX_PAGE)?;
    let filter = TokenFilter {
        kind: Some(TokenKind::Service.as_str().into()),
        status,
        owner: query.get("owner").cloned(),
        name_contains: query.get("q").filter(|q| !q.is_empty()).cloned(),
    };
    let (s, cursor) = (svc.clone(), query.get("cursor").cloned());
    let page = blocking(move || admin::page(&s, &filter, cursor.as_deref(), limit))
        .await?
        .map_err(ApiError::BadRequest)?;
    let now = svc.now();
    let tokens: Vec<TokenView> = page.tokens.iter().map(|r| TokenView::new(r, now)).collect();
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens, "next_cursor": page.next_cursor })))
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
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::ServiceWrite).await?;
    let input: CreateServiceToken =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(format!("body: {e}")))?;
    if let Some(bad) = input
        .scopes
        .iter()
        .find(|s| !svc.config.scopes.contains_key(*s))
    {
        return Err(ApiError::Invalid(format!(
            "scope {bad:?} is not in the scope catalogue"
        )));
    }
    let lifetime = requested_expiry(input.expires_at.as_deref())?;
    let request = IssueRequest {
        kind: TokenKind::Service,
        owner: input.owner,
        name: input.name,
        description: input.description,
        scopes: input.scopes,
        is_admin: false,
        client_id: None,
        lifetime,
        cidrs: input.cidrs,
    };
    let taken = "the owner already has an active token with this name";
    issue_answer(&req, &svc, &who, request, taken).await
}

async fn service_token(
    svc: &Arc<Services>,
    id: String,
) -> Result<crate::store::models::TokenRecord, ApiError> {
    let s = svc.clone();
    let record = blocking(move || tokens::find(&s, &id)).await?;
    record
        .filter(|r| r.kind == TokenKind::Service.as_str())
        .ok_or(ApiError::NotFound)
}

/// `GET /api/access-tokens/service/{id}`.
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    allowed(&req, &svc, Permission::ServiceRead).await?;
    let record = service_token(&svc, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TokenView::new(&record, svc.now())))
}

/// `DELETE /api/access-tokens/service/{id}` with optional `{"reason"}` → 204 (409 if revoked).
pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::ServiceRevoke).await?;
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
        v.get("reason")
            .and_then(|r| r.as_str())
            .map(|r| r.chars().take(500).collect::<String>())
    };
    let record = service_token(&svc, path.into_inner()).await?;
    let (s, by) = (svc.clone(), actor(&req, &svc, &who.subject));
    let outcome =
        blocking(move || admin::revoke_with_reason(&s, &record.id, &by, reason.as_deref())).await?;
    revoke_answer(outcome)
}

/// `POST /api/access-tokens/service/{id}/restore` → `{token}` (409 if not revoked or its name is taken).
pub async fn restore(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::ServiceWrite).await?;
    let record = service_token(&svc, path.into_inner()).await?;
    let (s, by) = (svc.clone(), actor(&req, &svc, &who.subject));
    match blocking(move || admin::restore(&s, &record.id, &by)).await? {
        RestoreOutcome::Restored(r) => {
            Ok(HttpResponse::Ok().json(json!({ "token": TokenView::new(&r, svc.now()) })))
        }
        RestoreOutcome::NotRevoked => Err(ApiError::Conflict("the token is not revoked".into())),
        RestoreOutcome::NameTaken => Err(ApiError::Conflict(
            "another active token of the owner has this name".into(),
        )),
        RestoreOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// `GET /api/access-tokens/service/{id}/audit`, newest first.
pub async fn audit_trail(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    allowed(&req, &svc, Permission::ServiceRead).await?;
    let record = service_token(&svc, path.into_inner()).await?;
    audit_answer(&req, &svc, record.id).await
}

/// `GET /api/access-tokens/service/scopes`: the scope catalogue (any signed-in caller).
pub async fn scopes(req: HttpRequest, svc: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    authenticate(&req, &svc).await?;
    let list: Vec<_> = svc
        .config
        .scopes
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "scopes": list })))
}

/// `POST /api/access-tokens/users/{subject}/revoke-all` → `{revoked: n}`.
pub async fn revoke_all(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserAdmin).await?;
    let (s, subject, by) = (
        svc.clone(),
        path.into_inner(),
        actor(&req, &svc, &who.subject),
    );
    let revoked = blocking(move || admin::revoke_all(&s, &subject, &by)).await?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": revoked })))
}
