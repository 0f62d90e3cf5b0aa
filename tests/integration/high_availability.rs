//! Several instances on PostgreSQL (issue #22): connection strings as
//! libpq takes them, terminated backends answered 503 (never 500), idle
//! connections given back, one clock across instances (the database's),
//! and every stop signal draining the server with its audit counts.

use crate::both_backends;
use crate::support::{run, succeeded, token_id, write_config, PatgateProcess, TestApp, TestDb};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use patgate::store::{Db, DbConnection};
use patgate::tokens::RequestedLifetime;
use serde_json::Value;
use std::time::Duration;

both_backends!(
    one_clock_for_expiry_across_instances,
    every_stop_signal_drains_and_keeps_the_counts,
);

/// The PostgreSQL database of the suite, or a skip notice (a failure in CI).
fn postgres_base() -> Option<url::Url> {
    let db = TestDb::postgres()?;
    drop(db);
    let base = std::env::var(crate::support::db::POSTGRES_ENV).ok()?;
    Some(url::Url::parse(&base).expect("a PostgreSQL URL"))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A multi-host URI (first host refusing) and a keyword string both reach
/// the server; a keyword string is never taken for a SQLite file name.
#[test]
fn connection_strings_as_libpq_takes_them() {
    let Some(base) = postgres_base() else { return };
    let (host, port) = (base.host_str().unwrap(), base.port().unwrap_or(5432));
    let (user, dbname) = (base.username(), base.path().trim_start_matches('/'));
    let multi = format!(
        "postgres://{user}@{host}:1,{host}:{port}/{dbname}?target_session_attrs=read-write&sslmode=disable"
    );
    let keywords = format!("host={host} port={port} user={user} dbname={dbname} sslmode=disable");
    for url in [multi, keywords] {
        let db = Db::connect(&url, 1, Duration::from_secs(5)).expect(&url);
        assert_eq!(db.backend_name(), "postgres", "{url}");
        let mut conn = db.conn().unwrap_or_else(|e| panic!("{url}: {e}"));
        let DbConnection::Postgres(c) = &mut **conn else {
            panic!("{url} opened SQLite")
        };
        let one = diesel::sql_query("SELECT 1::bigint AS n")
            .get_result::<Count>(c)
            .unwrap();
        assert_eq!(one.n, 1);
    }
    let cwd = std::env::current_dir().unwrap();
    assert!(Db::connect("hots=127.0.0.1 dbname=x", 1, Duration::from_secs(1)).is_err());
    assert!(
        !cwd.join("hots=127.0.0.1 dbname=x").exists(),
        "no SQLite file made of a misspelt keyword string"
    );
}

/// The backends of one application name on the suite's database.
fn terminate_backends(base: &str, application: &str) -> i64 {
    let mut c = PgConnection::establish(base).unwrap();
    diesel::sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<diesel::sql_types::Text, _>(application)
    .get_result::<Count>(&mut c)
    .unwrap()
    .n
}

/// The backends of one application name on the server at `base`.
pub(crate) fn backends(base: &str, application: &str) -> i64 {
    let mut c = PgConnection::establish(base).unwrap();
    c.batch_execute("SELECT pg_stat_clear_snapshot()").unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1")
        .bind::<diesel::sql_types::Text, _>(application)
        .get_result::<Count>(&mut c)
        .unwrap()
        .n
}

/// The app's URL with an application name to find its backends by.
fn named(db: &TestDb, application: &str) -> String {
    format!("{}&application_name={application}", db.url)
}

/// Backends terminated again and again under creates, revocations, lists
/// and exchanges: every answer is a success or a 503 with `Retry-After`.
#[actix_web::test]
async fn terminated_backends_are_503_never_500() {
    let Some(base) = postgres_base() else { return };
    let _ = tracing_subscriber::fmt().with_env_filter("warn").try_init();
    let db = TestDb::postgres().unwrap();
    let application = format!("ha_{}", uuid::Uuid::new_v4().simple());
    let url = named(&db, &application);
    let app = TestApp::start_with(&db, |t| {
        t.insert("database_url".into(), url.into());
    })
    .await;
    let (_pat, jwt) = app.token_api_jwt("alice", "api").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (stop, base, application) = (stop.clone(), base.to_string(), application.clone());
        std::thread::spawn(move || {
            let mut killed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                killed += terminate_backends(&base, &application);
                std::thread::sleep(Duration::from_millis(40));
            }
            killed
        })
    };
    let api = app.url("/api/access-tokens/personal");
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(3) {
        i += 1;
        let created = app
            .http
            .post(api.clone())
            .bearer_auth(&jwt)
            .json(&serde_json::json!({"name": format!("t{i}"), "scopes": ["patgate:tokens:read"]}))
            .send()
            .await
            .unwrap();
        let status = created.status().as_u16();
        let retry = created.headers().contains_key("retry-after");
        statuses.push(("create", status, retry));
        if status == 201 || status == 200 {
            let body: Value = created.json().await.unwrap();
            let raw = body["rawToken"].as_str().unwrap().to_string();
            let exchanged = app.exchange(&raw).await;
            let retry = exchanged.headers().contains_key("retry-after");
            statuses.push(("exchange", exchanged.status().as_u16(), retry));
            let revoked = app
                .http
                .delete(app.url(&format!("/api/access-tokens/personal/{}", token_id(&raw))))
                .bearer_auth(&jwt)
                .send()
                .await
                .unwrap();
            let retry = revoked.headers().contains_key("retry-after");
            statuses.push(("revoke", revoked.status().as_u16(), retry));
        }
        let listed = app
            .http
            .get(api.clone())
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap();
        let retry = listed.headers().contains_key("retry-after");
        statuses.push(("list", listed.status().as_u16(), retry));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let killed = killer.join().unwrap();
    assert!(killed > 0, "backends were terminated");
    let wrong: Vec<_> = statuses
        .iter()
        // (429: the limit on cold exchanges per address, which this loop
        // of new tokens meets; also with Retry-After.)
        .filter(|(_, s, retry)| !(*s < 300 || ((*s == 503 || *s == 429) && *retry)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} terminations; answers neither a success nor a 503 with Retry-After: {wrong:?}",
        killed
    );
    let served = statuses.iter().filter(|(_, s, _)| *s < 300).count();
    assert!(served > statuses.len() / 4, "{statuses:?}");
}

/// An instance that has gone idle holds at most two backends once the idle
/// timeout has passed (the pool's reaper looks every 30 s).
#[actix_web::test]
async fn idle_connections_are_given_back() {
    let Some(base) = postgres_base() else { return };
    let db = TestDb::postgres().unwrap();
    let application = format!("idle_{}", uuid::Uuid::new_v4().simple());
    let url = named(&db, &application);
    let app = TestApp::start_with(&db, |t| {
        t.insert("database_url".into(), url.into());
        t.insert("database_idle_timeout".into(), "1s".into());
    })
    .await;
    // Three connections open at once, then the instance goes idle.
    app.blocking(|s| {
        let held: Vec<_> = (0..3).map(|_| s.db.conn().unwrap()).collect();
        drop(held);
    })
    .await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&pat).await;
    assert!(backends(base.as_str(), &application) >= 3, "three opened");
    tokio::time::sleep(Duration::from_secs(32)).await;
    let left = backends(base.as_str(), &application);
    assert!(left <= 2, "{left} backends left open by an idle instance");
}

/// An instance whose clock is ten minutes behind decides expiry by the
/// database's clock on PostgreSQL: a token expired a minute ago (by the
/// database) is refused there too, and the offset is a metric.
async fn one_clock_for_expiry_across_instances(db: TestDb) {
    let app = TestApp::start_with(&db, |t| {
        t.insert("database_clock".into(), "database".into());
    })
    .await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&pat).await;
    app.clock.advance(chrono::Duration::minutes(-10));
    let offset = app.blocking(|s| s.follow_database_clock()).await.unwrap();
    let Some(offset) = offset else {
        assert!(
            db.url.starts_with("sqlite"),
            "only SQLite follows no server clock"
        );
        return;
    };
    assert!(
        (offset - chrono::Duration::minutes(10)).num_seconds().abs() <= 2,
        "offset {offset}"
    );
    let skew = (app.svc.now() - chrono::Utc::now()).num_seconds().abs();
    assert!(
        skew <= 2,
        "patgate's time follows the database's ({skew} s off)"
    );
    let id = token_id(&pat);
    app.blocking(move |s| {
        use patgate::store::schema::access_tokens::dsl as t;
        let expired = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
        diesel::update(t::access_tokens.filter(t::id.eq(id)))
            .set(t::expires_at.eq(Some(expired)))
            .execute(&mut **s.conn().unwrap())
            .unwrap();
    })
    .await;
    let refused = app.exchange(&pat).await;
    assert_eq!(refused.status(), 400, "expired by the database's clock");
    let metrics = crate::metrics::scrape(&app).await;
    let offset = crate::metrics::value(&metrics, "patgate_clock_offset_seconds");
    assert!((offset - 600.0).abs() < 2.0, "offset metric {offset}");
}

/// SIGHUP and SIGINT stop the server as SIGTERM does: it exits 0 and the
/// exchanges it answered are all in the audit log.
async fn every_stop_signal_drains_and_keeps_the_counts(db: TestDb) {
    let config = write_config(&db, |_| {});
    for (i, signal) in ["HUP", "INT"].into_iter().enumerate() {
        let pat = succeeded(run(
            &config,
            &[
                "admin",
                "token",
                "issue",
                "--owner",
                "carol",
                "--name",
                &format!("n{i}"),
            ],
        ))
        .trim()
        .to_string();
        let server = PatgateProcess::spawn(&config);
        for _ in 0..5 {
            let res = crate::processes::exchange(&server.base, &pat).await;
            assert_eq!(res.status(), 200);
        }
        server.signal(signal);
        let id = token_id(&pat);
        let counted: i64 = succeeded(run(&config, &["admin", "audit", "export"]))
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|e| e["tokenId"] == id.as_str() && e["event"] == "exchanged")
            .map(|e| e["count"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, 5, "SIG{signal}: every exchange counted");
    }
}
