//! Gives every request an id, returns it as `X-Request-Id`, logs server
//! errors with it (the client sees only the id), and writes the access log:
//! one line per request at INFO, except rate-limit refusals (429), which
//! are counted and summarised once a minute per path (see
//! [`super::RefusalLog`]) so a flood cannot fill the disk with log lines, and
//! are answered after a short delay, so a flood that waits for its answers
//! cannot keep the CPU busy.

use super::WebState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use actix_web::HttpMessage;
use std::time::Instant;

/// How long a rate-limit refusal (429) waits before it is sent.
pub const THROTTLED_ANSWER_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// The header carrying the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The middleware function (use with `middleware::from_fn`).
pub async fn assign(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let mut id_buf = uuid::Uuid::encode_buffer();
    let id: &str = uuid::Uuid::new_v4().simple().encode_lower(&mut id_buf);
    // (The request cannot be kept: routing needs it unshared.)
    let (method, path) = (req.method().clone(), req.path().to_string());
    let peer = Peer(req.peer_addr());
    let state = req.app_data::<web::Data<WebState>>().cloned();
    let mut res = next.call(req).await?;
    let status = res.status();
    if status.is_server_error() {
        match res.response().error() {
            Some(err) => {
                tracing::error!(request_id = %id, %method, %path, error = %err, "request failed");
                // A terminated backend or a failover: the pool's other
                // connections are replaced too, not handed out to fail.
                let text = err.to_string();
                if crate::store::says_connection_lost(&text) {
                    if let Some(svc) = res.request().app_data::<web::Data<crate::app::Services>>() {
                        svc.db.renew_connections();
                    }
                }
                // Damaged storage: the readiness probe fails for a while,
                // so a balancer sends the traffic elsewhere.
                if crate::store::says_storage_damaged(&text) {
                    if let Some(Ok(mut damage)) = state.as_ref().map(|s| s.storage_damage.lock()) {
                        *damage = Some((Instant::now(), text));
                    }
                }
            }
            None => {
                tracing::warn!(request_id = %id, %method, %path, %status, "server error")
            }
        }
    }
    let throttled = status == StatusCode::TOO_MANY_REQUESTS;
    if throttled {
        // A closed-loop flood waits for each answer: a slow 429 keeps it
        // from spinning the CPU that real requests need (costs no CPU).
        actix_web::rt::time::sleep(THROTTLED_ANSWER_DELAY).await;
    }
    let summarised =
        throttled && state.is_some_and(|s| !s.refusals.count(&path, "rate limited (429)"));
    let seconds = started.elapsed().as_secs_f64();
    if let Some(svc) = res.request().app_data::<web::Data<crate::app::Services>>() {
        let route = res.request().match_pattern();
        let route = route.as_deref().unwrap_or("(unmatched)");
        svc.metrics.request(route, status.as_u16(), seconds);
    }
    if !summarised {
        let ms = seconds * 1000.0;
        let token_id = res
            .request()
            .extensions()
            .get::<TokenIdForLog>()
            .map(|t| t.0.clone());
        tracing::info!(
            target: "patgate::access",
            request_id = %id,
            %peer,
            %method,
            %path,
            status = status.as_u16(),
            latency_ms = (ms * 10.0).round() / 10.0,
            token_id = token_id.as_deref(),
            "request"
        );
    }
    if let Ok(value) = HeaderValue::from_str(id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

/// The (public) id of the token a request presented, put in the request's
/// extensions by the handler so the access log line names it.
#[derive(Debug, Clone)]
pub struct TokenIdForLog(pub String);

/// The client address of a request, formatted only for a log line.
struct Peer(Option<std::net::SocketAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{}", addr.ip()),
            None => f.write_str("-"),
        }
    }
}
