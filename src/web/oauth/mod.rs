//! The OAuth endpoints clients and resource servers call: token (RFC 6749
//! §3.2), authorization (§3.1), device authorization (RFC 8628), revocation
//! (RFC 7009), introspection (RFC 7662), discovery (RFC 8414), and the
//! `@access-tokens`-compatible token endpoint. Errors are RFC 6749 §5.2 JSON.

pub mod authorize;
pub mod compat_token;
pub mod device_authorization;
pub mod revoke_introspect;
pub mod token;
pub mod well_known;

use crate::app::Services;
use crate::oauth::clients::ClientCredentials;
use crate::oauth::token_request::TokenParams;
use crate::secret::lanes::Lane;
use crate::web::errors::OAuthEndpointError;
use crate::web::request::client_ip;
use crate::web::{hashing_turn, WebState};
use actix_web::HttpRequest;
use tokio::sync::SemaphorePermit;

/// Before a client authentication that may run argon2: when a secret is
/// presented, the per-address limit on full verifications and a turn in the
/// client lane; a public client presents none and costs no hashing, so a
/// burst of device flows from one CI farm is never queued behind secrets.
pub(crate) async fn client_turn<'a>(
    req: &HttpRequest,
    svc: &'a Services,
    state: &WebState,
    creds: &ClientCredentials,
    params: &TokenParams,
) -> Result<Option<SemaphorePermit<'a>>, OAuthEndpointError> {
    if !creds.present(params) {
        return Ok(None);
    }
    let ip = client_ip(req, &svc.config.trusted_proxies);
    state.limits.cold_verification(None, ip)?;
    Ok(Some(hashing_turn(svc, Lane::Client).await?))
}
