//! Real PostgreSQL processes of the test's own (issue #22): a primary
//! crashed and its streaming standby promoted under load, and three
//! instances sharing a server's few connections.

use crate::support::pg_processes::{installed, PgCluster};
use crate::support::{run, succeeded, token_id, write_config, TestApp, TestDb};
use diesel::prelude::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Whether this machine can start its own clusters (a notice, and a
/// failure in CI, where it cannot).
fn clusters_available() -> bool {
    installed(&["initdb", "pg_ctl", "pg_basebackup"])
}

/// One answer of the load: when it came, what it was for and its status.
#[derive(Debug)]
struct Answer {
    at: Instant,
    what: &'static str,
    status: u16,
    retry_after: bool,
}

impl Answer {
    fn of(what: &'static str, res: &reqwest::Response) -> Answer {
        Answer {
            at: Instant::now(),
            what,
            status: res.status().as_u16(),
            retry_after: res.headers().contains_key("retry-after"),
        }
    }

    /// A success, or a refusal that tells the client when to come back.
    fn acceptable(&self) -> bool {
        self.status < 300 || ((self.status == 503 || self.status == 429) && self.retry_after)
    }
}

/// Creates and revokes tokens through the API until `until`; the answers,
/// the ids whose creation was acknowledged and those whose revocation was.
async fn write_load(
    app: &TestApp,
    jwt: &str,
    until: Instant,
) -> (Vec<Answer>, Vec<String>, Vec<String>) {
    let api = app.url("/api/access-tokens/personal");
    let (mut answers, mut created, mut revoked) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while Instant::now() < until {
        i += 1;
        let res = app
            .http
            .post(api.clone())
            .bearer_auth(jwt)
            .json(&serde_json::json!({"name": format!("f{i}"), "scopes": ["patgate:tokens:read"]}))
            .send()
            .await
            .unwrap();
        answers.push(Answer::of("create", &res));
        if !res.status().is_success() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let body: Value = res.json().await.unwrap();
        let id = token_id(body["rawToken"].as_str().unwrap());
        created.push(id.clone());
        if i % 2 == 0 {
            let res = app
                .http
                .delete(app.url(&format!("/api/access-tokens/personal/{id}")))
                .bearer_auth(jwt)
                .send()
                .await
                .unwrap();
            answers.push(Answer::of("revoke", &res));
            if res.status().is_success() {
                revoked.push(id);
            }
        }
    }
    (answers, created, revoked)
}

/// The primary crashes (`-m immediate`) under creates and revocations, and
/// its streaming standby is promoted two seconds later. patgate, given both
/// hosts with `target_session_attrs=read-write`, answers 503 with
/// Retry-After in the gap (never 500), serves again within two seconds of
/// the promotion, and every write it acknowledged is on the new primary.
#[actix_web::test]
async fn a_promoted_standby_keeps_every_acknowledged_write() {
    if TestDb::postgres().is_none() || !clusters_available() {
        return;
    }
    let primary = PgCluster::primary(&[]);
    let standby = PgCluster::standby_of(&primary);
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&sslmode=disable",
        primary.port, standby.port
    );
    let db = TestDb::sqlite();
    let app = TestApp::start_with(&db, |t| {
        t.insert("database_url".into(), url.into());
        let mut limits = toml::Table::new();
        limits.insert("database_timeout".into(), "1s".into());
        t.insert("limits".into(), limits.into());
    })
    .await;
    let (_pat, jwt) = app.token_api_jwt("alice", "api").await;
    let started = Instant::now();
    let until = started + Duration::from_secs(7);
    // The clusters move to the thread that fails them over, and come back.
    let chaos = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        primary.crash();
        std::thread::sleep(Duration::from_secs(2));
        standby.promote();
        (Instant::now(), primary, standby)
    });
    let (answers, created, revoked) = write_load(&app, &jwt, until).await;
    let (promoted, _primary, _standby) = chaos.join().unwrap();

    let wrong: Vec<&Answer> = answers.iter().filter(|a| !a.acceptable()).collect();
    assert!(
        wrong.is_empty(),
        "neither a success nor a 503 with Retry-After: {wrong:?}"
    );
    let before = answers
        .iter()
        .filter(|a| a.status < 300 && a.at < promoted)
        .count();
    assert!(before > 5, "the load ran before the crash: {answers:?}");
    let back = answers
        .iter()
        .find(|a| a.at >= promoted && a.status < 300)
        .unwrap_or_else(|| panic!("no success after the promotion: {answers:?}"));
    let recovery = back.at - promoted;
    let refused = answers.iter().filter(|a| a.status == 503).count();
    eprintln!(
        "failover: {} answers, {refused} × 503, first success {} ms after the promotion ({})",
        answers.len(),
        recovery.as_millis(),
        back.what
    );
    assert!(
        recovery <= Duration::from_secs(2),
        "recovered {recovery:?} after the promotion"
    );

    let stored: std::collections::HashMap<String, bool> = app
        .all_tokens()
        .await
        .into_iter()
        .map(|t| (t.id, t.revoked_at.is_some()))
        .collect();
    let lost: Vec<&String> = created
        .iter()
        .filter(|id| !stored.contains_key(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged creates lost",
        lost.len(),
        created.len()
    );
    let unrevoked: Vec<&String> = revoked.iter().filter(|id| !stored[*id]).collect();
    assert!(
        unrevoked.is_empty(),
        "{} of {} acknowledged revocations lost",
        unrevoked.len(),
        revoked.len()
    );
}

/// Backends of `application` on `cluster`.
fn backends(cluster: &PgCluster, application: &str) -> i64 {
    crate::high_availability::backends(&cluster.url(), application)
}

/// Three instances whose pools together exceed what a server with
/// `max_connections = 20` lets a non-superuser open: under load each
/// answers a success or a 503 (never 500); once idle, each holds at most
/// two backends and the operator's command gets a connection.
#[actix_web::test]
async fn three_instances_on_few_connections_give_them_back() {
    if TestDb::postgres().is_none() || !clusters_available() {
        return;
    }
    let cluster = PgCluster::primary(&["max_connections = 20"]);
    {
        use diesel::connection::SimpleConnection;
        let mut c = PgConnection::establish(&cluster.url()).unwrap();
        c.batch_execute("CREATE ROLE patgate LOGIN").unwrap();
        c.batch_execute("CREATE DATABASE patgate OWNER patgate")
            .unwrap();
    }
    let url = |name: &str| {
        format!(
            "postgres://patgate@127.0.0.1:{}/patgate?sslmode=disable&application_name={name}",
            cluster.port
        )
    };
    let db = TestDb::sqlite();
    let mut apps = Vec::new();
    for i in 0..3 {
        let url = url(&format!("instance{i}"));
        apps.push(
            TestApp::start_with(&db, |t| {
                t.insert("database_url".into(), url.into());
                t.insert("database_pool_size".into(), 8.into());
                t.insert("database_idle_timeout".into(), "1s".into());
                let mut limits = toml::Table::new();
                limits.insert("database_timeout".into(), "1s".into());
                t.insert("limits".into(), limits.into());
            })
            .await,
        );
    }
    let pat = apps[0]
        .issue(
            "alice",
            "ci",
            &["read"],
            patgate::tokens::RequestedLifetime::Default,
        )
        .await;
    // Each instance opens as many connections as its pool allows, at once.
    let mut statuses = Vec::new();
    for app in &apps {
        let held = app
            .blocking(|s| {
                let held: Vec<_> = (0..8).filter_map(|_| s.db.conn().ok()).collect();
                held.len()
            })
            .await;
        assert!(held >= 1, "an instance got a connection");
        let answers = futures_util::future::join_all((0..16).map(|_| app.exchange(&pat))).await;
        statuses.extend(answers.iter().map(|r| Answer::of("exchange", r)));
    }
    let opened: i64 = (0..3)
        .map(|i| backends(&cluster, &format!("instance{i}")))
        .sum();
    eprintln!("three instances opened {opened} backends of 17");
    let wrong: Vec<&Answer> = statuses.iter().filter(|a| !a.acceptable()).collect();
    assert!(wrong.is_empty(), "{wrong:?}");

    tokio::time::sleep(Duration::from_secs(32)).await;
    for i in 0..3 {
        let left = backends(&cluster, &format!("instance{i}"));
        assert!(left <= 2, "instance {i} holds {left} backends idle");
    }
    let config = write_config(&db, |t| {
        t.insert("database_url".into(), url("cli").into());
    });
    let listed = succeeded(run(&config, &["admin", "token", "list", "--json"]));
    assert!(listed.contains(&token_id(&pat)), "{listed}");
    drop(apps);
}
