//! `/api/access-tokens/personal`: JSON shapes, status codes, and who may do
//! what, with a Bearer access token or a browser session plus CSRF header.

use crate::both_backends;
use crate::support::browser::{hidden_value, Browser};
use crate::support::{token_id, TestApp, TestDb};
use chrono::Duration;
use patgate::tokens::RequestedLifetime;
use serde_json::Value;

both_backends!(
    bearer_tokens_manage_their_owners_tokens,
    refusals_are_json_with_the_right_status,
    a_browser_session_needs_its_csrf_header
);

const TOKEN_KEYS: [&str; 16] = [
    "id",
    "kind",
    "name",
    "owner",
    "description",
    "scopes",
    "prefix",
    "clientId",
    "cidrs",
    "createdAt",
    "expiresAt",
    "lastUsedAt",
    "lastUsedIp",
    "revokedAt",
    "revokedBy",
    "status",
];

/// A resource scope and the scopes that manage one's own tokens.
const MANAGER_SCOPES: [&str; 4] = [
    "read",
    "patgate:tokens:read",
    "patgate:tokens:write",
    "patgate:tokens:revoke",
];

async fn jwt_for(app: &TestApp, pat: &str) -> String {
    app.exchange_ok(pat).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    jwt: Option<&str>,
) -> reqwest::RequestBuilder {
    let req = app.http.request(
        method,
        app.url(&format!("/api/access-tokens/personal{path}")),
    );
    match jwt {
        Some(j) => req.bearer_auth(j),
        None => req,
    }
}

async fn error_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

async fn bearer_tokens_manage_their_owners_tokens(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "laptop",
            &MANAGER_SCOPES,
            RequestedLifetime::Default,
        )
        .await;
    let spare = app
        .issue("alice", "spare", &[], RequestedLifetime::Default)
        .await;
    app.issue("bob", "bobs", &[], RequestedLifetime::Default)
        .await;
    let jwt = jwt_for(&app, &pat).await;
    use reqwest::Method as M;

    let list: Value = api(&app, M::GET, "", Some(&jwt))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "only alice's: {names:?}");
    let one: Value = api(&app, M::GET, &format!("/{}", token_id(&pat)), Some(&jwt))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in TOKEN_KEYS {
        assert!(one.get(key).is_some(), "{key} missing in {one}");
    }
    assert_eq!(
        (
            one["kind"].as_str(),
            one["status"].as_str(),
            one["lastUsedIp"].as_str()
        ),
        (Some("personal"), Some("active"), Some("127.0.0.1"))
    );
    assert!(one["revokedAt"].is_null() && one["createdAt"].as_str().unwrap().ends_with('Z'));

    let spare_id = token_id(&spare);
    app.clock.advance(Duration::seconds(1));
    let res = api(&app, M::POST, &format!("/{spare_id}/rotate"), Some(&jwt))
        .json(&serde_json::json!({"graceSeconds": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let raw = rotated["rawToken"].as_str().unwrap();
    assert_eq!(token_id(raw), spare_id);
    app.exchange_ok(raw).await;
    app.exchange_ok(&spare).await; // within the grace period
    let res = api(&app, M::POST, &format!("/{spare_id}/rotate"), Some(&jwt))
        .json(&serde_json::json!({"graceSeconds": 700000}))
        .send()
        .await
        .unwrap();
    error_of(res, 422).await;

    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        api(&app, M::DELETE, &format!("/{spare_id}"), Some(&jwt))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    error_of(
        api(&app, M::DELETE, &format!("/{spare_id}"), Some(&jwt))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    let trail: Value = api(&app, M::GET, &format!("/{spare_id}/audit"), Some(&jwt))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        events.starts_with(&["revoked", "rotated"]) && events.contains(&"created"),
        "{events:?}"
    );
    let event = &trail["events"][0];
    for key in [
        "id",
        "tokenId",
        "event",
        "actor",
        "ip",
        "userAgent",
        "count",
        "details",
        "occurredAt",
    ] {
        assert!(event.get(key).is_some(), "{key} missing in {event}");
    }
    assert_eq!(event["actor"], "alice");
}

async fn refusals_are_json_with_the_right_status(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "laptop",
            &MANAGER_SCOPES,
            RequestedLifetime::Default,
        )
        .await;
    let bobs = app
        .issue("bob", "bobs", &[], RequestedLifetime::Default)
        .await;
    let jwt = jwt_for(&app, &pat).await;
    use reqwest::Method as M;
    let res = api(&app, M::GET, "", None).send().await.unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"patgate\""
    );
    error_of(res, 401).await;
    error_of(
        api(&app, M::GET, "", Some("not-a-jwt"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let forged = format!("{}x", &jwt[..jwt.len() - 1]);
    error_of(
        api(&app, M::GET, "", Some(&forged)).send().await.unwrap(),
        401,
    )
    .await;
    // Another user's token is as good as missing.
    let bob_id = token_id(&bobs);
    for (method, path) in [
        (M::GET, format!("/{bob_id}")),
        (M::DELETE, format!("/{bob_id}")),
        (M::GET, format!("/{bob_id}/audit")),
        (M::POST, format!("/{bob_id}/rotate")),
    ] {
        error_of(
            api(&app, method, &path, Some(&jwt)).send().await.unwrap(),
            404,
        )
        .await;
    }
    app.exchange_ok(&bobs).await; // still working
    let res = api(
        &app,
        M::POST,
        &format!("/{}/rotate", token_id(&pat)),
        Some(&jwt),
    )
    .header("content-type", "application/json")
    .body("{")
    .send()
    .await
    .unwrap();
    error_of(res, 400).await;
    // An expired JWT, and one whose PAT was revoked, are refused.
    app.clock.advance(Duration::minutes(11));
    error_of(api(&app, M::GET, "", Some(&jwt)).send().await.unwrap(), 401).await;
    let fresh = jwt_for(&app, &pat).await;
    assert_eq!(
        api(&app, M::GET, "", Some(&fresh))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let id = token_id(&pat);
    app.revoke(&id, "admin").await;
    error_of(
        api(&app, M::GET, "", Some(&fresh)).send().await.unwrap(),
        401,
    )
    .await;
}

async fn a_browser_session_needs_its_csrf_header(db: TestDb) {
    let app = TestApp::start(&db).await;
    app.add_user("carol", "correct horse battery", false).await;
    let pat = app
        .issue("carol", "ci", &[], RequestedLifetime::Default)
        .await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser
            .sign_in("carol", "correct horse battery", "/")
            .await
            .status(),
        303
    );
    let csrf = hidden_value(&browser.get("/").await.text().await.unwrap(), "csrf").unwrap();
    let url = app.url(&format!("/api/access-tokens/personal/{}", token_id(&pat)));
    let list = browser
        .http
        .get(app.url("/api/access-tokens/personal"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200, "reading needs no CSRF header");
    error_of(browser.http.delete(url.clone()).send().await.unwrap(), 403).await;
    error_of(
        browser
            .http
            .delete(url.clone())
            .header("x-csrf-token", "wrong")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert_eq!(
        browser
            .http
            .delete(url)
            .header("x-csrf-token", csrf)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
}
