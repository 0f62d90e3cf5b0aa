//! Liveness and readiness probes.

use super::{blocking, ApiError};
use crate::app::Services;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(svc: web::Data<Services>) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let pinged = blocking(move || svc.db.ping().map_err(crate::error::InternalError::from));
    match pinged.await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable(e.to_string()))
        }
    }
}
