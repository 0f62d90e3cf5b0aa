//! A fresh database per test: a SQLite file in a temp dir, or a new schema in
//! the PostgreSQL database named by `POSTGRES_TEST_URL`.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::io::Write;
use std::sync::Once;

/// The environment variable naming the PostgreSQL database for tests.
pub const POSTGRES_ENV: &str = "POSTGRES_TEST_URL";

/// One test's database.
pub struct TestDb {
    /// URL patgate connects with.
    pub url: String,
    /// Holds the SQLite file and the data dir.
    pub dir: tempfile::TempDir,
    /// Reached through a PgBouncer in transaction mode.
    pub pooler: bool,
    postgres: Option<(String, String)>,
    database: Option<(String, String)>,
}

impl TestDb {
    /// A SQLite database in a new temp dir.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("patgate.db").display());
        TestDb {
            url,
            dir,
            pooler: false,
            postgres: None,
            database: None,
        }
    }

    /// A SQLite database at `file` (the data dir is a new temp dir).
    pub fn sqlite_file(file: &std::path::Path) -> TestDb {
        TestDb {
            url: format!("sqlite://{}", file.display()),
            dir: tempfile::tempdir().expect("temp dir"),
            pooler: false,
            postgres: None,
            database: None,
        }
    }

    /// A new schema in the test PostgreSQL database; `None` (with a notice
    /// printed once) when `POSTGRES_TEST_URL` is not set.
    pub fn postgres() -> Option<TestDb> {
        let base = postgres_url()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&base)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but PostgreSQL is unreachable: {e}"));
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .expect("create schema");
        let mut url = url::Url::parse(&base).expect("POSTGRES_TEST_URL is a URL");
        // Without TLS to the local test server. Once in CI the test binary
        // died of SIGSEGV at exit after every test had passed; the likely
        // cause is a server thread still winding down that frees libpq's
        // OpenSSL objects while OpenSSL's exit handlers run. The product's
        // own URLs keep whatever sslmode they give.
        let tls = if base.contains("sslmode=") {
            ""
        } else {
            "&sslmode=disable"
        };
        url.set_query(Some(&format!("options=-c%20search_path%3D{schema}{tls}")));
        Some(TestDb {
            url: url.to_string(),
            dir: tempfile::tempdir().expect("temp dir"),
            pooler: false,
            postgres: Some((base, schema)),
            database: None,
        })
    }

    /// A new database on the suite's PostgreSQL reached through a PgBouncer
    /// in transaction mode (one per test binary, two server connections per
    /// database); `None` with a notice where either is missing.
    pub fn pooled() -> Option<TestDb> {
        use crate::support::pg_processes::{installed, Bouncer};
        let base = postgres_url()?;
        if !installed(&["pgbouncer"]) {
            return None;
        }
        let mut url = url::Url::parse(&base).expect("POSTGRES_TEST_URL is a URL");
        static BOUNCER: std::sync::OnceLock<Bouncer> = std::sync::OnceLock::new();
        let bouncer = BOUNCER.get_or_init(|| Bouncer::start(url.port().unwrap_or(5432)));
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&base).expect("PostgreSQL");
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(bouncer.port)).unwrap();
        url.set_path(&name);
        url.set_query(Some("sslmode=disable"));
        Some(TestDb {
            url: url.to_string(),
            dir: tempfile::tempdir().expect("temp dir"),
            pooler: true,
            postgres: None,
            database: Some((base, name)),
        })
    }
}

/// The suite's PostgreSQL URL; `None` (with a notice printed once, and a
/// failure in CI) when `POSTGRES_TEST_URL` is not set.
fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| {
            // Written past the test harness's capture, so it is seen.
            let _ = writeln!(
                std::io::stderr(),
                "\nnotice: {POSTGRES_ENV} is not set: the PostgreSQL variant of every storage test is skipped\n"
            );
        });
        crate::support::not_in_ci(&format!("{POSTGRES_ENV} is not set"));
        return None;
    };
    Some(base)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.postgres {
            if let Ok(mut conn) = diesel::PgConnection::establish(base) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
        if let Some((base, name)) = &self.database {
            if let Ok(mut conn) = diesel::PgConnection::establish(base) {
                let _ = conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
            }
        }
    }
}

/// Runs each named `async fn name(db: TestDb)` on SQLite, on PostgreSQL
/// and on PostgreSQL through a PgBouncer in transaction mode, as
/// `name::sqlite`, `name::postgres` and `name::pooler`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::support::TestDb::sqlite()).await
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(db) = $crate::support::TestDb::postgres() {
                    super::$name(db).await
                }
            }
            #[actix_web::test]
            async fn pooler() {
                if let Some(db) = $crate::support::TestDb::pooled() {
                    super::$name(db).await
                }
            }
        }
    )*};
}
