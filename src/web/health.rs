//! Liveness and readiness probes.

use super::{blocking, ApiError, WebState};
use crate::app::Services;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long the readiness probe fails after a request met damaged storage
/// (`store::says_storage_damaged`).
pub const DAMAGE_WINDOW: Duration = Duration::from_secs(30);

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the database answers and takes a write within the
/// database timeout (`[limits] database_timeout`), and no request met
/// damaged storage in the last [`DAMAGE_WINDOW`] (a malformed page may
/// fail every exchange while the probe's own write succeeds). Anyone may
/// call it, so one check serves every call for a second.
pub async fn readyz(
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> Result<HttpResponse, ApiError> {
    let svc = svc.into_inner();
    let damage = state.storage_damage.lock().ok().and_then(|d| d.clone());
    if let Some((at, text)) = damage.filter(|(at, _)| at.elapsed() < DAMAGE_WINDOW) {
        let ago = at.elapsed().as_secs();
        tracing::warn!(error = %text, "readiness check failed: storage damaged");
        return Err(ApiError::Unavailable(format!(
            "a request met damaged storage {ago} s ago: {text}"
        )));
    }
    let fresh = |at: &Instant| at.elapsed() < Duration::from_secs(1);
    let cached = state
        .readiness
        .lock()
        .ok()
        .and_then(|r| r.clone())
        .filter(|(at, _)| fresh(at));
    let outcome = match cached {
        Some((_, outcome)) => outcome,
        None => {
            let bound =
                Duration::from_secs(svc.config.limits.database_timeout.seconds().unsigned_abs());
            let s = svc.clone();
            let checked = tokio::time::timeout(bound, blocking(move || s.probe_writable())).await;
            let outcome = match checked {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("the database did not answer within {bound:?}")),
            };
            if let Ok(mut r) = state.readiness.lock() {
                *r = Some((Instant::now(), outcome.clone()));
            }
            outcome
        }
    };
    match outcome {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable(e))
        }
    }
}
