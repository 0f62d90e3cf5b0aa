//! Faults an operator meets at night: a full disk (a small tmpfs the test
//! mounts) and a read-only database file under SQLite, a PostgreSQL
//! server that stalls (a TCP proxy the test runs and freezes). patgate
//! keeps exchanging, says it is not ready, answers 503 rather than 500 or
//! waiting, and recovers by itself when the cause goes.

use crate::support::{TestApp, TestDb, TOKEN_API_SCOPES};
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `size` mounted on a temp dir for one test; unmounted after.
pub(crate) struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None`, with a notice, where mounting is not allowed (not root).
    pub(crate) fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            crate::support::skipped("cannot mount a tmpfs here (needs root): the disk fault test");
            return None;
        }
        Some(SmallDisk { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&[0u8; 512]);
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A SQLite test database on `disk`.
fn sqlite_on(disk: &SmallDisk) -> TestDb {
    TestDb::sqlite_file(&disk.path().join("patgate.db"))
}

async fn ready(app: &TestApp) -> u16 {
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    res.status().as_u16()
}

/// Waits (past the one-second readiness cache) until `/readyz` says `want`.
async fn ready_becomes(app: &TestApp, want: u16) {
    let until = Instant::now() + Duration::from_secs(15);
    while ready(app).await != want {
        assert!(Instant::now() < until, "/readyz never became {want}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `POST /api/access-tokens/personal` with `jwt`; the status.
async fn create(app: &TestApp, jwt: &str, name: &str) -> u16 {
    let res = app
        .http
        .post(app.url("/api/access-tokens/personal"))
        .bearer_auth(jwt)
        .json(&serde_json::json!({ "name": name, "scopes": ["read"] }))
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

async fn api_jwt(app: &TestApp) -> String {
    let pat = app
        .issue_request(IssueRequest::new(
            TokenKind::Personal,
            "alice",
            "api",
            TOKEN_API_SCOPES
                .iter()
                .chain(&["read"])
                .map(|s| s.to_string())
                .collect(),
        ))
        .await;
    app.jwt_for(&pat).await
}

/// An app on `db` with a PAT exchanged once (its secret cached) and an API
/// JWT that may create tokens.
async fn warm_app(db: &TestDb) -> (TestApp, String, String) {
    let app = TestApp::start(db).await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&pat).await;
    let jwt = api_jwt(&app).await;
    (app, pat, jwt)
}

#[actix_web::test]
async fn a_full_disk_keeps_exchanges_going_and_recovers() {
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let db = sqlite_on(&disk);
    let (app, pat, jwt) = warm_app(&db).await;
    let filler = disk.fill();
    // Every token's last-used write comes due, and cannot be written.
    app.clock.advance(chrono::Duration::minutes(2));
    for _ in 0..20 {
        app.exchange_ok(&pat).await;
        app.exchange_ok(&pat).await;
    }
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(create(&app, &jwt, &format!("full-{i}")).await);
    }
    assert!(
        statuses.iter().all(|s| [201, 503].contains(s)),
        "a full disk is 503, never 500: {statuses:?}"
    );
    assert!(statuses.contains(&503), "{statuses:?}");
    ready_becomes(&app, 503).await;
    std::fs::remove_file(filler).unwrap();
    ready_becomes(&app, 200).await;
    assert_eq!(create(&app, &jwt, "after").await, 201);
    app.exchange_ok(&pat).await;
    // Counts held while the disk was full are written now.
    app.flush_counts().await;
    let id = crate::support::token_id(&pat);
    let trail = app
        .blocking(move |s| s.read(|tx| patgate::audit::for_token(tx.conn, &id, None, 50)))
        .await
        .unwrap();
    let exchanged: i32 = trail
        .events
        .iter()
        .filter(|e| e.event == "exchanged")
        .map(|e| e.count)
        .sum();
    assert_eq!(exchanged, 42, "no exchange count was lost");
}

/// Makes the SQLite database and WAL files of `db` immutable (`chattr +i`:
/// refused even to root, as a read-only mount would be) or mutable again;
/// `false` where the filesystem or the user cannot. The `-shm` file stays
/// writable: SQLite maps it, and writing an immutable mapping faults.
fn immutable(db: &TestDb, on: bool) -> bool {
    let file = db.url.trim_start_matches("sqlite://").to_string();
    let flag = if on { "+i" } else { "-i" };
    ["", "-wal"]
        .iter()
        .map(|suffix| format!("{file}{suffix}"))
        .filter(|f| Path::new(f).exists())
        .all(|f| {
            Command::new("chattr")
                .args([flag, &f])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[actix_web::test]
async fn a_read_only_database_recovers_without_restart() {
    let db = TestDb::sqlite();
    let (app, pat, jwt) = warm_app(&db).await;
    if !immutable(&db, true) {
        immutable(&db, false);
        crate::support::skipped("chattr +i is not possible here: the read-only fault test");
        return;
    }
    app.clock.advance(chrono::Duration::minutes(2));
    for _ in 0..5 {
        app.exchange_ok(&pat).await;
    }
    let status = create(&app, &jwt, "while-ro").await;
    ready_becomes(&app, 503).await;
    immutable(&db, false);
    assert_eq!(status, 503, "a read-only database is 503, not 500");
    ready_becomes(&app, 200).await;
    assert_eq!(create(&app, &jwt, "after").await, 201, "no restart needed");
}

#[actix_web::test]
async fn a_stalled_postgres_fails_fast_and_recovers() {
    let Some(mut db) = TestDb::postgres() else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = crate::support::stalling_proxy::StallingProxy::start(upstream).await;
    url.set_port(Some(proxy.addr.port())).unwrap();
    url.set_host(Some("127.0.0.1")).unwrap();
    db.url = url.to_string();
    let app = TestApp::start_with(&db, |t| {
        let mut l = toml::Table::new();
        l.insert("database_timeout".into(), "2s".into());
        t.insert("limits".into(), l.into());
    })
    .await;
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    app.exchange_ok(&pat).await;
    proxy.freeze(true);
    let started = Instant::now();
    let res = app.exchange(&pat).await;
    let waited = started.elapsed();
    assert_eq!(res.headers()["retry-after"], "1");
    crate::support::assert_oauth_error(res, 503, "temporarily_unavailable").await;
    assert!(waited < Duration::from_secs(4), "answered after {waited:?}");
    let started = Instant::now();
    assert_eq!(ready(&app).await, 503);
    assert!(started.elapsed() < Duration::from_secs(3));
    proxy.freeze(false);
    ready_becomes(&app, 200).await;
    app.exchange_ok(&pat).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    for (series, want) in [("unavailable", " 1"), ("error", " 0"), ("issued", " 2")] {
        let line = format!("patgate_exchanges_total{{outcome=\"{series}\"}}{want}");
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

#[test]
fn an_unreachable_postgres_is_logged_with_the_real_cause() {
    let db = patgate::store::Db::connect(
        "postgres://postgres@127.0.0.1:1/none",
        1,
        Duration::from_secs(1),
    )
    .unwrap();
    let message = db.conn().err().expect("no server on port 1").to_string();
    assert!(message.contains("refused"), "{message}");
    assert!(!message.contains("multiconnection"), "{message}");
}

crate::both_backends!(every_acknowledged_token_survives_kill_9);

/// Creates tokens from several connections until the process is killed
/// (SIGKILL) mid-flight; every token whose 201 arrived is there after a
/// restart (SQLite WAL with `synchronous = NORMAL` survives a process
/// crash; PostgreSQL commits are durable).
async fn every_acknowledged_token_survives_kill_9(db: TestDb) {
    use crate::support::{run, succeeded, write_config, PatgateProcess};
    let config = write_config(&db, |_| {});
    let pat = succeeded(run(
        &config,
        &[
            "admin",
            "token",
            "issue",
            "--owner",
            "kim",
            "--name",
            "api",
            "--scope",
            "patgate:tokens:write",
            "--scope",
            "read",
        ],
    ));
    let server = PatgateProcess::spawn(&config);
    let http = reqwest::Client::new();
    let answer = crate::http_fuzz::exchange_at(&http, &server.base, pat.trim()).await;
    let jwt = answer["access_token"].as_str().unwrap().to_string();
    let create = server.base.join("/api/access-tokens/personal").unwrap();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..6 {
        let (http, create, jwt, acked) = (
            http.clone(),
            create.clone(),
            jwt.clone(),
            acknowledged.clone(),
        );
        writers.push(actix_web::rt::spawn(async move {
            for i in 0.. {
                let body = serde_json::json!({ "name": format!("w{w}-{i}"), "scopes": ["read"] });
                let sent = http
                    .post(create.clone())
                    .bearer_auth(&jwt)
                    .json(&body)
                    .send()
                    .await;
                let Ok(res) = sent else { return };
                if res.status() != 201 {
                    return;
                }
                let Ok(created) = res.json::<serde_json::Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .push(created["token"]["id"].as_str().unwrap().to_string());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.stop(); // SIGKILL, mid-write
    for w in writers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 5, "tokens were being written");
    let restarted = PatgateProcess::spawn(&config);
    let listed = succeeded(run(&config, &["admin", "token", "list", "--json"]));
    restarted.stop();
    for id in &acknowledged {
        assert!(listed.contains(id.as_str()), "acknowledged token {id} lost");
    }
}

#[test]
fn counts_that_cannot_be_written_at_stop_are_retried_then_counted_as_lost() {
    use patgate::audit::{Event, ExchangeCounter};
    let unreachable = patgate::store::Db::connect(
        "postgres://postgres@127.0.0.1:1/none",
        1,
        Duration::from_millis(300),
    )
    .unwrap();
    let counts = ExchangeCounter::default();
    let now = chrono::Utc::now();
    for _ in 0..3 {
        counts.count("tokenid", Event::Exchanged, None, None, None, now);
    }
    let started = Instant::now();
    let patience = Duration::from_secs(1);
    let lost = counts.flush_before_exit(&unreachable, &patgate::clock::OsRandom, patience);
    assert_eq!(lost, 3);
    assert!(
        started.elapsed() >= patience,
        "retried for the whole patience"
    );
    assert_eq!(counts.pending_total(), 3, "kept, not dropped");
}
