//! `GET /metrics`: the Prometheus text format (see [`crate::metrics`]).

use super::WebState;
use crate::app::Services;
use crate::metrics::{Readings, CONTENT_TYPE};
use crate::policy::Policy;
use crate::secret::lanes::Lane;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// Whether `req` may read the metrics (the policy decides; see
/// [`crate::policy::Policy::may_read_metrics`]).
fn allowed(req: &HttpRequest, svc: &Services) -> bool {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    Policy::of(&svc.config).may_read_metrics(presented, loopback)
}

/// `GET /metrics`.
pub async fn metrics(
    req: HttpRequest,
    svc: web::Data<Services>,
    state: web::Data<WebState>,
) -> HttpResponse {
    if !allowed(&req, &svc) {
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("metrics are served to loopback peers, or with [metrics] token\n");
    }
    let readings = Readings {
        db_connections: svc.db.connections(),
        hashing_waiting: Lane::ALL
            .iter()
            .map(|l| (l.as_str(), svc.lanes.waiting(*l)))
            .collect(),
        exchange_queue: svc.exchange_threads.waiting(),
        audit_pending: state.exchange_counts.pending_total(),
        audit_flush_age_seconds: state.exchange_counts.last_flush_age_seconds(),
    };
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(svc.metrics.render(&readings))
}
