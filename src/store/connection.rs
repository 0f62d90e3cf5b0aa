//! One connection enum over SQLite and PostgreSQL (`MultiConnection`), its
//! pool and per-connection SQLite settings (the migrations: `migrations.rs`).

use super::sqlite_file::prepare_sqlite_file;
use super::StoreError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2;
use diesel::{PgConnection, SqliteConnection};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// For several instances sharing one database.
    Postgres(PgConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, bundled.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// Reads the backend from a URL: a PostgreSQL URI (`postgres://` or
    /// `postgresql://`, multi-host `h1:p1,h2:p2` included) or a libpq
    /// keyword string (`host=… dbname=…`), both passed to libpq as given;
    /// `sqlite://path`, `sqlite:path` or a bare file path for SQLite.
    /// Anything else (another scheme, a keyword string that names no
    /// PostgreSQL setting) is refused, never taken for a file name.
    /// Returns the backend and the string its driver expects.
    pub fn from_url(url: &str) -> Result<(Backend, String), StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        if let Some(first) = keyword_of(url) {
            return match LIBPQ_KEYWORDS.contains(&first.as_str()) {
                true => Ok((Backend::Postgres, url.to_string())),
                false => Err(StoreError::Url(format!(
                    "{first:?} is not a libpq connection keyword; expected postgres://…, \
                     host=… dbname=…, sqlite://path or a file path"
                ))),
            };
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(StoreError::Url(
                "expected postgres://…, host=… dbname=…, sqlite://path or a file path".into(),
            ));
        }
        Ok((Backend::Sqlite, path.to_string()))
    }
}

/// The keywords of libpq connection strings (PostgreSQL 15, §34.1.2) that
/// name where and how to connect; one of them starts a keyword string.
const LIBPQ_KEYWORDS: [&str; 12] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "application_name",
    "options",
    "target_session_attrs",
];

/// The keyword of `s` when it reads `keyword = value …` (a word of letters
/// and `_` before an `=`), as libpq keyword strings do.
fn keyword_of(s: &str) -> Option<String> {
    let (key, _) = s.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .then(|| key.to_ascii_lowercase())
}

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The connection pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    generation: Arc<AtomicU64>,
}

/// A connection as the pool keeps it: the connection and the generation of
/// connections it belongs to (see [`Db::renew_connections`]).
pub struct Conn {
    conn: DbConnection,
    generation: u64,
    /// When the server last answered a check on this connection.
    checked_at: std::time::Instant,
}

/// A pooled PostgreSQL connection is checked (`SELECT 1`) on checkout
/// when its last check is older than this: once a second at most, so the
/// exchange's read stays the only round trip of a busy connection.
const CHECK_AFTER: Duration = Duration::from_secs(1);

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Opens connections of one backend directly (so the driver's own error,
/// such as "connection refused", reaches the log) and sets them up.
pub struct Manager {
    backend: Backend,
    target: String,
    timeout: Duration,
    generation: Arc<AtomicU64>,
}

impl Manager {
    fn open(&self) -> Result<DbConnection, diesel::r2d2::Error> {
        use diesel::r2d2::Error as E;
        use diesel::Connection;
        Ok(match self.backend {
            Backend::Sqlite => {
                let mut c =
                    SqliteConnection::establish(&self.target).map_err(E::ConnectionError)?;
                c.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    self.timeout.as_millis()
                ))
                .map_err(E::QueryError)?;
                DbConnection::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.target).map_err(E::ConnectionError)?;
                c.batch_execute(&format!(
                    "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
                     SET idle_in_transaction_session_timeout = {idle}",
                    ms = self.timeout.as_millis(),
                    idle = self.timeout.as_millis() * 6,
                ))
                .map_err(E::QueryError)?;
                DbConnection::Postgres(c)
            }
        })
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        Ok(Conn {
            generation: self.generation.load(Ordering::Acquire),
            conn: self.open()?,
            checked_at: std::time::Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        // A SQLite file does not go away; a PostgreSQL server may have.
        match &mut conn.conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgres(_) if conn.checked_at.elapsed() < CHECK_AFTER => Ok(()),
            DbConnection::Postgres(c) => {
                c.batch_execute("SELECT 1")
                    .map_err(diesel::r2d2::Error::QueryError)?;
                conn.checked_at = std::time::Instant::now();
                Ok(())
            }
        }
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.generation != self.generation.load(Ordering::Acquire) || conn.conn.is_broken()
    }
}

/// libpq settings that bound a stalled server: connect timeout, TCP
/// keepalives and the TCP user timeout, unless the URL sets them. Added
/// as text, to a URI's query or a keyword string's end, so what libpq
/// reads otherwise is the operator's string unchanged (a multi-host URI
/// is no URL that `url::Url` parses).
fn postgres_target(url: &str, timeout: Duration) -> String {
    let keywords = !url.contains("://");
    let given: Vec<String> = if keywords {
        url.split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k.trim().to_string()))
            .collect()
    } else {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect()
    };
    let secs = timeout.as_secs().max(1);
    let wanted = [
        ("connect_timeout", secs.to_string()),
        ("keepalives", "1".into()),
        ("keepalives_idle", secs.to_string()),
        ("keepalives_interval", secs.div_ceil(3).to_string()),
        ("keepalives_count", "3".into()),
        ("tcp_user_timeout", (secs * 1000).to_string()),
    ];
    let mut target = url.to_string();
    for (key, value) in wanted.iter().filter(|(k, _)| !given.iter().any(|g| g == k)) {
        let separator = match (keywords, target.contains('?')) {
            (true, _) => ' ',
            (false, true) => '&',
            (false, false) => '?',
        };
        target.push(separator);
        target.push_str(key);
        target.push('=');
        target.push_str(value);
    }
    target
}

impl Db {
    /// Opens a pool of at most `size` connections to `url`; `timeout`
    /// bounds connecting, each statement and waiting for a connection. For
    /// SQLite the file's directory is created if missing, and the files are
    /// made readable by their owner only.
    pub fn connect(url: &str, size: u32, timeout: Duration) -> Result<Db, StoreError> {
        Self::connect_idle(url, size, timeout, Duration::from_secs(60))
    }

    /// [`Db::connect`] closing connections idle for `idle` (the pool's
    /// reaper looks every 30 s), so an idle instance holds no backend.
    pub fn connect_idle(
        url: &str,
        size: u32,
        timeout: Duration,
        idle: Duration,
    ) -> Result<Db, StoreError> {
        let (backend, target) = Backend::from_url(url)?;
        let target = match backend {
            Backend::Sqlite => {
                prepare_sqlite_file(&target)?;
                target
            }
            Backend::Postgres => postgres_target(&target, timeout),
        };
        let generation = Arc::new(AtomicU64::new(0));
        let manager = Manager {
            backend,
            target,
            timeout,
            generation: generation.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(size)
            // No background replenishing: a connection being opened (TLS in
            // libpq) while the process exits races OpenSSL's exit handlers.
            .min_idle(Some(0))
            .idle_timeout(Some(idle))
            .error_handler(Box::new(
                super::connect_failures::LogOncePerInterval::default(),
            ))
            .connection_timeout(timeout)
            .build_unchecked(manager);
        Ok(Db {
            pool,
            backend,
            generation,
        })
    }

    /// Makes every connection now open be replaced by a new one as soon as
    /// it is returned: after a write failed because the file became
    /// read-only, say, a connection opened read-only would keep failing
    /// even once the cause is fixed.
    pub fn renew_connections(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// (open, idle) connections of the pool now.
    pub fn connections(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// The most connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// The backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// A connection from the pool. Blocking: call from the blocking pool.
    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        self.pool.get().map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// Lets SQLite refresh its query planner's statistics where they are
    /// stale (`PRAGMA optimize`: cheap when nothing changed, and bounded by
    /// `analysis_limit`); PostgreSQL's autovacuum analyzes by itself.
    pub fn optimize(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        if let DbConnection::Sqlite(c) = &mut **conn {
            c.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?;
        }
        Ok(())
    }

    /// Refreshes the planner's statistics of the audit trail after a bulk
    /// change (`ANALYZE audit_events` on PostgreSQL, `PRAGMA optimize` on
    /// SQLite), rather than waiting for autovacuum's threshold.
    pub fn analyze_audit(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        match &mut **conn {
            DbConnection::Postgres(c) => c.batch_execute("ANALYZE audit_events")?,
            DbConnection::Sqlite(c) => {
                c.batch_execute("PRAGMA analysis_limit = 1000; PRAGMA optimize;")?
            }
        }
        Ok(())
    }

    /// After a failure: renews the connections when `e` says the file went
    /// read-only or its storage failed (see [`Db::renew_connections`]).
    pub fn renew_after(&self, e: &StoreError) {
        if e.needs_new_connections() {
            self.renew_connections();
        }
    }
}

/// Runs `work` in one transaction on `conn`: committed when it returns
/// `Ok`, rolled back when it returns `Err` (or panics: the pool then drops
/// the connection). On SQLite the transaction takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two writers queue on `busy_timeout` instead of
/// failing when one upgrades a read. Statements inside that may fail by
/// design (a unique key) run in their own savepoint.
pub fn transaction<T, E: From<StoreError>>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c),
    }
    .map_err(StoreError::from)?;
    match work(conn) {
        Ok(value) => {
            if let Err(e) =
                <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn)
            {
                rollback(conn);
                return Err(StoreError::from(e).into());
            }
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

/// Rolls back the open transaction, if one is still open.
fn rollback(conn: &mut DbConnection) {
    let open =
        <DbConnection as TransactionManager<DbConnection>>::transaction_manager_status_mut(conn)
            .transaction_depth()
            .is_ok_and(|d| d.is_some());
    if open {
        if let Err(e) =
            <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn)
        {
            tracing::warn!(error = %e, "rollback failed; the connection is dropped");
        }
    }
}

/// Runs `statement` in a savepoint of the current transaction (or its own
/// transaction outside one), so a failure it reports, such as a unique-key
/// clash, leaves the enclosing transaction usable (PostgreSQL aborts a
/// transaction on any error otherwise).
pub(crate) fn savepoint<T>(
    conn: &mut DbConnection,
    statement: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    use diesel::Connection;
    conn.transaction(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_settings_are_added_as_text() {
        let t = Duration::from_secs(5);
        assert_eq!(
            postgres_target("postgres://u@h1:1,h2:2/db?connect_timeout=9", t),
            "postgres://u@h1:1,h2:2/db?connect_timeout=9&keepalives=1&keepalives_idle=5\
             &keepalives_interval=2&keepalives_count=3&tcp_user_timeout=5000"
        );
        assert_eq!(
            postgres_target("host=a dbname=d keepalives=0", t),
            "host=a dbname=d keepalives=0 connect_timeout=5 keepalives_idle=5 \
             keepalives_interval=2 keepalives_count=3 tcp_user_timeout=5000"
        );
        assert!(
            postgres_target("postgres://h/db", t).starts_with("postgres://h/db?connect_timeout=5&")
        );
    }

    #[test]
    fn backend_follows_the_url_scheme() {
        let pg = "postgres://u@h:5432/db";
        assert_eq!(
            Backend::from_url(pg).unwrap(),
            (Backend::Postgres, pg.to_string())
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("sqlite://data/p.db").unwrap(),
            (Backend::Sqlite, "data/p.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:///abs/p.db").unwrap().1,
            "/abs/p.db"
        );
        assert_eq!(
            Backend::from_url("./p.db").unwrap(),
            (Backend::Sqlite, "./p.db".into())
        );
        let multi = "postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write";
        assert_eq!(
            Backend::from_url(multi).unwrap(),
            (Backend::Postgres, multi.to_string())
        );
        let keywords = "host=h1,h2 port=5432,5433 dbname=db";
        assert_eq!(
            Backend::from_url(keywords).unwrap(),
            (Backend::Postgres, keywords.to_string())
        );
        assert!(
            Backend::from_url("hots=h1 dbname=db").is_err(),
            "a misspelt keyword string is not a file name"
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }
}
