//! What a request carries: the client's address and user agent, the query
//! string and form fields.

use crate::app::Services;
use crate::policy::Origin;
use actix_web::{web, HttpRequest};
use std::collections::HashMap;

/// The client's address: the peer, or the `X-Forwarded-For` hop a trusted
/// proxy names (see `net::client_address`).
pub(crate) fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(crate::net::client_address(peer, &forwarded, trusted))
}

/// The `DPoP` header of `req`, if any; more than one is answered as an
/// invalid proof (RFC 9449 §4.3 1).
pub(crate) fn dpop_header(req: &HttpRequest) -> Option<String> {
    let mut values = req.headers().get_all(crate::oauth::dpop::HEADER);
    let first = values.next()?;
    if values.next().is_some() {
        return Some(String::new());
    }
    Some(first.to_str().unwrap_or_default().to_string())
}

/// Where the request came from, as the audit log records it: the client
/// address and the user agent (at most 256 characters).
pub(crate) fn origin(req: &HttpRequest, svc: &Services) -> Origin {
    Origin {
        ip: client_ip(req, &svc.config.trusted_proxies).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
    }
}

/// The query string as name → value; a malformed one counts as empty (pages).
pub(crate) fn query_params(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
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
