//! Discovery: the JWKS (RFC 7517 §5) and server metadata (RFC 8414 §3).

use crate::app::Services;
use crate::oauth::metadata;
use crate::web::{run, ApiError};
use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// `GET /.well-known/jwks.json`: active and still-published public keys.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    responses((status = 200, description = "The JWK Set (RFC 7517 §5)", body = Object, content_type = "application/jwk-set+json")))]
pub async fn jwks(svc: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let doc = run(&svc.into_inner(), |s| s.jwks()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .content_type("application/jwk-set+json")
        .body(doc.to_string()))
}

/// `GET /.well-known/oauth-authorization-server` (and `/.well-known/openid-configuration`).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "discovery",
    responses((status = 200, description = "Server metadata (RFC 8414 §3.2)", body = Object)))]
pub async fn metadata(svc: web::Data<Services>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(metadata::document(&svc.config))
}
