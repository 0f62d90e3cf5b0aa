//! `/api/access-tokens/personal`: a person's own tokens as JSON.

use super::api_auth::{allowed, audit_answer, issue_answer, requested_expiry, revoke_answer};
use super::{actor, blocking, ApiError};
use crate::accounts::principal::{Permission, Principal};
use crate::app::Services;

use crate::tokens::view::TokenView;
use crate::tokens::{self, RotateOutcome};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use std::sync::Arc;

/// The caller's personal token `id`, or 404 (also for another user's id).
async fn own(
    svc: &Arc<Services>,
    who: &Principal,
    id: String,
) -> Result<crate::store::models::TokenRecord, ApiError> {
    let (s, subject) = (svc.clone(), who.subject.clone());
    blocking(move || tokens::personal_owned_by(&s, &id, &subject))
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /api/access-tokens/personal`.
pub async fn list(req: HttpRequest, svc: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserRead).await?;
    let s = svc.clone();
    let records = blocking(move || tokens::personal_of(&s, &who.subject)).await?;
    let now = svc.now();
    let views: Vec<TokenView> = records.iter().map(|r| TokenView::new(r, now)).collect();
    Ok(HttpResponse::Ok().json(json!({ "tokens": views })))
}

/// The body of `POST /api/access-tokens/personal`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreatePersonalToken {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    never_expires: bool,
    #[serde(default)]
    cidrs: Vec<String>,
}

/// `POST /api/access-tokens/personal` `{"name","scopes"?,"expiresAt"?,"neverExpires"?,"cidrs"?}`
/// → `201 {token, rawToken}` (what `patgate token create` calls). With an
/// access token, the new token gets at most that token's scopes (default: all of them).
pub async fn create(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserWrite).await?;
    let input: CreatePersonalToken =
        serde_json::from_slice(&body).map_err(|e| ApiError::Invalid(format!("body: {e}")))?;
    let ceiling: Vec<String> = match &who.token_scopes {
        Some(scopes) => scopes.clone(),
        None => svc.config.scopes.keys().cloned().collect(),
    };
    let scopes = input.scopes.unwrap_or_else(|| ceiling.clone());
    if let Some(bad) = scopes
        .iter()
        .find(|s| !ceiling.contains(s) || !svc.config.scopes.contains_key(*s))
    {
        return Err(ApiError::Invalid(format!(
            "scope {bad:?} is not one this caller may grant"
        )));
    }
    let lifetime = match (input.expires_at.as_deref(), input.never_expires) {
        (Some(_), true) => {
            return Err(ApiError::Invalid(
                "give expiresAt or neverExpires, not both".into(),
            ))
        }
        (None, true) => tokens::RequestedLifetime::Never,
        (expires_at, false) => requested_expiry(expires_at)?,
    };
    let request = tokens::IssueRequest {
        kind: crate::tokens::format::TokenKind::Personal,
        owner: who.subject.clone(),
        name: input.name,
        description: None,
        scopes,
        is_admin: false,
        client_id: Some(crate::oauth::clients::CLI_CLIENT_ID.into()),
        lifetime,
        cidrs: input.cidrs,
    };
    let taken = "you already have an active token with this name";
    issue_answer(&req, &svc, &who, request, taken).await
}

/// `GET /api/access-tokens/personal/{id}`.
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserRead).await?;
    let record = own(&svc, &who, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(TokenView::new(&record, svc.now())))
}

/// `DELETE /api/access-tokens/personal/{id}`: revokes; 204, or 409 if revoked already.
pub async fn revoke(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserRevoke).await?;
    let record = own(&svc, &who, path.into_inner()).await?;
    let (s, by) = (svc.clone(), actor(&req, &svc, &who.subject));
    revoke_answer(blocking(move || tokens::revoke(&s, &record.id, &by)).await?)
}

/// `POST /api/access-tokens/personal/{id}/rotate` with `{"graceSeconds"?: n}`
/// (0 to 7 days): a new secret, shown once, for the same token.
pub async fn rotate(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserWrite).await?;
    let grace = if body.iter().all(u8::is_ascii_whitespace) {
        0
    } else {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
        match v.get("graceSeconds") {
            None | Some(serde_json::Value::Null) => 0,
            Some(g) => g
                .as_i64()
                .ok_or_else(|| ApiError::Invalid("graceSeconds must be a whole number".into()))?,
        }
    };
    let record = own(&svc, &who, path.into_inner()).await?;
    let (s, by) = (svc.clone(), actor(&req, &svc, &who.subject));
    let outcome =
        blocking(move || tokens::rotate(&s, &record.id, chrono::Duration::seconds(grace), &by))
            .await?;
    match outcome {
        RotateOutcome::Rotated(t) => Ok(super::errors::no_store(&mut HttpResponse::Ok()).json(
            json!({ "token": TokenView::new(&t.record, svc.now()), "rawToken": t.raw.expose() }),
        )),
        RotateOutcome::Inactive => Err(ApiError::Conflict(
            "revoked or expired tokens cannot be rotated".into(),
        )),
        RotateOutcome::InvalidGrace => Err(ApiError::Invalid(
            "graceSeconds must be between 0 and 604800 (7 days)".into(),
        )),
        RotateOutcome::NotFound => Err(ApiError::NotFound),
    }
}

/// `GET /api/access-tokens/personal/{id}/audit`: newest first.
pub async fn audit_trail(
    req: HttpRequest,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let who = allowed(&req, &svc, Permission::UserRead).await?;
    let record = own(&svc, &who, path.into_inner()).await?;
    audit_answer(&req, &svc, record.id).await
}
