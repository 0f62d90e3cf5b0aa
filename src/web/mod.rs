//! The HTTP layer (actix-web): the one route table, handlers that call the
//! domain on the blocking pool, and error mapping. No diesel here.

mod errors;
mod health;
mod request_id;
mod token_endpoint;
mod well_known;

pub use errors::{ApiError, OAuthEndpointError};

use crate::app::Services;
use crate::error::InternalError;
use crate::oauth::metadata::{JWKS_PATH, TOKEN_PATH};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Logger};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

/// The route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(TOKEN_PATH, web::post().to(token_endpoint::token))
        .route(JWKS_PATH, web::get().to(well_known::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(well_known::metadata),
        )
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz));
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
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(request_id::assign))
            .wrap(Logger::new("%a \"%m %U\" %s %b %Dms %{x-request-id}o"))
            .configure(routes)
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.run())
}

/// Runs blocking work (diesel, argon2) on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, InternalError> + Send + 'static,
) -> Result<T, InternalError> {
    web::block(f)
        .await
        .map_err(|e| InternalError::Blocking(e.to_string()))?
}
