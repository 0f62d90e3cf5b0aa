//! Rotation with a grace period, and CIDR allowlists enforced at the
//! exchange behind trusted proxies only.

use crate::both_backends;
use crate::support::{assert_oauth_error, run, succeeded, token_id, write_config, TestApp, TestDb};
use chrono::Duration;
use patgate::error::{Conflict, OpError};
use patgate::policy::Principal;
use patgate::tokens::format::TokenKind;
use patgate::tokens::{rotate, IssueRequest, IssuedToken, Lookup, RequestedLifetime};

both_backends!(
    rotation_keeps_the_old_secret_only_for_the_grace_period,
    rotation_without_grace_stops_the_old_secret_at_once,
    cidr_allowlists_use_forwarded_for_only_from_trusted_proxies,
    operator_commands_rotate_and_restrict_tokens,
);

async fn rotated(app: &TestApp, pat: &str, grace: Duration) -> Result<IssuedToken, OpError> {
    let id = token_id(pat);
    let who = Principal::operator("test");
    app.blocking(move |s| rotate(s, &who, &id, Lookup::Any, grace.num_seconds()))
        .await
}

fn new_token(outcome: Result<IssuedToken, OpError>) -> String {
    match outcome {
        Ok(t) => t.raw.expose().to_string(),
        Err(e) => panic!("rotation failed: {e:?}"),
    }
}

async fn rotation_keeps_the_old_secret_only_for_the_grace_period(db: TestDb) {
    let app = TestApp::start(&db).await;
    let old = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&old).await; // cached
    let before = app.record(&token_id(&old)).await;
    let new = new_token(rotated(&app, &old, Duration::hours(1)).await);
    assert_eq!(token_id(&new), token_id(&old), "same id");
    assert_ne!(new, old);
    let after = app.record(&token_id(&old)).await;
    assert_eq!(
        (after.name, after.scopes, after.expires_at),
        (before.name, before.scopes, before.expires_at)
    );
    app.exchange_ok(&old).await;
    app.exchange_ok(&new).await;
    app.clock.advance(Duration::minutes(61));
    assert_oauth_error(app.exchange(&old).await, 400, "invalid_grant").await;
    app.exchange_ok(&new).await;
}

async fn rotation_without_grace_stops_the_old_secret_at_once(db: TestDb) {
    let app = TestApp::start(&db).await;
    let old = app
        .issue("alice", "ci", &[], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&old).await; // the old secret is in the verified cache
    let new = new_token(rotated(&app, &old, Duration::zero()).await);
    assert_oauth_error(app.exchange(&old).await, 400, "invalid_grant").await;
    app.exchange_ok(&new).await;
    assert!(matches!(
        rotated(&app, &new, Duration::days(8)).await,
        Err(OpError::Invalid(v)) if v.field == "graceSeconds"
    ));
    assert!(matches!(
        rotated(&app, &new, Duration::seconds(-1)).await,
        Err(OpError::Invalid(_))
    ));
    let id = token_id(&new);
    app.revoke(&id, "test").await;
    assert!(matches!(
        rotated(&app, &new, Duration::zero()).await,
        Err(OpError::Conflict(Conflict::Inactive))
    ));
}

async fn issue_with_cidrs(app: &TestApp, name: &str, cidrs: &[&str]) -> String {
    app.issue_request(IssueRequest {
        cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        ..IssueRequest::new(TokenKind::Service, "deploy", name, vec![])
    })
    .await
}

async fn exchange_from(app: &TestApp, pat: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)]);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.unwrap()
}

async fn cidr_allowlists_use_forwarded_for_only_from_trusted_proxies(db: TestDb) {
    // The test client connects from 127.0.0.1, which this app does not trust.
    let direct = TestApp::start(&db).await;
    let local = issue_with_cidrs(&direct, "local", &["127.0.0.1"]).await;
    let office = issue_with_cidrs(&direct, "office", &["10.0.0.0/8", "2001:db8::/32"]).await;
    assert_eq!(exchange_from(&direct, &local, None).await.status(), 200);
    assert_oauth_error(
        exchange_from(&direct, &office, None).await,
        400,
        "invalid_grant",
    )
    .await;
    let spoofed = exchange_from(&direct, &office, Some("10.1.2.3")).await;
    assert_oauth_error(spoofed, 400, "invalid_grant").await;
    // Behind a trusted proxy (here: loopback), the forwarded hop counts.
    let proxied = TestApp::start_with(&db, |t| {
        t.insert(
            "trusted_proxies".into(),
            toml::Value::Array(vec!["127.0.0.0/8".into()]),
        );
    })
    .await;
    assert_eq!(
        exchange_from(&proxied, &office, Some("192.0.2.7, 10.1.2.3"))
            .await
            .status(),
        200
    );
    assert_eq!(
        proxied
            .record(&token_id(&office))
            .await
            .last_used_ip
            .as_deref(),
        Some("10.1.2.3")
    );
    assert_oauth_error(
        exchange_from(&proxied, &office, Some("10.1.2.3, 192.0.2.7")).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        exchange_from(&proxied, &local, Some("192.0.2.7")).await,
        400,
        "invalid_grant",
    )
    .await;
    let invalid = proxied
        .blocking(|s| {
            let req = IssueRequest {
                cidrs: vec!["10.0.0.0/33".into()],
                ..IssueRequest::new(TokenKind::Service, "deploy", "bad", vec![])
            };
            patgate::tokens::issue(s, &Principal::operator("test"), req)
        })
        .await;
    assert!(matches!(invalid, Err(OpError::Invalid(v)) if v.field == "cidrs"));
}

async fn operator_commands_rotate_and_restrict_tokens(db: TestDb) {
    let config = write_config(&db, |_| {});
    let ok = |out| succeeded(out).trim().to_string();
    let pat = ok(run(
        &config,
        &[
            "admin",
            "token",
            "issue",
            "--owner",
            "ci",
            "--name",
            "n",
            "--cidr",
            "10.0.0.0/8",
            "--cidr",
            "192.168.1.9",
        ],
    ));
    let id = token_id(&pat);
    let rotated = ok(run(
        &config,
        &["admin", "token", "rotate", &id, "--grace", "1d"],
    ));
    assert_eq!(token_id(&rotated), id);
    assert_ne!(rotated, pat);
    assert!(
        !run(&config, &["admin", "token", "rotate", &id, "--grace", "8d"])
            .status
            .success()
    );
    assert!(!run(
        &config,
        &["admin", "token", "issue", "--owner", "ci", "--name", "m", "--cidr", "nope"]
    )
    .status
    .success());
    let listed = ok(run(&config, &["admin", "token", "list", "--json"]));
    let newest: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(
        newest["cidrs"],
        serde_json::json!(["10.0.0.0/8", "192.168.1.9/32"])
    );
}
