//! The HTTP layer (actix-web): the one route table, grouped by audience —
//! [`oauth`] (the OAuth endpoints clients and resource servers call), [`api`]
//! (the JSON management APIs), [`pages`] (what people see) — the extractors
//! that establish who calls ([`auth`]), and error mapping ([`errors`]).
//! Handlers call the domain on the blocking pool. No diesel here.

mod api;
mod auth;
mod errors;
mod health;
mod jobs;
mod metrics;
mod oauth;
mod pages;
mod refusals;
mod request;
mod request_log;

pub use errors::{ApiError, OAuthEndpointError, PageError};
pub use jobs::send_expiry_reminders;

use crate::app::Services;
use crate::audit::ExchangeCounter;
use crate::config::Config;
use crate::dedicated_threads::JobRefused;
use crate::error::InternalError;
use crate::limits::Limiters;
use crate::oauth::paths::{
    AUTHORIZE_PATH, DEVICE_AUTHORIZATION_PATH, INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH,
    VERIFICATION_PATH,
};
use crate::secret::lanes::Lane;
use crate::sso::SsoRegistry;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
pub use refusals::RefusalLog;
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
    /// The last readiness check: when, and its outcome.
    pub readiness: std::sync::Mutex<Option<(std::time::Instant, Result<(), String>)>>,
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

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    // Routes are tried in order (patterns with `{…}` by regex): the
    // exchange, what patgate does most, comes first.
    cfg.route(TOKEN_PATH, web::post().to(oauth::token::token));
    // Before the `/admin` pages' scope, which would otherwise take `/admin/tokens`.
    api::compat::routes(cfg, &config.compat);
    oauth_routes(cfg);
    page_routes(cfg);
    api_routes(cfg);
}

/// The OAuth endpoints (RFC 6749, 7009, 7662, 8414, 8628) and discovery.
fn oauth_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(AUTHORIZE_PATH, web::get().to(oauth::authorize::get))
        .route(AUTHORIZE_PATH, web::post().to(oauth::authorize::post))
        .route(
            DEVICE_AUTHORIZATION_PATH,
            web::post().to(oauth::device_authorization::start),
        )
        .route(
            REVOKE_PATH,
            web::post().to(oauth::revoke_introspect::revoke),
        )
        .route(
            INTROSPECT_PATH,
            web::post().to(oauth::revoke_introspect::introspect),
        )
        .route(JWKS_PATH, web::get().to(oauth::well_known::jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(oauth::well_known::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(oauth::well_known::metadata),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/readyz", web::get().to(health::readyz));
}

/// What people see in a browser.
fn page_routes(cfg: &mut web::ServiceConfig) {
    use pages::{admin_service_form, admin_tokens, admin_users, consent, device, login, settings};
    cfg.route(VERIFICATION_PATH, web::get().to(device::show))
        .route(VERIFICATION_PATH, web::post().to(device::submit))
        .route("/oauth2/authorize/{id}", web::get().to(consent::show))
        .route("/oauth2/authorize/{id}", web::post().to(consent::submit))
        .route("/login/sso/{provider}", web::get().to(pages::sso::start))
        .route(
            "/login/sso/{provider}/callback",
            web::get().to(pages::sso::callback),
        )
        .route("/login", web::get().to(login::show))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        .route("/", web::get().to(login::home))
        .route("/static/patgate.css", web::get().to(stylesheet))
        .route("/static/copy.js", web::get().to(copy_script))
        .service(
            web::scope("/settings/personal-tokens")
                .route("", web::get().to(settings::list))
                .route("/new", web::get().to(settings::generate))
                .route("/callback", web::get().to(settings::callback))
                .route("/{id}/revoke", web::get().to(settings::confirm_revoke))
                .route("/{id}/revoke", web::post().to(settings::revoke))
                .route(
                    "/{id}/regenerate",
                    web::get().to(settings::confirm_regenerate),
                )
                .route("/{id}/regenerate", web::post().to(settings::regenerate)),
        )
        .service(
            web::scope("/admin")
                .route("/access-tokens", web::get().to(admin_tokens::list))
                .route("/access-tokens", web::post().to(admin_service_form::create))
                .route(
                    "/access-tokens/new",
                    web::get().to(admin_service_form::new_form),
                )
                .route("/access-tokens/{id}", web::get().to(admin_tokens::detail))
                .route(
                    "/access-tokens/{id}/revoke",
                    web::post().to(admin_tokens::revoke),
                )
                .route(
                    "/access-tokens/{id}/restore",
                    web::post().to(admin_tokens::restore),
                )
                .route(
                    "/users/revoke-all",
                    web::get().to(admin_tokens::confirm_revoke_all),
                )
                .route(
                    "/users/revoke-all",
                    web::post().to(admin_tokens::revoke_all),
                )
                .route("/users", web::get().to(admin_users::list))
                .route(
                    "/users/disable",
                    web::get().to(admin_users::confirm_disable),
                )
                .route("/users/disable", web::post().to(admin_users::disable))
                .route("/users/enable", web::post().to(admin_users::enable)),
        );
}

/// The JSON management APIs.
fn api_routes(cfg: &mut web::ServiceConfig) {
    use api::{personal, service};
    cfg.service(
        web::scope("/api/access-tokens/personal")
            .route("", web::get().to(personal::list))
            .route("", web::post().to(personal::create))
            .route("/{id}", web::get().to(personal::get))
            .route("/{id}", web::delete().to(personal::revoke))
            .route("/{id}/rotate", web::post().to(personal::rotate))
            .route("/{id}/audit", web::get().to(personal::audit_trail)),
    )
    .service(
        web::scope("/api/access-tokens/service")
            .route("", web::get().to(service::list))
            .route("", web::post().to(service::create))
            .route("/scopes", web::get().to(service::scopes))
            .route("/{id}", web::get().to(service::get))
            .route("/{id}", web::delete().to(service::revoke))
            .route("/{id}/restore", web::post().to(service::restore))
            .route("/{id}/audit", web::get().to(service::audit_trail)),
    )
    .route(
        "/api/access-tokens/users/{subject}/revoke-all",
        web::post().to(service::revoke_all),
    );
}

/// `GET /static/patgate.css`, compiled in.
async fn stylesheet() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../static/patgate.css"))
}

/// `GET /static/copy.js`: the copy button of the show-once token page.
async fn copy_script() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(include_str!("../../static/copy.js"))
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
        return Ok(pages::message(
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
    let mut headers = pages::SECURITY_HEADERS
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
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(shared.clone())
            .wrap(default_headers(https))
            .wrap(from_fn(request_log::assign))
            .configure(|cfg| routes(cfg, &data.config))
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let server = server.run();
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
