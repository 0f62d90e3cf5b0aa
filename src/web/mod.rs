//! The HTTP layer (actix-web): the one route table, handlers that call the
//! domain on the blocking pool, and error mapping. No diesel here.

mod admin_pages;
mod admin_service_form;
mod admin_users;
mod api_auth;
mod api_personal;
mod api_service;
mod compat_api;
mod compat_token;
mod consent;
mod device;
mod errors;
mod health;
mod jobs;
mod login;
mod oauth_endpoints;
mod page_access;
mod pages;
mod request_id;
mod settings;
mod sso;
mod token_endpoint;
mod views;
mod well_known;

pub use errors::{ApiError, OAuthEndpointError};
pub use jobs::send_expiry_reminders;

use crate::app::Services;
use crate::error::InternalError;
use crate::oauth::device::{DEVICE_AUTHORIZATION_PATH, VERIFICATION_PATH};
use crate::oauth::metadata::{AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, REVOKE_PATH, TOKEN_PATH};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig, config: &crate::config::Config) {
    // Before the `/admin` pages' scope, which would otherwise take `/admin/tokens`.
    compat_api::routes(cfg, &config.compat);
    cfg.route(TOKEN_PATH, web::post().to(token_endpoint::token))
        .route(DEVICE_AUTHORIZATION_PATH, web::post().to(device::authorize))
        .route(VERIFICATION_PATH, web::get().to(device::show))
        .route(VERIFICATION_PATH, web::post().to(device::submit))
        .route(REVOKE_PATH, web::post().to(oauth_endpoints::revoke))
        .route(INTROSPECT_PATH, web::post().to(oauth_endpoints::introspect))
        .route(JWKS_PATH, web::get().to(well_known::jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(well_known::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(well_known::metadata),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(AUTHORIZE_PATH, web::get().to(consent::authorize_get))
        .route(AUTHORIZE_PATH, web::post().to(consent::authorize_post))
        .route("/oauth2/authorize/{id}", web::get().to(consent::show))
        .route("/oauth2/authorize/{id}", web::post().to(consent::submit))
        .route("/login/sso/{provider}", web::get().to(sso::start))
        .route(
            "/login/sso/{provider}/callback",
            web::get().to(sso::callback),
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
                .route("/access-tokens", web::get().to(admin_pages::list))
                .route("/access-tokens", web::post().to(admin_service_form::create))
                .route(
                    "/access-tokens/new",
                    web::get().to(admin_service_form::new_form),
                )
                .route("/access-tokens/{id}", web::get().to(admin_pages::detail))
                .route(
                    "/access-tokens/{id}/revoke",
                    web::post().to(admin_pages::revoke),
                )
                .route(
                    "/access-tokens/{id}/restore",
                    web::post().to(admin_pages::restore),
                )
                .route(
                    "/users/revoke-all",
                    web::get().to(admin_pages::confirm_revoke_all),
                )
                .route("/users/revoke-all", web::post().to(admin_pages::revoke_all))
                .route("/users", web::get().to(admin_users::list))
                .route(
                    "/users/disable",
                    web::get().to(admin_users::confirm_disable),
                )
                .route("/users/disable", web::post().to(admin_users::disable))
                .route("/users/enable", web::post().to(admin_users::enable)),
        )
        .service(
            web::scope("/api/access-tokens/personal")
                .route("", web::get().to(api_personal::list))
                .route("", web::post().to(api_personal::create))
                .route("/{id}", web::get().to(api_personal::get))
                .route("/{id}", web::delete().to(api_personal::revoke))
                .route("/{id}/rotate", web::post().to(api_personal::rotate))
                .route("/{id}/audit", web::get().to(api_personal::audit_trail)),
        )
        .service(
            web::scope("/api/access-tokens/service")
                .route("", web::get().to(api_service::list))
                .route("", web::post().to(api_service::create))
                .route("/scopes", web::get().to(api_service::scopes))
                .route("/{id}", web::get().to(api_service::get))
                .route("/{id}", web::delete().to(api_service::revoke))
                .route("/{id}/restore", web::post().to(api_service::restore))
                .route("/{id}/audit", web::get().to(api_service::audit_trail)),
        )
        .route(
            "/api/access-tokens/users/{subject}/revoke-all",
            web::post().to(api_service::revoke_all),
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

/// The client's address: the peer, or the `X-Forwarded-For` hop a trusted
/// proxy names (see `net::client_address`).
pub(crate) fn client_ip(
    req: &actix_web::HttpRequest,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(crate::net::client_address(peer, &forwarded, trusted))
}

/// Who acts in this request, as the audit log records it: the subject, the
/// client address and the user agent.
pub(crate) fn actor(
    req: &actix_web::HttpRequest,
    svc: &Services,
    subject: &str,
) -> crate::audit::Actor {
    crate::audit::Actor {
        name: Some(subject.to_string()),
        ip: client_ip(req, &svc.config.trusted_proxies).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
    }
}

/// The query string as name → value; a malformed one counts as empty (pages).
pub(crate) fn query_params(
    req: &actix_web::HttpRequest,
) -> std::collections::HashMap<String, String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// The first value of `name` in form pairs, or "".
pub(crate) fn form_field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Name/value pairs of a form-encoded body, repeated names kept in order.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Builds the HTTP server on `listener`; `main` and the tests both use it.
pub fn server(
    services: Arc<Services>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let data = web::Data::from(services);
    let data_for_jobs = data.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(
                pages::SECURITY_HEADERS
                    .iter()
                    .fold(DefaultHeaders::new(), |h, pair| h.add(*pair)),
            )
            .wrap(from_fn(request_id::assign))
            .wrap(Logger::new("%a \"%m %U\" %s %b %Dms %{x-request-id}o"))
            .configure(|cfg| routes(cfg, &data.config))
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let server = server.run();
    jobs::start(data_for_jobs);
    Ok(server)
}

/// Waits for a turn to run argon2/scrypt (bounded by `hashing.max_concurrent`).
pub(crate) async fn hashing_permit(
    svc: &Services,
) -> Result<tokio::sync::SemaphorePermit<'_>, InternalError> {
    svc.hashing_permits
        .acquire()
        .await
        .map_err(|e| InternalError::Blocking(e.to_string()))
}

/// Runs blocking work (diesel, argon2) on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, InternalError> + Send + 'static,
) -> Result<T, InternalError> {
    web::block(f)
        .await
        .map_err(|e| InternalError::Blocking(e.to_string()))?
}
