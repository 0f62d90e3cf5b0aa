//! The infrastructure every request and command shares, opened once from
//! the configuration: settings, storage, keys, time and randomness. What a
//! request does with it runs in a [`Tx`]: one connection, one transaction.

use crate::clock::{Clock, OffsetClock, OsRandom, RandomSource, SystemClock};
use crate::config::Config;
use crate::dedicated_threads::DedicatedThreads;
use crate::error::InternalError;
use crate::keys::{KeyError, KeyRing, MasterKey};
use crate::secret::hashing::SecretHasher;
use crate::secret::lanes::HashingLanes;
use crate::secret::verified_cache::VerifiedSecretCache;
use crate::store::{Db, DbConnection, PooledConnection, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long a verified secret stays cached.
const VERIFIED_TTL: Duration = Duration::from_secs(15 * 60);
/// How many verified secrets are cached at most.
const VERIFIED_CAPACITY: usize = 100_000;

/// Configuration, storage, keys, clock and randomness (infrastructure only).
pub struct Services {
    /// The settings in effect.
    pub config: Config,
    /// The database pool.
    pub db: Db,
    /// Where time comes from: the given clock, set to the database's on
    /// PostgreSQL (`database_clock`; see [`Services::follow_database_clock`]).
    pub clock: Arc<OffsetClock>,
    /// Where randomness comes from.
    pub random: Arc<dyn RandomSource>,
    /// Hashes and verifies token secrets.
    pub hasher: SecretHasher,
    /// A hash of no one's password, computed at start: a sign-in for an
    /// unknown user verifies against it, so timing does not tell users apart.
    pub dummy_password_hash: String,
    /// Recently verified secrets, as MACs.
    pub verified: VerifiedSecretCache,
    /// Signing keys.
    pub keys: KeyRing,
    /// Turns for secret hashing, one bounded queue per kind of work.
    pub lanes: HashingLanes,
    /// This process's random id (its readiness row).
    pub instance: String,
    /// The threads that run the warm exchange's read and signature.
    pub exchange_threads: DedicatedThreads,
    /// The Prometheus metrics of this process.
    pub metrics: crate::metrics::Metrics,
}

/// One unit of work: the services and one database connection, inside a
/// transaction when it came from [`Services::write`].
pub struct Tx<'a> {
    /// The services.
    pub svc: &'a Services,
    /// The connection (and transaction) of this unit of work.
    pub conn: &'a mut DbConnection,
}

impl Tx<'_> {
    /// The current time from the configured clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.svc.now()
    }

    /// The settings in effect.
    pub fn config(&self) -> &Config {
        &self.svc.config
    }
}

/// Why patgate could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl Services {
    /// Opens the database, applies migrations, loads the master key and makes
    /// sure a signing key is active. Blocking.
    pub fn open(config: Config) -> Result<Services, StartError> {
        Self::open_with(config, Arc::new(SystemClock), Arc::new(OsRandom))
    }

    /// `open` with a given clock and random source (tests fix them).
    pub fn open_with(
        config: Config,
        clock: Arc<dyn Clock>,
        random: Arc<dyn RandomSource>,
    ) -> Result<Services, StartError> {
        if config.is_embedded_default() && !config.data_dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&config.data_dir)
                .map_err(|e| StartError::Other(format!("{}: {e}", config.data_dir.display())))?;
        }
        let db = Db::open(&config.effective_database_url(), &config.pool_settings())?;
        db.migrate()?;
        // Fresher planner statistics help but are not needed to serve (a
        // damaged page is reported by `serve`'s check instead).
        if let Err(e) = db.optimize() {
            tracing::warn!(error = %e, "could not refresh the query planner's statistics");
        }
        for warning in db.setting_warnings()? {
            tracing::warn!("{warning}");
        }
        let clock = Arc::new(OffsetClock::new(clock));
        let master = match &config.master_key {
            Some(value) => MasterKey::from_base64(&value.0)?,
            None => {
                let path = config
                    .master_key_file
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("master.key"));
                // A new key only for a new database: keys sealed with
                // another one would be unreadable, and a command run
                // without the key must not leave a useless file behind.
                if !path.exists() && crate::store::keys::any(&mut *db.conn()?)? {
                    return Err(StartError::Other(format!(
                        "the master key is missing: {} does not exist, but the database holds \
                         signing keys sealed with a master key; set PATGATE_MASTER_KEY, \
                         master_key or master_key_file",
                        path.display()
                    )));
                }
                MasterKey::load_or_create(&path, random.as_ref())?
            }
        };
        let (h, l) = (&config.hashing, &config.limits);
        let lanes = HashingLanes::new(
            h.max_concurrent as usize,
            l.hashing_queue as usize,
            Duration::from_secs(l.hashing_wait.seconds().unsigned_abs()),
        );
        let hasher = SecretHasher::new(
            h.argon2_memory_kib,
            h.argon2_iterations,
            h.argon2_parallelism,
            lanes.total_turns(),
        )
        .map_err(|e| StartError::Other(e.to_string()))?;
        let dummy_password_hash = hasher
            .hash("no one's password", random.as_ref())
            .map_err(|e| StartError::Other(format!("cannot hash with argon2: {e}")))?;
        let exchange_threads = DedicatedThreads::start("exchange", exchange_thread_count(&db))
            .map_err(|e| StartError::Other(format!("cannot start threads: {e}")))?;
        let services = Services {
            exchange_threads,
            metrics: crate::metrics::Metrics::new(),
            instance: crate::clock::random_alphanumeric(random.as_ref(), 16),
            verified: VerifiedSecretCache::new(random.as_ref(), VERIFIED_TTL, VERIFIED_CAPACITY),
            lanes,
            keys: KeyRing::new(master, config.signing_algorithm),
            hasher,
            dummy_password_hash,
            config,
            db,
            clock,
            random,
        };
        services.follow_database_clock()?;
        let now = services.now();
        services
            .keys
            .ensure_active(&mut *services.conn()?, services.random.as_ref(), now)?;
        Ok(services)
    }

    /// The current time from the configured clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Measures this machine's clock against the PostgreSQL server's and
    /// sets the clock's offset to it (when `database_clock = "database"`),
    /// so every instance decides expiry, grace and last use by the same
    /// clock; warns when the offset is over a second. Returns it (`None`
    /// on SQLite or when following the local clock). Blocking.
    pub fn follow_database_clock(&self) -> Result<Option<chrono::Duration>, StoreError> {
        if self.config.database_clock != crate::config::DatabaseClock::Database {
            return Ok(None);
        }
        let Some((before, server, after)) = self.db.server_time(|| self.clock.local())? else {
            return Ok(None);
        };
        let previous = self.clock.offset();
        let offset = self.clock.set_from(before, server, after);
        let seconds = offset.num_microseconds().unwrap_or(0) as f64 / 1e6;
        self.metrics.clock_offset(seconds);
        let far = |d: chrono::Duration| d.num_milliseconds().abs() > 1000;
        if far(offset) && (offset - previous).num_milliseconds().abs() > 1000 {
            tracing::warn!(
                offset_seconds = seconds,
                "this machine's clock is off the database server's; patgate follows the \
                 database's (fix NTP on the machine that is wrong)"
            );
        }
        Ok(Some(offset))
    }

    /// How long a request's blocking work may take before it is answered
    /// 503: the database timeout, and a second for the rest.
    pub fn request_deadline(&self) -> Duration {
        Duration::from_secs(self.config.limits.database_timeout.seconds().unsigned_abs() + 1)
    }

    /// A pooled connection. Blocking.
    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        self.db.conn()
    }

    /// Runs `work` in one write transaction on one pooled connection: it
    /// commits when `work` returns `Ok`, and leaves nothing behind when it
    /// returns `Err` or panics. Blocking.
    pub fn write<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        crate::store::transaction(&mut conn, |conn| work(&mut Tx { svc: self, conn }))
    }

    /// Runs `work` on one pooled connection, without a transaction (reads). Blocking.
    pub fn read<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn()?;
        work(&mut Tx {
            svc: self,
            conn: &mut conn,
        })
    }

    /// Deletes expired authorization sessions (a day after expiry, so a late
    /// code replay is still recognised), ended browser sessions and old
    /// sign-in failures. Blocking.
    pub fn purge_expired(&self) -> Result<crate::store::housekeeping::Purged, InternalError> {
        let idle = self.config.session_idle_timeout.duration();
        let purged = crate::store::housekeeping::purge(
            &mut *self.conn()?,
            self.now(),
            chrono::Duration::days(1),
            idle,
        )?;
        // With the purge, every few minutes: the planner's statistics.
        self.db.optimize()?;
        Ok(purged)
    }

    /// Whether the database answers and takes a write (this instance's
    /// probe row); connections are renewed when the file went read-only.
    /// Blocking.
    pub fn probe_writable(&self) -> Result<(), InternalError> {
        // A newer release migrated the database: stop taking traffic.
        self.db.check_schema()?;
        let written = self.conn().and_then(|mut c| {
            crate::store::housekeeping::probe_write(&mut c, &self.instance, self.now())
        });
        if let Err(e) = &written {
            self.db.renew_after(e);
        }
        Ok(written?)
    }

    /// The JWKS document (RFC 7517 §5) of the keys published now. Blocking.
    pub fn jwks(&self) -> Result<serde_json::Value, InternalError> {
        Ok(KeyRing::jwks(&mut *self.conn()?, self.now())?)
    }
}

/// Threads for the exchange's blocking step: one per CPU on SQLite (its
/// reads do not wait); on PostgreSQL, where each waits a network round
/// trip, four per CPU within the pool's size.
fn exchange_thread_count(db: &Db) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    match db.backend() {
        crate::store::Backend::Sqlite => cpus,
        crate::store::Backend::Postgres => (cpus * 4).min(db.max_size() as usize).max(1),
    }
}
