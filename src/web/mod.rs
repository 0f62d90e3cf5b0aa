//! The HTTP layer (actix-web): the one route table, grouped by audience —
//! [`oauth`] (the OAuth endpoints clients and resource servers call), [`api`]
//! (the JSON management APIs), [`pages`] (what people see) — the extractors
//! that establish who calls ([`auth`]), and error mapping ([`errors`]).
//! Handlers call the domain on the blocking pool. No diesel here.

mod api;
mod auth;
mod connections;
mod dto;
mod errors;
mod health;
mod jobs;
mod metrics;
mod oauth;
mod openapi;
mod pages;
mod refusals;
mod render;
mod request;
mod request_log;
mod routes;
mod static_files;

pub use errors::{ApiError, OAuthEndpointError, PageError};
pub use jobs::send_expiry_reminders;

use crate::app::Services;
use crate::audit::ExchangeCounter;
use crate::config::Config;
use crate::dedicated_threads::JobRefused;
use crate::error::InternalError;
use crate::limits::Limiters;
use crate::secret::lanes::Lane;
use crate::sso::SsoRegistry;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
pub use refusals::RefusalLog;
pub use routes::{route_list, Audience, Route};
use std::net::TcpListener;
use std::sync::Arc;

/// What the web layer keeps beside the services, shared by every worker:
/// exchange counts waiting for the audit log, the SSO providers' caches,
/// the rate limits and the summary of refusals for the log.
#[derive(Debug, Default)]
pub struct WebState {
    /// Exchange counts not yet written to the audit log.
    pub exchange_counts: ExchangeCounter,
    /// SSO providers' discovery documents and keys.
    pub sso: SsoRegistry,
    /// The rate limits of this instance.
    pub limits: Limiters,
    /// Refusals counted for one log line per key and minute.
    pub refusals: RefusalLog,
    /// Secret-scanning partners' public keys fetched from their URL.
    pub leak_keys: crate::leaks::partner::PartnerKeys,
    /// The OpenAPI document, built on first request.
    pub openapi: std::sync::OnceLock<String>,
    /// The last readiness check: when, and its outcome.
    pub readiness: std::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
    /// The client connections open now.
    pub connections: connections::OpenConnections,
    /// When a request last met damaged storage, and what it said.
    pub storage_damage: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

impl WebState {
    /// The state for `config` (its `[limits]`).
    pub fn new(config: &Config) -> Self {
        Self {
            limits: Limiters::new(&config.limits),
            ..Self::default()
        }
    }
}

/// No route: a page with the site's look and a way back for a browser
/// (it asks for `text/html`, outside `/api/`), JSON for everything else.
async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let wants_html = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !req.path().starts_with("/api/") {
        return Ok(render::message(
            actix_web::http::StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.",
        ));
    }
    Err(ApiError::NotFound)
}

/// Headers every answer gets unless its handler set them: the pages'
/// security headers; `Cache-Control: no-store`, so no answer that carries
/// token data is ever cached by default (static files and discovery set
/// their own); and HSTS (RFC 6797) when the issuer is https.
fn default_headers(https: bool) -> DefaultHeaders {
    let mut headers = render::SECURITY_HEADERS
        .iter()
        .fold(DefaultHeaders::new(), |h, pair| h.add(*pair))
        .add(("cache-control", "no-store"));
    if https {
        headers = headers.add(("strict-transport-security", "max-age=31536000"));
    }
    headers
}

/// Builds the HTTP server on `listener`; `main` and the tests both use it.
pub fn server(
    services: Arc<Services>,
    state: Arc<WebState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let data = web::Data::from(services);
    let shared = web::Data::from(state);
    let (data_for_jobs, shared_for_jobs) = (data.clone(), shared.clone());
    let https = data.config.issuer.scheme() == "https";
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let budget = crate::descriptors::ConnectionBudget::new(
        crate::descriptors::raise_open_files_limit(),
        data.config.database_pool_size,
        data.config.limits.max_connections,
    );
    tracing::debug!(?budget, "client connections");
    let counted = shared.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(shared.clone())
            .wrap(default_headers(https))
            .wrap(from_fn(connections::admit))
            .wrap(from_fn(request_log::assign))
            .configure(|cfg| {
                routes::routes(cfg, &data.config);
            })
            .default_service(web::to(not_found))
    })
    .on_connect(move |_, extensions| counted.connections.opened(extensions, budget.admitted))
    // Per worker: together they stop accepting at the budget.
    .max_connections(budget.accepted.div_ceil(workers))
    .workers(workers)
    .listen(listener)?
    // `serve` decides what each signal does (see `cli::serve`).
    .disable_signals()
    .run();
    jobs::start(data_for_jobs, shared_for_jobs);
    Ok(server)
}

/// A turn to run argon2/scrypt in `lane` (see [`crate::secret::lanes`]):
/// soon, or a 503 at once.
pub(crate) async fn hashing_turn(
    svc: &Services,
    lane: Lane,
) -> Result<tokio::sync::SemaphorePermit<'_>, InternalError> {
    let asked = std::time::Instant::now();
    let turn = svc.lanes.turn(lane).await;
    svc.metrics
        .hashing_wait(lane.as_str(), asked.elapsed().as_secs_f64());
    Ok(turn?)
}

/// Runs blocking work (diesel, argon2) on the blocking pool, for as long
/// as it takes (background jobs).
pub(crate) async fn blocking<T: Send + 'static, E: From<InternalError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    web::block(f)
        .await
        .map_err(|e| E::from(InternalError::Blocking(e.to_string())))?
}

/// Runs `work` on the services on the blocking pool for a request: an
/// answer comes within the request deadline (the database timeout and a
/// second), a 503 when the database stalls; the work itself finishes or
/// fails in the background (a stalled connection fails on its TCP timeouts).
pub(crate) async fn run<T: Send + 'static, E: From<InternalError> + Send + 'static>(
    svc: &Arc<Services>,
    work: impl FnOnce(&Services) -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    let shared = svc.clone();
    within_deadline(svc, blocking(move || work(&shared))).await
}

/// [`run`] on the exchange's dedicated threads (see
/// [`crate::dedicated_threads`]): for the warm exchange's short read and
/// signature only.
pub(crate) async fn run_exchange_step<
    T: Send + 'static,
    E: From<InternalError> + Send + 'static,
>(
    svc: &Arc<Services>,
    work: impl FnOnce(&Services) -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    let shared = svc.clone();
    let step = svc.exchange_threads.run("exchange", move || work(&shared));
    within_deadline(svc, async {
        step.await.map_err(|e| {
            E::from(match e {
                JobRefused::Full(_) => InternalError::Backlog(e.to_string()),
                JobRefused::Panicked(_) => InternalError::Blocking(e.to_string()),
            })
        })?
    })
    .await
}

/// `work`'s answer, or a 503 once the request deadline passed.
async fn within_deadline<T, E: From<InternalError>>(
    svc: &Services,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let deadline = svc.request_deadline();
    match tokio::time::timeout(deadline, work).await {
        Ok(done) => done,
        Err(_) => {
            tracing::warn!(
                ?deadline,
                "request work did not finish in time; answered 503"
            );
            Err(E::from(InternalError::Deadline(deadline)))
        }
    }
}
