//! The low findings of issue #20: token names and descriptions that would
//! read as something else (bidi controls, zero-width characters) are
//! refused on every creation path and nothing is stored; the sign-in
//! lockout counts an IPv6 /64 as one address; `/device` refuses a flood of
//! user-code guesses from one person or one address (RFC 8628 §5.1).

use crate::both_backends;
use crate::holes_tokens::bearer;
use crate::support::browser::{hidden_value, Browser, PASSWORD};
use crate::support::{TestApp, TestDb};
use patgate::tokens::RequestedLifetime;
use reqwest::Method;
use serde_json::json;

both_backends!(
    names_that_read_as_something_else_are_refused,
    sign_in_failures_count_per_64,
    device_code_guesses_are_limited,
);

async fn names_that_read_as_something_else_are_refused(db: TestDb) {
    let app = TestApp::start(&db).await;
    let (_, jwt) = app.token_api_jwt("alice", "cli").await;
    let root = app
        .issue(
            "root",
            "ops",
            &["patgate:admin"],
            RequestedLifetime::Default,
        )
        .await;
    app.add_user("root", PASSWORD, true).await;
    let admin_jwt = app.jwt_for(&root).await;
    let before = app.all_tokens().await.len();
    for name in [
        "invoice\u{202E}fdp.exe",
        "de\u{200B}ploy",
        "\u{2067}prod\u{2069}",
    ] {
        let body = json!({"name": name, "scopes": ["patgate:tokens:read"]});
        let (status, answer, _) = bearer(
            &app,
            Method::POST,
            "/api/access-tokens/personal",
            &jwt,
            Some(body),
        )
        .await;
        assert_eq!(status, 422, "{name:?}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("invisible or direction-changing"),
            "{message}"
        );
    }
    let body =
        json!({"name": "svc", "owner": "ci", "scopes": ["read"], "description": "safe\u{202D}txt"});
    let (status, _, _) = bearer(
        &app,
        Method::POST,
        "/api/access-tokens/service",
        &admin_jwt,
        Some(body),
    )
    .await;
    assert_eq!(status, 422, "a description too");
    let compat = crate::holes_tokens::compat_admin_jwt(&app).await;
    let before_compat = app.all_tokens().await.len();
    let body = json!({"owner": "ops\u{202E}", "roles": ["reader"]});
    let (status, _, _) = bearer(&app, Method::POST, "/admin/tokens", &compat, Some(body)).await;
    assert_eq!(status, 400, "an owner through the compatible API");
    assert_eq!(app.all_tokens().await.len(), before_compat);
    assert_eq!(
        before_compat,
        before + 1,
        "only the compat admin token was added"
    );
}

async fn sign_in_failures_count_per_64(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("trusted_proxies".into(), vec!["127.0.0.1/32"].into());
    })
    .await;
    app.add_user("alice", PASSWORD, false).await;
    // Failures rotated across one /64: more than the five free ones.
    for i in 1..=8 {
        let from = Browser::forwarded_for(&app, &format!("2001:db8:1:2::{i:x}"));
        from.sign_in("alice", "wrong", "/").await;
    }
    let same_64 = Browser::forwarded_for(&app, "2001:db8:1:2:ffff::1");
    let res = same_64.sign_in("alice", PASSWORD, "/").await;
    assert_eq!(res.status(), 429, "the /64 is one address");
    let other_64 = Browser::forwarded_for(&app, "2001:db8:1:3::1");
    let res = other_64.sign_in("alice", PASSWORD, "/").await;
    assert_eq!(res.status(), 303, "another block is not locked out");
}

/// `user` signed in through a browser whose requests come from `address`.
async fn signed_in_from(app: &TestApp, user: &str, address: &str) -> (Browser, String) {
    app.add_user(user, PASSWORD, false).await;
    let browser = Browser::forwarded_for(app, address);
    assert_eq!(browser.sign_in(user, PASSWORD, "/").await.status(), 303);
    let home = browser.get("/").await.text().await.unwrap();
    (browser, hidden_value(&home, "csrf").unwrap())
}

async fn device_code_guesses_are_limited(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("trusted_proxies".into(), vec!["127.0.0.1/32"].into());
    })
    .await;
    let (browser, csrf) = signed_in_from(&app, "alice", "192.0.2.1").await;
    let started = crate::device_grant::start(&app).await;
    let real = started["user_code"].as_str().unwrap().to_string();
    let mut statuses = Vec::new();
    for i in 0..12 {
        let guess = format!("BCDF-{:04}", i);
        let res = browser
            .post(
                "/device",
                &[("user_code", guess.as_str()), ("csrf", csrf.as_str())],
            )
            .await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(&statuses[..10], [400; 10], "wrong codes: the form again");
    assert_eq!(&statuses[10..], [429, 429], "then refused: {statuses:?}");
    let res = browser
        .post(
            "/device",
            &[("user_code", real.as_str()), ("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), 429, "even the right code waits");
    // Another person at another address is not slowed by alice's guesses.
    let (bob, bob_csrf) = signed_in_from(&app, "bob", "198.51.100.2").await;
    let res = bob
        .post(
            "/device",
            &[("user_code", real.as_str()), ("csrf", bob_csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);
    // Nor does alice go faster from a second session at her address.
    let second = Browser::forwarded_for(&app, "192.0.2.1");
    assert_eq!(second.sign_in("alice", PASSWORD, "/").await.status(), 303);
    let home = second.get("/").await.text().await.unwrap();
    let csrf = hidden_value(&home, "csrf").unwrap();
    let res = second
        .post(
            "/device",
            &[("user_code", "BCDF-9999"), ("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), 429, "counted per person, not per session");
}
