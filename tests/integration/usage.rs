//! Usage at a glance: the token detail page charts a scripted history of
//! exchanges and refusals per day, the settings list draws a sparkline per
//! token, and tokens unused for `unused_after` are flagged.

use crate::both_backends;
use crate::support::browser::signed_in;
use crate::support::{token_id, wrong_secret, TestApp, TestDb};
use chrono::Duration;
use patgate::tokens::RequestedLifetime;

both_backends!(
    pages_chart_a_scripted_history,
    long_unused_tokens_are_flagged
);

async fn pages_chart_a_scripted_history(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        let limits: toml::Table = toml::from_str("cold_exchanges_per_token = 1000").unwrap();
        t.insert("limits".into(), limits.into());
    })
    .await;
    let pat = app
        .issue("alice", "laptop", &["read"], RequestedLifetime::Default)
        .await;
    let first_day = app.svc.now().date_naive();
    // Day 1: three exchanges; day 2: one, and two refused (wrong secret).
    for _ in 0..3 {
        assert_eq!(app.exchange(&pat).await.status(), 200);
    }
    app.flush_counts().await;
    app.clock.advance(Duration::days(1));
    assert_eq!(app.exchange(&pat).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(app.exchange(&wrong_secret(&pat)).await.status(), 400);
    }
    app.flush_counts().await;
    let second_day = first_day + Duration::days(1);
    // Signed in after the clock moved, so the sessions are fresh.
    let (admin, _) = signed_in(&app, "root", true).await;
    let (alice, _) = signed_in(&app, "alice", false).await;

    let detail = admin
        .get(&format!("/admin/access-tokens/{}", token_id(&pat)))
        .await
        .text()
        .await
        .unwrap();
    for shown in [
        format!("<title>{first_day}: 3 exchanges, 0 refused</title>"),
        format!("<title>{second_day}: 1 exchanges, 2 refused</title>"),
        "4 exchanges · 2 refused (wrong_secret)".to_string(),
        "max 3/day".to_string(),
        "<svg class=\"usage-chart\"".to_string(),
    ] {
        assert!(
            detail.contains(&shown),
            "{shown} in the detail page: {detail}"
        );
    }
    assert!(!detail.contains("<script"), "no JavaScript needed");
    let list = alice
        .get("/settings/personal-tokens")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("<svg class=\"sparkline\""), "{list}");
    assert!(list.contains("<title>4 exchanges in 30 days</title>"));
    assert!(!list.contains(">unused<"), "used lately");
}

async fn long_unused_tokens_are_flagged(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("unused_after".into(), "30d".into());
        t.insert("token_max_ttl".into(), "never".into());
    })
    .await;
    let idle = app
        .issue("alice", "idle", &["read"], RequestedLifetime::Never)
        .await;
    let busy = app
        .issue("alice", "busy", &["read"], RequestedLifetime::Never)
        .await;
    app.clock.advance(Duration::days(31));
    assert_eq!(app.exchange(&busy).await.status(), 200);
    let (alice, _) = signed_in(&app, "alice", false).await;
    let list = alice
        .get("/settings/personal-tokens")
        .await
        .text()
        .await
        .unwrap();
    let row = |id: &str| {
        let start = list.find(&format!("data-token-id=\"{id}\"")).unwrap();
        list[start..].split("</tr>").next().unwrap().to_string()
    };
    assert!(
        row(&token_id(&idle)).contains(">unused<"),
        "never used in 31 days"
    );
    assert!(!row(&token_id(&busy)).contains(">unused<"), "used today");
}
