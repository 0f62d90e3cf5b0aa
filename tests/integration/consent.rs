//! Browser consent: authorize → sign in → "Create personal access token" →
//! code → PAT → JWT, driven by the `oauth2` crate as a real public client.

use crate::both_backends;
use crate::support::browser::{
    authorize_url, cli_client, hidden_value, location, Browser, OAuthClient, LOOPBACK_REDIRECT,
};
use crate::support::{assert_oauth_error, token_id, verify_jwt, TestApp, TestDb};
use chrono::Duration;
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeVerifier, RefreshToken, TokenResponse};

both_backends!(
    a_person_approves_and_the_client_gets_a_working_pat,
    cancel_redirects_with_access_denied,
    a_replayed_code_is_refused_and_its_pat_revoked,
);

pub(crate) const PASSWORD: &str = "correct horse battery";

/// One authorization in progress.
pub(crate) struct Flow {
    pub client: OAuthClient,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
    pub consent_path: String,
}

pub(crate) async fn begin(browser: &Browser, app: &TestApp, scopes: &[&str]) -> Flow {
    let client = cli_client(app, "patgate-cli", LOOPBACK_REDIRECT);
    let (url, state, verifier) = authorize_url(&client, scopes);
    let res = browser.get(url.as_str()).await;
    assert_eq!(
        res.status(),
        302,
        "authorize stores a session and redirects"
    );
    let consent_path = location(&res).path().to_string();
    assert!(
        consent_path.starts_with("/oauth2/authorize/"),
        "{consent_path}"
    );
    Flow {
        client,
        state,
        verifier,
        consent_path,
    }
}

/// Signs `user` in through the consent page's redirect; returns the form's CSRF token.
pub(crate) async fn open_as(browser: &Browser, flow: &Flow, user: &str) -> String {
    let res = browser.get(&flow.consent_path).await;
    assert_eq!(res.status(), 303, "sign-in comes first");
    assert_eq!(location(&res).path(), "/login");
    let res = browser.sign_in(user, PASSWORD, &flow.consent_path).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), flow.consent_path);
    let (status, html, csrf) = browser.consent_page(&flow.consent_path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Create personal access token") && html.contains(user));
    csrf.expect("consent form has a CSRF token")
}

pub(crate) async fn approve(
    browser: &Browser,
    flow: &Flow,
    csrf: &str,
    name: &str,
    scopes: &[&str],
    expiry: &str,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf", csrf),
        ("action", "approve"),
        ("token_name", name),
        ("expiry", expiry),
    ];
    form.extend(scopes.iter().map(|s| ("scope", *s)));
    browser.post(&flow.consent_path, &form).await
}

/// The code from a redirect to the client, after checking `state`.
pub(crate) fn code_of(res: &reqwest::Response, state: &CsrfToken) -> String {
    assert_eq!(res.status(), 302);
    let url = location(res);
    assert!(url.as_str().starts_with(LOOPBACK_REDIRECT), "{url}");
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some(state.secret().as_str()));
    get("code").expect("a code")
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn setup(db: &TestDb) -> (TestApp, Browser) {
    let app = TestApp::start(db).await;
    app.add_user("alice", PASSWORD, false).await;
    app.add_user("mallory", PASSWORD, false).await;
    let browser = Browser::new(&app);
    (app, browser)
}

async fn a_person_approves_and_the_client_gets_a_working_pat(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let flow = begin(&browser, &app, &["read", "write"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    let res = approve(&browser, &flow, &csrf, "my laptop", &["read"], "7").await;
    let code = code_of(&res, &flow.state);
    let token = flow
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.secret().clone()))
        .request_async(&http())
        .await
        .expect("code exchange succeeds");
    let pat = token
        .refresh_token()
        .expect("the PAT is the refresh token")
        .secret()
        .clone();
    assert!(pat.starts_with("pat_"));
    assert_eq!(
        token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        vec!["read"]
    );
    let iss = app.svc.config.issuer_id();
    let claims = verify_jwt(token.access_token().secret(), &app.jwks().await, iss, iss).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), claims["client_id"].as_str()),
        (Some("alice"), Some("patgate-cli"))
    );
    let record = app.record(&token_id(&pat)).await;
    assert_eq!(
        (record.name.as_str(), record.scopes.clone()),
        ("my laptop", vec!["read".to_string()])
    );
    assert_eq!(record.client_id.as_deref(), Some("patgate-cli"));
    let expires = record.expires_at.unwrap() - record.created_at;
    assert!(
        (Duration::days(7) - expires).num_seconds().abs() < 5,
        "7 days as approved, not the default"
    );
    // The PAT works as a refresh token with the same client library.
    let refreshed = flow
        .client
        .exchange_refresh_token(&RefreshToken::new(pat.clone()))
        .request_async(&http())
        .await
        .unwrap();
    assert!(
        refreshed.refresh_token().is_none(),
        "the PAT does not rotate"
    );
    verify_jwt(
        refreshed.access_token().secret(),
        &app.jwks().await,
        iss,
        iss,
    )
    .unwrap();
    // The answered session cannot be approved again.
    let again = approve(&browser, &flow, &csrf, "second", &["read"], "7").await;
    assert_eq!(again.status(), 410);
}

async fn cancel_redirects_with_access_denied(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let flow = begin(&browser, &app, &["read"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    let (_, html, _) = browser.consent_page(&flow.consent_path).await;
    let today = app.svc.now().format("%Y-%m-%d").to_string();
    assert_eq!(
        hidden_value(&html, "token_name"),
        Some(format!("patgate CLI {today}")),
        "default name"
    );
    let client = cli_client(&app, "patgate-cli", LOOPBACK_REDIRECT);
    let (mut url, _, _) = authorize_url(&client, &["read"]);
    url.query_pairs_mut()
        .append_pair("token_name", "deploy key for ci");
    let hinted = location(&browser.get(url.as_str()).await)
        .path()
        .to_string();
    let (_, html, _) = browser.consent_page(&hinted).await;
    assert!(
        html.contains("value=\"deploy key for ci\""),
        "the token_name hint prefills the name"
    );
    let res = browser
        .post(&flow.consent_path, &[("csrf", &csrf), ("action", "cancel")])
        .await;
    assert_eq!(res.status(), 302);
    let url = location(&res);
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("error".into(), "access_denied".into())));
    assert!(pairs.contains(&("state".into(), flow.state.secret().clone())));
    assert!(!pairs.iter().any(|(k, _)| k == "code"));
}

async fn a_replayed_code_is_refused_and_its_pat_revoked(db: TestDb) {
    let (app, browser) = setup(&db).await;
    let flow = begin(&browser, &app, &["read"]).await;
    let csrf = open_as(&browser, &flow, "alice").await;
    let code = code_of(
        &approve(&browser, &flow, &csrf, "cli", &["read"], "30").await,
        &flow.state,
    );
    let form = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.to_string()),
            ("redirect_uri", LOOPBACK_REDIRECT.to_string()),
            ("client_id", "patgate-cli".to_string()),
            ("code_verifier", flow.verifier.secret().clone()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        app.http.post(app.url("/api/auth/v1/token")).form(&f).send()
    };
    let first = post(form(&code)).await.unwrap();
    assert_eq!(first.status(), 200);
    let pat = first.json::<serde_json::Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.exchange_ok(&pat).await;
    assert_oauth_error(post(form(&code)).await.unwrap(), 400, "invalid_grant").await;
    assert_oauth_error(app.exchange(&pat).await, 400, "invalid_grant").await;
    assert!(
        app.record(&token_id(&pat)).await.revoked_at.is_some(),
        "the PAT issued from the code is revoked"
    );
}
