//! What every page shares, as a leaf of the web layer (it imports nothing
//! else of `web/`): rendering a template never cached, message pages,
//! redirects, cookies, local `next` paths, page URLs and the navigation bar.

use crate::app::Services;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;

/// Security headers on every response (pages set `no-store` themselves).
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
];

/// The navigation bar's data.
#[derive(Debug, Clone)]
pub struct Nav {
    /// Who is signed in.
    pub subject: String,
    /// Session CSRF token (sign-out form).
    pub csrf: String,
    /// Whether to link the admin token pages.
    pub admin: bool,
    /// Whether to link the users page.
    pub users: bool,
}

/// A page with a title and one message (errors, expired sessions).
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// Navigation, where the person is known; else plain links.
    pub nav: Option<Nav>,
    /// Heading.
    pub title: String,
    /// Text.
    pub message: String,
}

/// Renders `page` with `status`, never cached.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
    }
}

/// A message page.
pub fn message(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    html(
        status,
        &MessagePage {
            nav: None,
            title: title.into(),
            message: text.into(),
        },
    )
}

/// A `303 See Other` (or other redirect) to `location`, never cached.
pub fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A cookie as patgate sets them: HttpOnly, SameSite=Lax, path `/`, Secure
/// whenever the issuer is https.
pub fn cookie(svc: &Services, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(svc.config.issuer.scheme() == "https")
        .finish()
}

/// `next` if it is a local path (no scheme, no host), else `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 2048
                && !p.chars().any(|c| c.is_control() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The absolute URL of page `path` with `pairs` as its query.
pub fn page_url(svc: &Services, path: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = svc.config.url(path);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url.to_string()
}

/// The sign-in URL that returns to `next`.
pub fn login_url(svc: &Services, next: &str) -> String {
    let mut url = svc.config.url("/login");
    url.query_pairs_mut().append_pair("next", next);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path(Some("/oauth2/authorize/abc?x=1")),
            "/oauth2/authorize/abc?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/a\nb",
            "/a\\b",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
