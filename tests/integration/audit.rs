//! The audit trail: changes appended, exchanges coalesced per token and
//! minute (also across instances), refusals with their reason, export, and
//! counts flushed on a graceful shutdown.

use crate::both_backends;
use crate::support::{run, succeeded, token_id, write_config, PatgateProcess, TestApp, TestDb};
use chrono::Duration;
use patgate::audit::{for_token, AuditView};
use patgate::tokens::RequestedLifetime;
use serde_json::Value;

both_backends!(
    changes_are_appended_and_exchanges_coalesced,
    instances_add_their_counts_to_one_row,
    export_prints_json_lines_and_shutdown_flushes_counts,
);

async fn trail(app: &TestApp, id: &str) -> Vec<AuditView> {
    app.flush_counts().await;
    let id = id.to_string();
    let page = app.blocking(move |s| s.read(|tx| for_token(tx.conn, &id, None, 100)));
    page.await.unwrap().events
}

async fn exchange_as(app: &TestApp, pat: &str) -> u16 {
    let form = [("grant_type", "refresh_token"), ("refresh_token", pat)];
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .header("user-agent", "audit-test/1.0")
        .form(&form)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn changes_are_appended_and_exchanges_coalesced(db: TestDb) {
    let app = TestApp::start(&db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let id = token_id(&pat);
    app.clock.advance(Duration::seconds(1));
    for _ in 0..5 {
        assert_eq!(exchange_as(&app, &pat).await, 200);
    }
    let random = patgate::clock::random_alphanumeric(&patgate::clock::OsRandom, 44);
    let wrong = patgate::tokens::format::with_checksum(&format!("pat_{id}.{random}"));
    app.clock.advance(Duration::seconds(1));
    for _ in 0..2 {
        assert_eq!(exchange_as(&app, &wrong).await, 400);
    }
    let events = trail(&app, &id).await;
    let find = |events: &[AuditView], name: &str| {
        events
            .iter()
            .filter(|e| e.event == name)
            .map(|e| (e.count, e.details.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(find(&events, "created").len(), 1);
    assert_eq!(
        find(&events, "exchanged"),
        vec![(5, serde_json::json!({}))],
        "five exchanges, one row"
    );
    assert_eq!(
        find(&events, "exchange_denied"),
        vec![(2, serde_json::json!({"reason": "wrong_secret"}))]
    );
    let exchanged = events.iter().find(|e| e.event == "exchanged").unwrap();
    assert_eq!(
        exchanged.actor.as_deref(),
        Some(format!("token:{id}").as_str())
    );
    assert_eq!(
        (exchanged.ip.as_deref(), exchanged.user_agent.as_deref()),
        (Some("127.0.0.1"), Some("audit-test/1.0"))
    );

    app.clock.advance(Duration::seconds(61));
    exchange_as(&app, &pat).await;
    exchange_as(&app, &pat).await;
    app.clock.advance(Duration::seconds(1));
    let alice = patgate::policy::Principal::operator("alice");
    let rotated = app
        .blocking({
            let id = id.clone();
            move |s| patgate::tokens::rotate(s, &alice, &id, patgate::tokens::Lookup::Any, 0)
        })
        .await;
    assert!(rotated.is_ok(), "{rotated:?}");
    app.clock.advance(Duration::seconds(1));
    app.revoke(&id, "admin").await;
    app.clock.advance(Duration::seconds(1));
    assert_eq!(exchange_as(&app, &pat).await, 400);
    let events = trail(&app, &id).await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "exchange_denied",
            "revoked",
            "rotated",
            "exchanged",
            "exchange_denied",
            "exchanged",
            "created"
        ],
        "newest first"
    );
    assert_eq!(events[0].details["reason"], "revoked");
    assert_eq!(
        (
            events[1].actor.as_deref(),
            events[2].details["graceSeconds"].as_i64()
        ),
        (Some("cli:admin"), Some(0))
    );
    assert_eq!(events[3].count, 2, "the next minute has its own row");
}

async fn instances_add_their_counts_to_one_row(db: TestDb) {
    let a = TestApp::start(&db).await;
    let b = TestApp::start(&db).await;
    let pat = a
        .issue("bob", "shared", &[], RequestedLifetime::Default)
        .await;
    for _ in 0..3 {
        exchange_as(&a, &pat).await;
    }
    for _ in 0..4 {
        exchange_as(&b, &pat).await;
    }
    b.flush_counts().await;
    let events = trail(&a, &token_id(&pat)).await;
    let counts: Vec<i32> = events
        .iter()
        .filter(|e| e.event == "exchanged")
        .map(|e| e.count)
        .collect();
    assert_eq!(counts, vec![7]);
}

async fn export_prints_json_lines_and_shutdown_flushes_counts(db: TestDb) {
    let config = write_config(&db, |_| {});
    let ok = succeeded;
    let pat = ok(run(
        &config,
        &["admin", "token", "issue", "--owner", "carol", "--name", "n"],
    ))
    .trim()
    .to_string();
    let server = PatgateProcess::spawn(&config);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let res = client
            .post(server.base.join("/api/auth/v1/token").unwrap())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", pat.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    server.terminate(); // SIGTERM: a graceful stop writes the pending counts
    let id = token_id(&pat);
    ok(run(&config, &["admin", "token", "revoke", &id]));
    let lines: Vec<Value> = ok(run(&config, &["admin", "audit", "export"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<(&str, i64)> = lines
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        events,
        vec![("created", 1), ("exchanged", 3), ("revoked", 1)]
    );
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
        assert!(lines[0].get(key).is_some(), "{key} in {}", lines[0]);
    }
    assert_eq!(
        ok(run(
            &config,
            &[
                "admin",
                "audit",
                "export",
                "--since",
                "2999-01-01T00:00:00Z"
            ]
        )),
        ""
    );
    assert_eq!(
        ok(run(&config, &["admin", "audit", "export", "--since", "1h"]))
            .lines()
            .count(),
        3
    );
    assert!(!run(
        &config,
        &["admin", "audit", "export", "--since", "yesterday"]
    )
    .status
    .success());
}
