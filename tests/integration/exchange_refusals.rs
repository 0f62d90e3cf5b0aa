//! Every refused exchange: the right RFC 6749 §5.2 error, one message for all
//! refused tokens, and nothing changed.

use crate::both_backends;
use crate::support::{assert_oauth_error, token_id, TestApp, TestDb};
use chrono::Duration;
use patgate::clock::{random_alphanumeric, OsRandom};
use patgate::config::Ttl;
use patgate::tokens::format::{with_checksum, SECRET_RANDOM_LEN};
use patgate::tokens::RequestedLifetime;

both_backends!(
    revoked_expired_wrong_secret_and_unknown_share_one_answer,
    malformed_truncated_and_oversized_tokens_are_refused,
    bad_requests_get_the_right_error_and_change_nothing,
);

/// A token with `id`, a fresh secret and a valid checksum.
fn forged(prefix: &str, id: &str) -> String {
    with_checksum(&format!(
        "{prefix}_{id}.{}",
        random_alphanumeric(&OsRandom, SECRET_RANDOM_LEN)
    ))
}

async fn revoked_expired_wrong_secret_and_unknown_share_one_answer(db: TestDb) {
    let app = TestApp::start(&db).await;
    let revoked = app
        .issue("erin", "revoked", &[], RequestedLifetime::Default)
        .await;
    let expiring = app
        .issue(
            "erin",
            "short",
            &[],
            RequestedLifetime::For(Ttl::minutes(60)),
        )
        .await;
    let live = app
        .issue("erin", "live", &[], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&revoked).await;
    app.exchange_ok(&expiring).await;
    let id = token_id(&revoked);
    app.revoke(&id, "test").await;
    app.clock.advance(Duration::minutes(61));

    let live_before = app.record(&token_id(&live)).await;
    let cases = [
        ("revoked", revoked.clone()),
        ("expired", expiring.clone()),
        ("wrong secret", forged("pat", &token_id(&live))),
        ("wrong kind", live.replacen("pat_", "sat_", 1)),
        ("unknown id", forged("pat", "AAAAAAAAAAAAAAAAAAAAA")),
    ];
    let mut descriptions = Vec::new();
    for (case, token) in &cases {
        let body = assert_oauth_error(app.exchange(token).await, 400, "invalid_grant").await;
        descriptions.push((case, body["error_description"].clone()));
    }
    assert!(
        descriptions.windows(2).all(|w| w[0].1 == w[1].1),
        "one message for all: {descriptions:?}"
    );
    // Nothing changed: the live token's record is as it was, and it still works.
    assert_eq!(app.record(&token_id(&live)).await, live_before);
    app.exchange_ok(&live).await;
    // The revoked one stays revoked, by whom it was revoked.
    let r = app.record(&token_id(&revoked)).await;
    assert_eq!(r.revoked_by.as_deref(), Some("cli:test"));
}

async fn malformed_truncated_and_oversized_tokens_are_refused(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("frank", "t", &[], RequestedLifetime::Default)
        .await;
    let before = app.record(&token_id(&pat)).await;
    let mut flipped = pat.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let cases = [
        pat[..pat.len() - 1].to_string(),
        pat[..10].to_string(),
        String::from_utf8(flipped).unwrap(),
        format!("{pat}x"),
        format!(" {pat}"),
        "pat_".to_string(),
        "not a token at all".to_string(),
        "x".repeat(8000),
        pat.replace('.', "_"),
    ];
    for token in &cases {
        assert_oauth_error(app.exchange(token).await, 400, "invalid_grant").await;
    }
    assert_eq!(
        app.record(&token_id(&pat)).await,
        before,
        "no bad token touched the record"
    );
}

async fn bad_requests_get_the_right_error_and_change_nothing(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("grace", "t", &[], RequestedLifetime::Default)
        .await;
    let before = app.record(&token_id(&pat)).await;
    let post = |body: String, content_type: &'static str| {
        app.http
            .post(app.url("/api/auth/v1/token"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    let cases: Vec<(String, &str, u16, &str)> = vec![
        ("refresh_token=x".into(), form, 400, "invalid_request"),
        (
            "grant_type=refresh_token".into(),
            form,
            400,
            "invalid_request",
        ),
        (
            "grant_type=refresh_token&refresh_token=".into(),
            form,
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=refresh_token&refresh_token={pat}&refresh_token={pat}"),
            form,
            400,
            "invalid_request",
        ),
        (
            "grant_type=password&username=a&password=b".into(),
            form,
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials".into(),
            form,
            400,
            "unsupported_grant_type",
        ),
        (
            "{\"grant_type\": \"refresh_token\"".into(),
            "application/json",
            400,
            "invalid_request",
        ),
        ("[1,2]".into(), "application/json", 400, "invalid_request"),
        (
            "{\"grant_type\": 5}".into(),
            "application/json",
            400,
            "invalid_request",
        ),
        (
            format!("grant_type=refresh_token&refresh_token={pat}"),
            "text/plain",
            400,
            "invalid_request",
        ),
        (
            format!(
                "grant_type=refresh_token&refresh_token={pat}&pad={}",
                "a".repeat(20_000)
            ),
            form,
            413,
            "invalid_request",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let res = post(body.clone(), content_type).await.unwrap();
        assert_eq!(res.status(), status, "{content_type} {:.80}", body);
        assert_oauth_error(res, status, code).await;
    }
    assert_eq!(
        app.record(&token_id(&pat)).await,
        before,
        "no bad request touched the record"
    );
    app.exchange_ok(&pat).await;
}
