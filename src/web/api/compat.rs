//! The `@access-tokens/express`-compatible admin API, `{admin}/tokens…`
//! so
//! `@access-tokens/client` and its CLI work unchanged.
//! Errors are `{"error":{"message","code"}}`: 401 before 403 before 400,
//! 404 for an unknown id, 409 for a duplicate, never a 5xx for a caller's
//! mistake (that client retries 5xx).

use super::compat_schema::{
    CompatBatch, CompatErrorBody, CompatIssued, CompatListQuery, CompatRecordBody, CompatRecords,
};
use crate::app::Services;
use crate::compat::admin::{self, CompatPatch, NewCompatToken};
use crate::credential::Door;
use crate::error::OpError;
use crate::policy::Principal;
use crate::store::compat::CompatFilter;
use crate::web::auth::{bearer, resolve_jwt, services};
use crate::web::errors::{no_store, ApiError};
use crate::web::request::origin;
use crate::web::run;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

/// The admin path the OpenAPI attributes use; the document is rewritten
/// to the configured `[compat] admin_path`.
pub const DOCUMENTED_ADMIN_PATH: &str = "/admin";
/// Where the compatible admin routes start in the OpenAPI attributes.
pub const DOCUMENTED_ADMIN_TOKENS: &str = "/admin/tokens";
/// The compatible token path the OpenAPI attributes use (`[compat] auth_path` + `/token`).
pub const DOCUMENTED_TOKEN_PATH: &str = "/auth/token";

/// The caller of the compatible admin API: a Bearer JWT (theirs or
/// patgate's) whose principal the policy admits as an `@access-tokens`
/// admin — 401 without a valid JWT, 403 otherwise, before the body is read.
pub struct CompatAdmin(Principal);

impl FromRequest for CompatAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let jwt = bearer(&req).ok_or(ApiError::Unauthorized)??;
            let svc = services(&req);
            let from = origin(&req, &svc);
            let who = resolve_jwt(&req, &svc, Door::CompatAdmin, false, jwt, from).await?;
            admin::admit(&svc.config, &who).map_err(ApiError::Denied)?;
            Ok(CompatAdmin(who))
        })
    }
}

fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("Invalid request body: {e}")))
}

/// Runs a compatible admin operation, answering its refusals as that API does.
async fn answer<T: Send + 'static>(
    svc: &web::Data<Services>,
    op: impl FnOnce(&Services) -> Result<T, OpError> + Send + 'static,
) -> Result<T, ApiError> {
    run(&svc.clone().into_inner(), op)
        .await
        .map_err(ApiError::compat)
}

fn flag(query: &std::collections::HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match query.get(name).map(String::as_str) {
        None => Ok(false),
        Some("1" | "true") => Ok(true),
        Some("0" | "false") => Ok(false),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{name} must be true or false"
        ))),
    }
}

/// `GET {admin}/tokens?afterTokenId&limit&includeRevoked&includeExpired&includeSecretPhc&hasRole`.
#[utoipa::path(get, path = "/admin/tokens", tag = "compat", security(("bearer" = [])), params(CompatListQuery),
    responses((status = 200, description = "Token records", body = CompatRecords), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody)))]
pub async fn list(
    req: HttpRequest,
    CompatAdmin(who): CompatAdmin,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let query = super::query_map(&req)?;
    let limit = match query.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| ApiError::BadRequest("Limit must be a positive integer".into()))?
            .min(1000),
    };
    let filter = CompatFilter {
        after_id: query.get("afterTokenId").cloned(),
        include_revoked: flag(&query, "includeRevoked")?,
        include_expired: flag(&query, "includeExpired")?,
        has_role: query.get("hasRole").cloned(),
    };
    let with_phc = flag(&query, "includeSecretPhc")?;
    let records = answer(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            admin::list(tx, who, &filter, limit, with_phc)
        })
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(json!({ "records": records })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BatchBody {
    token_ids: Vec<String>,
    #[serde(default)]
    include_secret_phc: bool,
}

/// `POST {admin}/tokens/batch` → `{found, notFound}`.
#[utoipa::path(post, path = "/admin/tokens/batch", tag = "compat", security(("bearer" = [])), request_body = BatchBody,
    responses((status = 200, description = "Records found, and ids not found", body = CompatBatch), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody)))]
pub async fn batch(
    CompatAdmin(who): CompatAdmin,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: BatchBody = json_body(&body)?;
    let (found, not_found) = answer(&svc, move |s| {
        crate::principal::act_read(s, &who, |tx, who| {
            admin::batch(tx, who, &input.token_ids, input.include_secret_phc)
        })
    })
    .await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(json!({ "found": found, "notFound": not_found })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IssueBody {
    #[serde(default)]
    token_id: Option<String>,
    #[serde(default)]
    secret_phc: Option<String>,
    owner: String,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    expires_at: Option<i64>,
}

/// `POST {admin}/tokens` → `201 {token, record}`.
#[utoipa::path(post, path = "/admin/tokens", tag = "compat", security(("bearer" = [])), request_body = IssueBody,
    responses((status = 201, description = "Issued; `token` is shown this once", body = CompatIssued), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody),
        (status = 409, description = "The id exists", body = CompatErrorBody)))]
pub async fn issue(
    CompatAdmin(who): CompatAdmin,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: IssueBody = json_body(&body)?;
    if input.secret_phc.is_some() {
        return Err(ApiError::BadRequest(
            "Invalid request body: unknown field `secretPhc`".into(),
        ));
    }
    let new = NewCompatToken {
        token_id: input.token_id,
        owner: input.owner,
        is_admin: input.is_admin,
        roles: input.roles,
        expires_at: input.expires_at,
    };
    let (raw, record) = answer(&svc, move |s| admin::issue(s, &who, new, None)).await?;
    Ok(no_store(&mut HttpResponse::Created())
        .json(json!({ "token": raw.expose(), "record": record })))
}

/// `PUT {admin}/tokens/{id}` with `{secretPhc, owner, …}`: registers a
/// pre-hashed token → `{record}`.
#[utoipa::path(put, path = "/admin/tokens/{id}", tag = "compat", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")), request_body = IssueBody,
    responses((status = 200, description = "Registered", body = CompatRecordBody), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody),
        (status = 409, description = "The id exists", body = CompatErrorBody)))]
pub async fn register(
    CompatAdmin(who): CompatAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: IssueBody = json_body(&body)?;
    let (Some(phc), None) = (input.secret_phc, input.token_id) else {
        return Err(ApiError::BadRequest(
            "Invalid request body: secretPhc is required (and tokenId goes in the path)".into(),
        ));
    };
    let new = NewCompatToken {
        token_id: Some(path.into_inner()),
        owner: input.owner,
        is_admin: input.is_admin,
        roles: input.roles,
        expires_at: input.expires_at,
    };
    let (_, record) = answer(&svc, move |s| admin::issue(s, &who, new, Some(phc))).await?;
    Ok(no_store(&mut HttpResponse::Ok()).json(json!({ "record": record })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PatchBody {
    #[serde(default)]
    secret_phc: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    is_admin: Option<bool>,
    #[serde(default)]
    roles: Option<RolesUpdate>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    expires_at: Option<Option<i64>>,
}

/// `Some(None)` for an explicit `null`, `None` (by default) when absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddRoles {
    add: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemoveRoles {
    remove: Vec<String>,
}

/// Roles replaced, or `{"add": […]}`, or `{"remove": […]}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum RolesUpdate {
    Replace(Vec<String>),
    Add(AddRoles),
    Remove(RemoveRoles),
}

/// `PATCH {admin}/tokens/{id}` → 204.
#[utoipa::path(patch, path = "/admin/tokens/{id}", tag = "compat", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")), request_body = PatchBody,
    responses((status = 204, description = "Changed"), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody), (status = 404, description = "No such token", body = CompatErrorBody)))]
pub async fn update(
    CompatAdmin(who): CompatAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: PatchBody = json_body(&body)?;
    let mut patch = CompatPatch {
        owner: input.owner,
        is_admin: input.is_admin,
        secret_phc: input.secret_phc,
        expires_at: input.expires_at,
        ..CompatPatch::default()
    };
    match input.roles {
        Some(RolesUpdate::Replace(r)) => patch.roles = Some(r),
        Some(RolesUpdate::Add(a)) => patch.add_roles = a.add,
        Some(RolesUpdate::Remove(r)) => patch.remove_roles = r.remove,
        None => {}
    }
    let id = path.into_inner();
    answer(&svc, move |s| {
        crate::principal::act(s, &who, |tx, who| admin::update(tx, who, &id, patch))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RevokeBody {
    #[serde(default)]
    expires_at: Option<i64>,
}

/// `PUT {admin}/tokens/{id}/revoke` → 204.
#[utoipa::path(put, path = "/admin/tokens/{id}/revoke", tag = "compat", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")), request_body(content = RevokeBody, description = "Optional"),
    responses((status = 204, description = "Revoked"), (status = 400, description = "A malformed body or query", body = CompatErrorBody), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody), (status = 404, description = "No such token", body = CompatErrorBody)))]
pub async fn revoke(
    CompatAdmin(who): CompatAdmin,
    path: web::Path<String>,
    body: web::Bytes,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let input: RevokeBody = json_body(&body)?;
    let id = path.into_inner();
    answer(&svc, move |s| {
        crate::principal::act(s, &who, |tx, who| {
            admin::revoke(tx, who, &id, input.expires_at)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT {admin}/tokens/{id}/restore` → 204.
#[utoipa::path(put, path = "/admin/tokens/{id}/restore", tag = "compat", security(("bearer" = [])), params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Restored"), (status = 401, description = "No valid bearer JWT", body = CompatErrorBody), (status = 403, description = "Not an admin", body = CompatErrorBody), (status = 404, description = "No such token", body = CompatErrorBody)))]
pub async fn restore(
    CompatAdmin(who): CompatAdmin,
    path: web::Path<String>,
    svc: web::Data<Services>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    answer(&svc, move |s| {
        crate::principal::act(s, &who, |tx, who| admin::restore(tx, who, &id))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
