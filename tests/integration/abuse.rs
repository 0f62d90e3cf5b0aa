//! Abuse from outside, as it was observed, and what patgate does now:
//! wrong secrets stop costing argon2 after a few a minute (per token id and
//! per address) while the holder is never slowed; anonymous writes are
//! limited per address; a full hashing lane answers 503 at once without
//! delaying the other lanes; what a caller sends is bounded (never a 5xx,
//! never stored as is); anonymous sessions go at expiry.

use crate::both_backends;
use crate::support::browser::location;
use crate::support::{assert_oauth_error, token_id, wrong_secret, TestApp, TestDb};
use chrono::Duration;
use patgate::secret::lanes::Lane;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use serde_json::Value;

both_backends!(
    wrong_secrets_stop_costing_argon2_and_the_holder_is_not_slowed,
    full_verifications_are_limited_per_address,
    anonymous_writes_are_limited_per_address,
    a_full_hashing_lane_refuses_at_once_and_other_lanes_go_on,
    what_a_caller_sends_is_bounded_and_never_a_server_error,
    anonymous_authorization_sessions_go_when_they_expire,
    sso_starts_are_anonymous_writes_too,
);

/// `[limits]` of a test: the given figures, the rest off.
fn limits(per_token: i64, per_address: i64, anonymous: i64) -> impl FnOnce(&mut toml::Table) {
    move |t: &mut toml::Table| {
        let mut l = toml::Table::new();
        l.insert("cold_exchanges_per_token".into(), per_token.into());
        l.insert("cold_exchanges_per_address".into(), per_address.into());
        l.insert("anonymous_writes_per_address".into(), anonymous.into());
        t.insert("limits".into(), l.into());
    }
}

/// How many authorization sessions are stored.
async fn sessions(app: &TestApp) -> i64 {
    app.blocking(|s| {
        use diesel::prelude::*;
        use patgate::store::schema::authorization_sessions::dsl as a;
        a::authorization_sessions
            .count()
            .get_result::<i64>(&mut **s.conn().unwrap())
            .unwrap()
    })
    .await
}

async fn verifications(app: &TestApp) -> u64 {
    app.svc.hasher.verifications()
}

async fn wrong_secrets_stop_costing_argon2_and_the_holder_is_not_slowed(db: TestDb) {
    let app = TestApp::start_with(&db, limits(4, 0, 0)).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    // The holder's first exchange is a full verification (one of four);
    // its secret is cached from then on.
    app.exchange_ok(&pat).await;
    let forged = wrong_secret(&pat);
    for _ in 0..3 {
        assert_oauth_error(app.exchange(&forged).await, 400, "invalid_grant").await;
    }
    let before = verifications(&app).await;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let res = app.exchange(&forged).await;
        // A refusal is answered after a short delay (no CPU spent), so a
        // flood that waits for its answers cannot spin the server.
        assert!(started.elapsed() >= std::time::Duration::from_millis(100));
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        assert_oauth_error(res, 429, "temporarily_unavailable").await;
    }
    assert_eq!(
        verifications(&app).await,
        before,
        "a throttled guess costs no argon2"
    );
    // The holder, whose secret is cached, is not slowed at all.
    for _ in 0..10 {
        app.exchange_ok(&pat).await;
    }
    // Other tokens have their own budget.
    let other = app
        .issue("bob", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&other).await;
    // The audit log has the three wrong secrets; the 20 guesses refused
    // before any database work are one summary line in the log.
    let lines = app.state.refusals.summarise();
    assert_eq!(
        lines, 3,
        "wrong secrets, the limit, and 429s in the access log"
    );
    app.flush_counts().await;
    let id = token_id(&pat);
    let trail = app
        .blocking(move |s| s.read(|tx| patgate::audit::for_token(tx.conn, &id, None, 50)))
        .await
        .unwrap();
    let count = |reason: &str| {
        trail
            .events
            .iter()
            .filter(|e| e.details["reason"] == reason)
            .map(|e| e.count)
            .sum::<i32>()
    };
    assert_eq!((count("wrong_secret"), count("throttled")), (3, 0));
}

async fn full_verifications_are_limited_per_address(db: TestDb) {
    let app = TestApp::start_with(&db, limits(0, 2, 0)).await;
    let mut forged = Vec::new();
    for name in ["a", "b", "c"] {
        let pat = app
            .issue("alice", name, &["read"], RequestedLifetime::Default)
            .await;
        forged.push(wrong_secret(&pat));
    }
    assert_oauth_error(app.exchange(&forged[0]).await, 400, "invalid_grant").await;
    assert_oauth_error(app.exchange(&forged[1]).await, 400, "invalid_grant").await;
    assert_oauth_error(
        app.exchange(&forged[2]).await,
        429,
        "temporarily_unavailable",
    )
    .await;
    // Client secrets count too: a wrong one for a confidential client.
    let res = app
        .http
        .post(app.url("/api/auth/v1/introspect"))
        .basic_auth("webapp", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

async fn anonymous_writes_are_limited_per_address(db: TestDb) {
    let app = TestApp::start_with(&db, limits(0, 0, 3)).await;
    let browser = crate::support::browser::Browser::new(&app);
    let client = crate::support::browser::cli_client(&app, "patgate-cli", "http://127.0.0.1:9/cb");
    for _ in 0..2 {
        let (url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
        assert_eq!(browser.get(url.as_str()).await.status(), 302);
    }
    crate::device_grant::start(&app).await;
    let (url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
    let refused = browser.get(url.as_str()).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let text = refused.text().await.unwrap();
    assert!(text.contains("Too many requests"), "{text}");
    let res = app
        .http
        .post(app.url("/api/auth/v1/device_authorization"))
        .form(&[("client_id", "patgate-cli"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 429, "temporarily_unavailable").await;
    assert_eq!(
        browser.post("/login", &[("username", "a")]).await.status(),
        429
    );
    assert_eq!(sessions(&app).await, 3, "refused requests stored nothing");
}

async fn a_full_hashing_lane_refuses_at_once_and_other_lanes_go_on(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t["hashing"]
            .as_table_mut()
            .unwrap()
            .insert("max_concurrent".into(), 1.into());
        let mut l = toml::Table::new();
        l.insert("hashing_queue".into(), 0.into());
        t.insert("limits".into(), l.into());
    })
    .await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let svc = app.svc.clone();
    let held = svc.lanes.turn(Lane::Exchange).await.unwrap();
    let started = std::time::Instant::now();
    let res = app.exchange(&pat).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_oauth_error(res, 503, "temporarily_unavailable").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Revocation (the client lane) is not behind the exchanges.
    let revoked = app
        .http
        .post(app.url("/api/auth/v1/revoke"))
        .form(&[("token", "pat_unknown.x"), ("client_id", "patgate-cli")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    drop(held);
    app.exchange_ok(&pat).await;
}

async fn what_a_caller_sends_is_bounded_and_never_a_server_error(db: TestDb) {
    let app = TestApp::start(&db).await;
    let browser = crate::support::browser::Browser::new(&app);
    let client = crate::support::browser::cli_client(&app, "patgate-cli", "http://127.0.0.1:9/cb");
    let (mut url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "state")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs.iter())
        .append_pair("state", &"s".repeat(1025));
    let back = location(&browser.get(url.as_str()).await);
    let query: std::collections::HashMap<_, _> = back.query_pairs().collect();
    assert_eq!(query["error"], "invalid_request");
    assert!(!query.contains_key("state"), "a huge state is not echoed");
    assert_eq!(query["iss"], app.base.as_str().trim_end_matches('/'));
    // A 250,000-character state by POST: refused before anything is stored.
    let mut form: Vec<(String, String)> = pairs.clone();
    form.push(("state".into(), "s".repeat(250_000)));
    let res = app
        .http
        .post(app.url("/api/auth/v1/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Search texts longer than any name: 400, not the 500 SQLite gave.
    let admin = app
        .issue_request(IssueRequest {
            is_admin: true,
            ..IssueRequest::new(
                TokenKind::Personal,
                "root",
                "admin",
                vec!["patgate:admin".into()],
            )
        })
        .await;
    let jwt = app.jwt_for(&admin).await;
    let long = "a".repeat(50_000);
    for path in [
        "/api/access-tokens/service",
        "/api/access-tokens/service?owner=x",
    ] {
        let mut u = app.url(path);
        u.query_pairs_mut().append_pair("q", &long);
        let res = app.http.get(u).bearer_auth(&jwt).send().await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
    }
    // Grace periods out of range: the caller's mistake.
    let pat = app
        .issue("root", "rotating", &["read"], RequestedLifetime::Default)
        .await;
    let rotate = app.url(&format!(
        "/api/access-tokens/personal/{}/rotate",
        token_id(&pat)
    ));
    let own = app
        .issue_request(IssueRequest::new(
            TokenKind::Personal,
            "root",
            "api",
            crate::support::TOKEN_API_SCOPES.map(String::from).to_vec(),
        ))
        .await;
    let own_jwt = app.jwt_for(&own).await;
    for grace in ["9223372036854775807", "-9223372036854775808", "1e30"] {
        let body = format!("{{\"graceSeconds\": {grace}}}");
        let res = app
            .http
            .post(rotate.clone())
            .bearer_auth(&own_jwt)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{grace}: {}", res.status());
    }
    // Too many parameters on the token endpoint.
    let many: Vec<(String, String)> = (0..100).map(|i| (format!("p{i}"), "v".into())).collect();
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .form(&many)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 400, "invalid_request").await;
    let body: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
}

async fn anonymous_authorization_sessions_go_when_they_expire(db: TestDb) {
    let app = TestApp::start(&db).await;
    let browser = crate::support::browser::Browser::new(&app);
    let client = crate::support::browser::cli_client(&app, "patgate-cli", "http://127.0.0.1:9/cb");
    for _ in 0..3 {
        let (url, _, _) = crate::support::browser::authorize_url(&client, &["read"]);
        assert_eq!(browser.get(url.as_str()).await.status(), 302);
    }
    assert_eq!(sessions(&app).await, 3);
    app.blocking(|s| s.purge_expired().unwrap()).await;
    assert_eq!(sessions(&app).await, 3, "not before they expire");
    app.clock.advance(Duration::minutes(11));
    app.blocking(|s| s.purge_expired().unwrap()).await;
    assert_eq!(sessions(&app).await, 0, "gone at expiry, not a day later");
}

async fn sso_starts_are_anonymous_writes_too(db: TestDb) {
    let provider = crate::support::oidc::TestProvider::start();
    let limits = "[limits]\nanonymous_writes_per_address = 2\n";
    let app = crate::sso::app_with(&db, &provider, limits).await;
    let browser = crate::support::browser::Browser::new(&app);
    for _ in 0..2 {
        assert_eq!(browser.get("/login/sso/idp").await.status(), 303);
    }
    let refused = browser.get("/login/sso/idp").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}
