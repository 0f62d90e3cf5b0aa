//! The PAT → JWT exchange: happy paths, claims, the hot path's caching and
//! last-used bookkeeping.

use crate::both_backends;
use crate::support::{assert_oauth_error, token_id, verify_jwt, TestApp, TestDb};
use chrono::Duration;
use patgate::store::tokens::{insert, NewToken};
use patgate::tokens::format::{generate, TokenKind};
use patgate::tokens::RequestedLifetime;
use serde_json::Value;

both_backends!(
    issued_pat_exchanges_for_a_verifiable_rfc9068_jwt,
    json_body_and_scope_narrowing,
    last_used_is_written_at_most_once_a_minute,
    verified_secrets_skip_argon2_but_not_the_database,
    scrypt_registered_token_exchanges,
);

async fn issued_pat_exchanges_for_a_verifiable_rfc9068_jwt(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue(
            "alice",
            "laptop",
            &["read", "write"],
            RequestedLifetime::Default,
        )
        .await;
    assert!(pat.starts_with("pat_"));
    let body = app.exchange_ok(&pat).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "read write");
    assert!(
        body.get("refresh_token").is_none(),
        "the PAT does not rotate"
    );
    let jwt = body["access_token"].as_str().unwrap();
    let issuer = app.svc.config.issuer_id();
    let claims = verify_jwt(jwt, &app.jwks().await, issuer, issuer).expect("JWT verifies");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["client_id"], "patgate");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["token_id"], token_id(&pat));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 32));
    // The same PAT keeps working, and each JWT is distinct.
    let again = app.exchange_ok(&pat).await;
    assert_ne!(again["access_token"], body["access_token"]);
    // A wrong audience is refused by the verifier (the check is real).
    assert!(verify_jwt(jwt, &app.jwks().await, issuer, "https://elsewhere").is_err());
}

async fn json_body_and_scope_narrowing(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("bob", "ci", &["read", "write"], RequestedLifetime::Default)
        .await;
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .json(&serde_json::json!({"grant_type": "refresh_token", "refresh_token": pat, "scope": "read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    let res = app
        .token_form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &pat),
            ("scope", "read admin"),
        ])
        .await;
    assert_oauth_error(res, 400, "invalid_scope").await;
}

async fn last_used_is_written_at_most_once_a_minute(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("carol", "t", &[], RequestedLifetime::Default)
        .await;
    let id = token_id(&pat);
    assert_eq!(app.record(&id).await.last_used_at, None);
    app.exchange_ok(&pat).await;
    let first = app.record(&id).await;
    assert_eq!(first.last_used_at, Some(app.svc.now()));
    assert_eq!(first.last_used_ip.as_deref(), Some("127.0.0.1"));
    app.clock.advance(Duration::seconds(30));
    app.exchange_ok(&pat).await;
    assert_eq!(
        app.record(&id).await.last_used_at,
        first.last_used_at,
        "not rewritten within a minute"
    );
    app.clock.advance(Duration::seconds(31));
    app.exchange_ok(&pat).await;
    assert_eq!(app.record(&id).await.last_used_at, Some(app.svc.now()));
}

async fn verified_secrets_skip_argon2_but_not_the_database(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("dave", "t", &[], RequestedLifetime::Default)
        .await;
    let before = app.svc.hasher.verifications();
    for _ in 0..3 {
        app.exchange_ok(&pat).await;
    }
    assert_eq!(
        app.svc.hasher.verifications() - before,
        1,
        "one full verification, then the cache"
    );
    // The cache never overrides the database: a revoked token is refused at once.
    let id = token_id(&pat);
    app.revoke(&id, "test").await;
    assert_oauth_error(app.exchange(&pat).await, 400, "invalid_grant").await;
}

async fn scrypt_registered_token_exchanges(db: TestDb) {
    use scrypt::password_hash::CustomizedPasswordHasher;
    let app = TestApp::start(&db).await;
    let token = generate(TokenKind::Service, None, &patgate::clock::OsRandom);
    let phc = scrypt::Scrypt::new()
        .hash_password_with_params(
            token.secret.expose().as_bytes(),
            b"saltsaltsaltsalt",
            scrypt::Params::new(10, 8, 1).unwrap(),
        )
        .unwrap()
        .to_string();
    let id = token.id.clone();
    app.blocking(move |s| {
        let now = s.now();
        insert(
            &mut s.conn().unwrap(),
            &NewToken {
                id: &id,
                kind: patgate::store::TokenKind::Service,
                owner: "deploy-bot",
                name: "imported",
                description: None,
                scopes: &["deploy".to_string()],
                is_admin: false,
                secret_hash: &phc,
                client_id: None,
                created_at: now,
                expires_at: None,
                cidrs: &[],
                bound_client_id: None,
                dpop_jkt: None,
                resources: &[],
            },
        )
    })
    .await
    .unwrap();
    let body = app.exchange_ok(token.raw.expose()).await;
    assert_eq!(body["scope"], "deploy");
}
