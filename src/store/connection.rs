//! One connection enum over SQLite and PostgreSQL (`MultiConnection`), its
//! pool and per-connection SQLite settings (the migrations: `migrations.rs`).

use super::database_url::{postgres_target, Backend};
use super::sqlite_file::prepare_sqlite_file;
use super::StoreError;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2;
use diesel::{PgConnection, SqliteConnection};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The connection pool; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    transaction_pooler: bool,
    generation: Arc<AtomicU64>,
    waiting: Arc<AtomicUsize>,
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
    transaction_pooler: bool,
    generation: Arc<AtomicU64>,
    /// Requests now asking the pool for a connection.
    waiting: Arc<AtomicUsize>,
}

/// How a pool connects and keeps its connections ([`Db::open`]).
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// The most connections the pool opens.
    pub size: u32,
    /// Bounds connecting, each statement and waiting for a connection.
    pub timeout: Duration,
    /// A connection idle this long is closed (the reaper looks every 30 s).
    pub idle: Duration,
    /// A pooler in transaction mode (PgBouncer) sits before PostgreSQL:
    /// statements go with their parameters in one message (no named
    /// server-side prepared statement outlives its transaction there) and
    /// no session setting is sent, since the next transaction may run on
    /// another server connection; the role's own settings (`ALTER ROLE …
    /// SET statement_timeout`) bound the statements instead.
    pub transaction_pooler: bool,
}

impl PoolSettings {
    /// `size` connections bounded by `timeout`, closed after a minute idle,
    /// straight to the server.
    pub fn new(size: u32, timeout: Duration) -> PoolSettings {
        PoolSettings {
            size,
            timeout,
            idle: Duration::from_secs(60),
            transaction_pooler: false,
        }
    }
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
            Backend::Postgres if self.transaction_pooler => {
                use diesel::connection::{CacheSize, Connection as _};
                let mut c = PgConnection::establish(&self.target).map_err(E::ConnectionError)?;
                c.set_prepared_statement_cache_size(CacheSize::Disabled);
                DbConnection::Postgres(c)
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

    /// The pool retries a failed connect in the background until one
    /// succeeds, whether or not anyone still wants it; then it would keep
    /// a server's scarce slot (`too many clients`) that no request needs.
    /// Such a retry gives up at once, without a log line, when no request
    /// waits; the next request that waits makes the next retry real.
    fn connect(&self) -> Result<Conn, Self::Error> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection(super::connect_failures::NOT_WANTED.into()),
            ));
        }
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

impl Db {
    /// Opens a pool of at most `size` connections to `url`; `timeout`
    /// bounds connecting, each statement and waiting for a connection. For
    /// SQLite the file's directory is created if missing, and the files are
    /// made readable by their owner only.
    pub fn connect(url: &str, size: u32, timeout: Duration) -> Result<Db, StoreError> {
        Self::open(url, &PoolSettings::new(size, timeout))
    }

    /// [`Db::connect`] with every setting of the pool; an idle instance
    /// holds no backend once `settings.idle` passed.
    pub fn open(url: &str, settings: &PoolSettings) -> Result<Db, StoreError> {
        let PoolSettings {
            size,
            timeout,
            idle,
            transaction_pooler,
        } = *settings;
        let (backend, target) = Backend::from_url(url)?;
        let target = match backend {
            Backend::Sqlite => {
                prepare_sqlite_file(&target)?;
                target
            }
            Backend::Postgres => postgres_target(&target, timeout),
        };
        let generation = Arc::new(AtomicU64::new(0));
        let waiting = Arc::new(AtomicUsize::new(0));
        let manager = Manager {
            waiting: waiting.clone(),
            backend,
            target,
            timeout,
            transaction_pooler,
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
            transaction_pooler,
            generation,
            waiting,
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

    /// Whether a pooler in transaction mode sits before the database
    /// ([`PoolSettings::transaction_pooler`]).
    pub fn transaction_pooler(&self) -> bool {
        self.transaction_pooler
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
        if let Some(conn) = self.pool.try_get() {
            return Ok(conn);
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let got = self.pool.get();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        got.map_err(|e| StoreError::Pool(e.to_string()))
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
        if self.backend == Backend::Sqlite {
            return self.optimize();
        }
        self.conn()?.batch_execute("ANALYZE audit_events")?;
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
