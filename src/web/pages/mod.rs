//! Server-rendered pages for people: sign-in, consent, the device page,
//! settings and admin pages. What every page shares (rendering, redirects,
//! cookies, the navigation bar) is in the leaf module `web::render`.

pub mod admin_service_form;
pub mod admin_tokens;
pub mod admin_users;
pub mod consent;
pub mod device;
pub mod event_line;
pub mod login;
pub mod settings;
pub mod sso;
pub mod usage_chart;
pub mod views;

use super::auth::PageUser;
pub use super::render::{cookie, html, local_path, message, page_url, redirect, MessagePage};
use crate::oauth::consent::ConsentScreen;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Login CSRF token (double-submit cookie).
    pub csrf: String,
    /// Where to continue.
    pub next: String,
    /// The name typed last time.
    pub username: String,
    /// What went wrong.
    pub error: Option<String>,
    /// Sign-in providers: (id, button text).
    pub providers: Vec<(String, String)>,
    /// Whether the user name and password form is shown.
    pub local_accounts: bool,
}

/// The signed-in landing page.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The navigation bar: who, and which admin pages to link.
    pub nav: super::render::Nav,
}

/// The consent screen.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    /// What to show.
    pub s: ConsentScreen,
    /// Session CSRF token.
    pub csrf: String,
}

/// [`message`] for a signed-in person: with their navigation bar.
pub fn message_for(user: &PageUser, status: StatusCode, title: &str, text: &str) -> HttpResponse {
    html(
        status,
        &MessagePage {
            nav: Some(user.nav()),
            title: title.into(),
            message: text.into(),
        },
    )
}
