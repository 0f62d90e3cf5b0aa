//! The embedded migrations of both backends, applied one at a time with
//! their names and durations in the log, and the schema guard: a binary
//! never serves a database that a newer release migrated.

use super::connection::{transaction, Db, DbConnection};
use super::StoreError;
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// PostgreSQL advisory-lock key held while migrating ("patgate" in ASCII).
const MIGRATION_LOCK: i64 = 0x0070_6174_6761_7465;

impl Db {
    /// Refuses a database that a newer release migrated: one with a
    /// migration this binary does not know ([`StoreError::SchemaNewer`]).
    /// Checked when migrating (at start) and by the readiness probe, so an
    /// older instance stops serving once a newer one migrated the database.
    pub fn check_schema(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        schema_known(&mut conn)
    }

    /// Applies pending migrations; harmless when none are pending. Refuses
    /// a database whose schema is newer than this binary (see
    /// [`Self::check_schema`]), checked under the same lock.
    pub fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let conn = &mut **conn;
        match conn {
            // Instances starting together take turns: the whole run holds
            // the write lock (each migration is a savepoint inside), so none
            // applies a migration another has just applied.
            DbConnection::Sqlite(_) => transaction(conn, |conn| {
                schema_known(conn)?;
                let DbConnection::Sqlite(c) = conn else {
                    unreachable!("matched above")
                };
                run_logged(c, SQLITE_MIGRATIONS)
            }),
            // The whole run is one transaction holding a transaction-level
            // lock (each migration is a savepoint inside), so it works the
            // same through a pooler in transaction mode, and instances
            // starting together take turns.
            DbConnection::Postgres(_) => transaction(conn, |conn| {
                let DbConnection::Postgres(c) = conn else {
                    unreachable!("matched above")
                };
                wait_for_migration_lock(c)?;
                // A migration that fills a table from a million rows takes
                // longer than a request's statement timeout; its locks stay
                // bounded by `lock_timeout`, so it gives up rather than
                // queue every reader behind it.
                c.batch_execute("SET LOCAL statement_timeout = 0")?;
                schema_known(conn)?;
                let DbConnection::Postgres(c) = conn else {
                    unreachable!("matched above")
                };
                run_logged(c, POSTGRES_MIGRATIONS)
            }),
        }
    }
}

/// Takes the migration lock of this transaction, asking again every 250 ms
/// while another instance holds it (never blocking in one statement, which
/// the statement timeout would cut short).
fn wait_for_migration_lock(c: &mut diesel::PgConnection) -> Result<(), StoreError> {
    let try_lock = || {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "pg_try_advisory_xact_lock({MIGRATION_LOCK})"
        )))
    };
    let mut said = false;
    while !diesel::RunQueryDsl::get_result::<bool>(try_lock(), c)? {
        if !std::mem::replace(&mut said, true) {
            tracing::info!("another instance is migrating the database; waiting for it");
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    Ok(())
}

/// Applies the pending migrations of `source` one at a time, saying in the
/// log which one runs and how long it took (a big table's migration can
/// take a while, and `serve` says what it waits for); how many.
fn run_logged<C, DB>(c: &mut C, source: EmbeddedMigrations) -> Result<usize, StoreError>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    let pending = c.pending_migrations(source).map_err(failed)?;
    for (i, migration) in pending.iter().enumerate() {
        let name = migration.name().to_string();
        tracing::info!(migration = %name, step = i + 1, of = pending.len(), "applying a database migration");
        let started = std::time::Instant::now();
        c.run_migration(migration.as_ref()).map_err(failed)?;
        let millis = started.elapsed().as_millis();
        tracing::info!(migration = %name, millis, "database migration applied");
    }
    Ok(pending.len())
}

/// Whether every migration `conn`'s database has applied is one this
/// binary knows; [`StoreError::SchemaNewer`] otherwise.
fn schema_known(conn: &mut DbConnection) -> Result<(), StoreError> {
    let (applied, known) = match conn {
        DbConnection::Sqlite(c) => (
            c.applied_migrations(),
            known::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
        ),
        DbConnection::Postgres(c) => (
            c.applied_migrations(),
            known::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS),
        ),
    };
    let applied = applied.map_err(|e| StoreError::Migration(e.to_string()))?;
    let unknown = applied
        .iter()
        .map(ToString::to_string)
        .filter(|v| !known.contains(v))
        .max();
    match unknown {
        None => Ok(()),
        Some(database) => Err(StoreError::SchemaNewer {
            database,
            binary: known.into_iter().max().unwrap_or_default(),
        }),
    }
}

/// The versions of the migrations this binary embeds for one backend.
fn known<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> std::collections::BTreeSet<String>
where
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    diesel::migration::MigrationSource::<DB>::migrations(source)
        .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default()
}
