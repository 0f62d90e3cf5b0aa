//! A cookie-keeping HTTP client that acts as a person's browser, and the
//! `oauth2` crate as a real public client of patgate.

use super::TestApp;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenUrl,
};
use reqwest::Response;

/// The redirect URI the tests' native client listens on (nothing needs to).
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:47123/callback";

/// A browser: keeps cookies, follows no redirects.
pub struct Browser {
    /// The HTTP client with its cookie jar.
    pub http: reqwest::Client,
    base: url::Url,
}

/// The value of the hidden input `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_string())
}

/// The token on a show-once page: `<input id="secret" value="…">`.
pub fn shown_secret(html: &str) -> String {
    let marker = "id=\"secret\" value=\"";
    let start = html.find(marker).expect("the page shows the token") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The password of the accounts [`signed_in`] creates.
pub const PASSWORD: &str = "correct horse battery";

/// Adds `user` (an admin if `admin`) and signs them in; the browser and the
/// session's CSRF token (from the sign-out form of the landing page).
pub async fn signed_in(app: &TestApp, user: &str, admin: bool) -> (Browser, String) {
    app.add_user(user, PASSWORD, admin).await;
    let browser = Browser::new(app);
    assert_eq!(browser.sign_in(user, PASSWORD, "/").await.status(), 303);
    let home = browser.get("/").await.text().await.unwrap();
    let csrf = hidden_value(&home, "csrf").expect("the sign-out form carries the CSRF token");
    (browser, csrf)
}

/// The `Location` of a redirect, resolved against `base`.
pub fn location(res: &Response) -> url::Url {
    let raw = res
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap();
    res.url().join(raw).unwrap()
}

impl Browser {
    /// A fresh browser for `app`.
    pub fn new(app: &TestApp) -> Browser {
        Self::at(app.base.clone())
    }

    /// A fresh browser for the server at `base`.
    pub fn at(base: url::Url) -> Browser {
        Self::with_headers(base, reqwest::header::HeaderMap::new())
    }

    /// A fresh browser for `app` whose requests say, through a trusted
    /// proxy, that they come from `address` (`X-Forwarded-For`).
    pub fn forwarded_for(app: &TestApp, address: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        Self::with_headers(app.base.clone(), headers)
    }

    fn with_headers(base: url::Url, headers: reqwest::header::HeaderMap) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { http, base }
    }

    /// `GET` a URL (absolute, or a path on the app).
    pub async fn get(&self, url: &str) -> Response {
        self.http
            .get(self.base.join(url).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// `POST` a form.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.base.join(url).unwrap())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in through `/login`, returning the answer to the form.
    pub async fn sign_in(&self, user: &str, password: &str, next: &str) -> Response {
        let mut login = self.base.join("/login").unwrap();
        login.query_pairs_mut().append_pair("next", next);
        let page = self.get(login.as_str()).await.text().await.unwrap();
        let csrf = hidden_value(&page, "csrf").expect("login form has a CSRF token");
        self.post(
            "/login",
            &[
                ("username", user),
                ("password", password),
                ("csrf", &csrf),
                ("next", next),
            ],
        )
        .await
    }

    /// The consent page at `path`, and its CSRF token.
    pub async fn consent_page(&self, path: &str) -> (u16, String, Option<String>) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let html = res.text().await.unwrap();
        let csrf = hidden_value(&html, "csrf");
        (status, html, csrf)
    }
}

/// The `oauth2` crate's client type with both endpoints set.
pub type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The built-in CLI client as an `oauth2` crate client of `app`.
pub fn cli_client(app: &TestApp, client_id: &str, redirect: &str) -> OAuthClient {
    BasicClient::new(ClientId::new(client_id.into()))
        .set_auth_uri(AuthUrl::new(app.url("/api/auth/v1/authorize").to_string()).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/api/auth/v1/token").to_string()).unwrap())
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap())
}

/// An authorization request: the URL to open, its state and PKCE verifier.
pub fn authorize_url(
    client: &OAuthClient,
    scopes: &[&str],
) -> (url::Url, CsrfToken, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for s in scopes {
        request = request.add_scope(Scope::new(s.to_string()));
    }
    let (url, state) = request.url();
    (url, state, verifier)
}

/// A code that `user` (signed in now, an account made for it) approved on
/// the consent screen for `client_id`, with `scope` `read`: the redirect
/// back to `redirect`, the request's `state` and its PKCE verifier.
pub async fn approved_code(
    app: &TestApp,
    user: &str,
    client_id: &str,
    redirect: &str,
) -> (url::Url, CsrfToken, PkceCodeVerifier) {
    let (browser, csrf) = signed_in(app, user, false).await;
    let client = cli_client(app, client_id, redirect);
    let (url, state, verifier) = authorize_url(&client, &["read"]);
    let consent = location(&browser.get(url.as_str()).await)
        .path()
        .to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("action", "approve"),
        ("token_name", client_id),
        ("expiry", "30"),
        ("scope", "read"),
    ];
    let back = location(&browser.post(&consent, &form).await);
    (back, state, verifier)
}

/// The value of `name` in `url`'s query.
pub fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
