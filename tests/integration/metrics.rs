//! `GET /metrics`: the Prometheus text format, counting exchanges by
//! outcome and denial reason, the verified-secret cache, request latency by
//! route, sign-ins, and read at scrape time the pool, the hashing queues and
//! the audit counts not yet written; served to loopback peers, or with
//! `[metrics] token` only to a caller presenting it.

use crate::both_backends;
use crate::support::{wrong_secret, TestApp, TestDb};
use patgate::tokens::RequestedLifetime;

both_backends!(
    exchanges_and_sign_ins_are_counted_by_outcome,
    a_configured_token_is_required_from_everyone,
);

/// The value of the series `name` (with its labels) in `text`.
pub(crate) fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

pub(crate) async fn scrape(app: &TestApp) -> String {
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    res.text().await.unwrap()
}

async fn exchanges_and_sign_ins_are_counted_by_outcome(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    assert_eq!(app.exchange(&pat).await.status(), 200);
    assert_eq!(app.exchange(&pat).await.status(), 200);
    assert_eq!(app.exchange(&wrong_secret(&pat)).await.status(), 400);
    assert_eq!(app.exchange("not-a-token").await.status(), 400);
    app.add_user("bob", "correct horse battery", false).await;
    let browser = crate::support::browser::Browser::at(app.url("/"));
    browser.sign_in("bob", "wrong password here", "/").await;
    browser.sign_in("bob", "correct horse battery", "/").await;

    let text = scrape(&app).await;
    assert_eq!(
        value(&text, "patgate_exchanges_total{outcome=\"issued\"}"),
        2.0
    );
    assert_eq!(
        value(&text, "patgate_exchanges_total{outcome=\"denied\"}"),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "patgate_exchange_denials_total{reason=\"wrong_secret\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "patgate_exchange_denials_total{reason=\"malformed\"}"
        ),
        1.0
    );
    // The first exchange and the wrong secret missed the cache; the second hit.
    assert_eq!(
        value(&text, "patgate_verified_secret_cache_total{result=\"hit\"}"),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "patgate_verified_secret_cache_total{result=\"miss\"}"
        ),
        2.0
    );
    let route = "route=\"/api/auth/v1/token\"";
    assert_eq!(
        value(
            &text,
            &format!("patgate_http_request_duration_seconds_count{{{route},status=\"2xx\"}}")
        ),
        2.0
    );
    assert_eq!(
        value(&text, "patgate_sign_ins_total{result=\"local\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "patgate_sign_ins_total{result=\"failed\"}"),
        1.0
    );
    assert!(
        value(
            &text,
            "patgate_hashing_wait_seconds_count{lane=\"exchange\"}"
        ) >= 2.0
    );
    assert!(value(&text, "patgate_db_connections{state=\"idle\"}") >= 0.0);
    assert_eq!(
        value(&text, "patgate_hashing_waiting{lane=\"exchange\"}"),
        0.0
    );
    // The background flush runs every 5 s, and the sign-ins above may take
    // that long on a busy machine: drain it, then count one exchange anew.
    app.flush_counts().await;
    assert_eq!(app.exchange(&pat).await.status(), 200);
    assert_eq!(
        value(&scrape(&app).await, "patgate_audit_pending_counts"),
        1.0,
        "counted, not flushed yet"
    );
    app.flush_counts().await;
    assert_eq!(
        value(&scrape(&app).await, "patgate_audit_pending_counts"),
        0.0
    );
    // A probe of unknown paths adds one bounded series, not one per path.
    for i in 0..20 {
        app.http
            .get(app.url(&format!("/nothing/{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = scrape(&app).await;
    assert!(!text.contains("/nothing/"), "paths never become labels");
    assert_eq!(
        value(
            &text,
            "patgate_http_request_duration_seconds_count{route=\"(unmatched)\",status=\"4xx\"}"
        ),
        20.0
    );
}

async fn a_configured_token_is_required_from_everyone(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let mut metrics = toml::Table::new();
        metrics.insert("token".into(), "scrape-secret-0123456789".into());
        t.insert("metrics".into(), metrics.into());
    })
    .await;
    let url = app.url("/metrics");
    let res = app.http.get(url.clone()).send().await.unwrap();
    assert_eq!(
        res.status(),
        403,
        "loopback is not enough once a token is set"
    );
    let res = app
        .http
        .get(url.clone())
        .bearer_auth("scrape-secret-01234567")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .http
        .get(url)
        .bearer_auth("scrape-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("patgate_exchanges_total"));
}
