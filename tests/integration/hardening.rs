//! Headers, files and checks an attacker looks for: HSTS with an https
//! issuer, `no-store` on token data, `iss` in authorization responses
//! (RFC 9207), JWTs from the future refused, a device approval page that
//! says where the code came from (RFC 8628 §5.4), a sign-in lockout that
//! cannot be aimed at someone, private database files, and no master key
//! file made for a database whose keys it cannot open.

use crate::both_backends;
use crate::support::browser::{
    approved_code, hidden_value, location, query_value, signed_in, Browser,
};
use crate::support::{base_config, TestApp, TestDb, TOKEN_API_SCOPES};
use chrono::Duration;
use patgate::app::Services;
use patgate::config::Config;
use patgate::tokens::format::TokenKind;
use patgate::tokens::IssueRequest;

both_backends!(
    hsts_with_an_https_issuer_and_no_store_on_token_data,
    authorization_responses_name_the_issuer,
    jwts_from_the_future_are_refused,
    the_device_approval_page_says_where_the_code_started,
    a_lockout_cannot_be_aimed_from_elsewhere,
    no_master_key_file_is_made_for_a_database_with_keys,
    a_browser_gets_a_page_for_a_404_and_an_api_client_json,
);

async fn a_browser_gets_a_page_for_a_404_and_an_api_client_json(db: TestDb) {
    let app = TestApp::start(&db).await;
    let get =
        |path: &str, accept: &str| app.http.get(app.url(path)).header("accept", accept).send();
    let page = get("/no/such/page", "text/html,application/xhtml+xml")
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = page.text().await.unwrap();
    assert!(
        body.contains("Not found") && body.contains("href=\"/\""),
        "a way back: {body}"
    );
    assert!(body.contains("/static/patgate.css"), "the site's look");
    // The home page links the admin pages to those who may use them.
    let (admin, _) = signed_in(&app, "root", true).await;
    let home = admin.get("/").await.text().await.unwrap();
    assert!(
        home.contains("href=\"/admin/access-tokens\"") && home.contains("href=\"/admin/users\"")
    );
    let (person, _) = signed_in(&app, "pat", false).await;
    let home = person.get("/").await.text().await.unwrap();
    assert!(
        home.contains("Signed in") && !home.contains("/admin/"),
        "{home}"
    );
    for (path, accept) in [
        ("/no/such/page", "application/json"),
        ("/api/nothing", "text/html"),
    ] {
        let res = get(path, accept).await.unwrap();
        assert_eq!(res.status(), 404);
        let json: serde_json::Value = res.json().await.unwrap();
        assert!(json["error"].is_object(), "{path}: {json}");
    }
}

async fn api_jwt(app: &TestApp, owner: &str) -> String {
    let pat = app
        .issue_request(IssueRequest::new(
            TokenKind::Personal,
            owner,
            "api",
            TOKEN_API_SCOPES.map(String::from).to_vec(),
        ))
        .await;
    app.jwt_for(&pat).await
}

async fn hsts_with_an_https_issuer_and_no_store_on_token_data(db: TestDb) {
    let plain = TestApp::start(&db).await;
    let res = plain.http.get(plain.url("/healthz")).send().await.unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"));
    let jwt = api_jwt(&plain, "alice").await;
    for path in ["/api/access-tokens/personal", "/readyz"] {
        let res = plain
            .http
            .get(plain.url(path))
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
    drop(plain);
    let https = TestApp::start_with(&db, |t| {
        t.insert("issuer".into(), "https://auth.example.test/".into());
    })
    .await;
    let res = https.http.get(https.url("/healthz")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // Static files keep their own caching.
    let css = https
        .http
        .get(https.url("/static/patgate.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
}

async fn authorization_responses_name_the_issuer(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (back, state, _) =
        approved_code(&app, "alice", "patgate-cli", "http://127.0.0.1:9/cb").await;
    assert!(query_value(&back, "code").is_some());
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_value(&back, "iss").as_deref(),
        Some(app.svc.config.issuer_id())
    );
}

async fn jwts_from_the_future_are_refused(db: TestDb) {
    let app = TestApp::start(&db).await;
    // Minted by an instance whose clock runs five minutes ahead.
    app.clock.advance(Duration::minutes(5));
    let ahead = api_jwt(&app, "alice").await;
    app.clock.advance(Duration::minutes(-5));
    let call = |jwt: String| {
        let req = app
            .http
            .get(app.url("/api/access-tokens/personal"))
            .bearer_auth(jwt);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(call(ahead).await, 401, "iat beyond the leeway");
    // Within the leeway (clock skew between instances) it is accepted.
    app.clock.advance(Duration::seconds(20));
    let slightly = api_jwt(&app, "bob").await;
    app.clock.advance(Duration::seconds(-20));
    assert_eq!(call(slightly).await, 200);
}

async fn the_device_approval_page_says_where_the_code_started(db: TestDb) {
    let app = TestApp::start(&db).await;
    let started: serde_json::Value = app
        .http
        .post(app.url("/api/auth/v1/device_authorization"))
        .header("user-agent", "evil-cli/6.6")
        .form(&[("client_id", "patgate-cli"), ("scope", "read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (browser, csrf) = crate::support::browser::signed_in(&app, "victim", false).await;
    let code = started["user_code"].as_str().unwrap();
    let res = browser
        .post("/device", &[("csrf", csrf.as_str()), ("user_code", code)])
        .await;
    let consent = location(&res).path().to_string();
    let (status, html, _) = browser.consent_page(&consent).await;
    assert_eq!(status, 200);
    for shown in [
        "Approve only a code you started yourself",
        "evil-cli/6.6",
        "127.0.0.1",
        "minutes ago",
    ] {
        assert!(html.contains(shown), "{shown} missing from the page");
    }
    // A redirect-mode consent has no such warning.
    let client = crate::support::browser::cli_client(&app, "patgate-cli", "http://127.0.0.1:9/cb");
    let (url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
    let path = location(&browser.get(url.as_str()).await)
        .path()
        .to_string();
    let (_, html, _) = browser.consent_page(&path).await;
    assert!(!html.contains("Approve only a code you started yourself"));
}

/// Signs in as `user` from `address` (through a trusted proxy); the status.
async fn sign_in_from(app: &TestApp, address: &str, user: &str, password: &str) -> u16 {
    let browser = Browser::new(app);
    let page = browser
        .http
        .get(app.url("/login"))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf").unwrap();
    let form = [
        ("username", user),
        ("password", password),
        ("csrf", csrf.as_str()),
        ("next", "/"),
    ];
    let res = browser
        .http
        .post(app.url("/login"))
        .header("x-forwarded-for", address)
        .form(&form)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn a_lockout_cannot_be_aimed_from_elsewhere(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("trusted_proxies".into(), vec!["127.0.0.1/32"].into());
    })
    .await;
    let password = "correct horse battery";
    app.add_user("alice", password, false).await;
    let attacker = "203.0.113.7";
    for _ in 0..8 {
        sign_in_from(&app, attacker, "alice", "guess").await;
    }
    assert_eq!(sign_in_from(&app, attacker, "alice", password).await, 429);
    assert_eq!(
        sign_in_from(&app, "198.51.100.9", "alice", password).await,
        303,
        "alice, from her own address, still signs in"
    );
}

async fn no_master_key_file_is_made_for_a_database_with_keys(db: TestDb) {
    let app = TestApp::start(&db).await; // signing keys now exist
    let elsewhere = tempfile::tempdir().unwrap();
    let mut table = base_config(&db);
    table.remove("master_key");
    table.insert(
        "data_dir".into(),
        elsewhere.path().display().to_string().into(),
    );
    let config = Config::from_table(table).unwrap();
    let result = app
        .blocking(move |_| Services::open(config).map(|_| ()))
        .await;
    let message = format!("{}", result.unwrap_err());
    assert!(message.contains("master key is missing"), "{message}");
    assert!(!elsewhere.path().join("master.key").exists());
    if db.url.starts_with("sqlite://") {
        use std::os::unix::fs::PermissionsExt;
        let file = db.url.trim_start_matches("sqlite://");
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the database file is private");
    }
}
