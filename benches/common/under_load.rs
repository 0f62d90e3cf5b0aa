//! A migration on a big table while the server serves exchanges (issue
//! #21): the newest migration (000018, which fills `token_scopes` from every
//! token and adds triggers to `access_tokens`) is reverted by its own
//! `down.sql`, then `patgate migrate` applies it again while one client
//! exchanges a PAT back to back. What it reports is how long the migration
//! took and the longest any exchange waited meanwhile.

use super::common::patgate;
use super::http::request;
use diesel::connection::SimpleConnection;
use patgate::store::{Db, DbConnection};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The migration reverted and applied again, as diesel records its version.
const VERSION: &str = "20261204000018";
const SQLITE_DOWN: &str =
    include_str!("../../migrations/sqlite/2026-12-04-000018_token_scopes/down.sql");
const POSTGRES_DOWN: &str =
    include_str!("../../migrations/postgres/2026-12-04-000018_token_scopes/down.sql");

/// What happened while migrating.
pub struct UnderLoad {
    /// `patgate migrate`, start to exit.
    pub migration: Duration,
    /// Exchanges answered while it ran (and a second either side).
    pub exchanges: u64,
    /// Answers other than 200.
    pub failures: u64,
    /// The longest exchange.
    pub worst: Duration,
}

/// Reverts the newest migration on `url`, then applies it with `patgate
/// migrate` while exchanging `pat` at the server on `base`.
pub fn migrate_under_load(config: &Path, url: &str, base: &str, pat: &str) -> UnderLoad {
    let db = Db::connect(url, 1, Duration::from_secs(600)).expect("database");
    {
        let mut conn = db.conn().expect("a connection");
        let forget = format!("DELETE FROM __diesel_schema_migrations WHERE version = '{VERSION}'");
        match &mut **conn {
            DbConnection::Sqlite(c) => c.batch_execute(&format!("{SQLITE_DOWN}\n{forget};")),
            DbConnection::Postgres(c) => c.batch_execute(&format!("{POSTGRES_DOWN}\n{forget};")),
        }
        .expect("the migration reverts");
    }
    drop(db);
    let stop = Arc::new(AtomicBool::new(false));
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", pat)
        .finish();
    let load = {
        let (stop, base) = (stop.clone(), base.to_string());
        std::thread::spawn(move || {
            let (mut n, mut failures, mut worst) = (0u64, 0u64, Duration::ZERO);
            let headers = [("Content-Type", "application/x-www-form-urlencoded")];
            while !stop.load(Ordering::Relaxed) {
                let a = request(
                    &base,
                    "POST",
                    "/api/auth/v1/token",
                    &headers,
                    form.as_bytes(),
                );
                n += 1;
                failures += u64::from(a.status != 200);
                worst = worst.max(a.elapsed);
            }
            (n, failures, worst)
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let out = patgate(config)
        .arg("migrate")
        .output()
        .expect("patgate migrate runs");
    let migration = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let (exchanges, failures, worst) = load.join().expect("the load thread");
    UnderLoad {
        migration,
        exchanges,
        failures,
        worst,
    }
}
