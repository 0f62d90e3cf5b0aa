//! Storage: the diesel schema, models and queries, one connection type over
//! SQLite and PostgreSQL, the pool, and the embedded migrations. Only this
//! module imports diesel.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod compat;
mod connect_failures;
mod connection;
mod database_server;
mod database_url;
pub mod device;
pub mod dpop;
pub mod housekeeping;
pub mod keys;
mod migrations;
pub mod models;
pub mod reminders;
pub mod schema;
mod sqlite_file;
pub use sqlite_file::{backup_into, quick_check};
pub mod sso;
mod states;
pub mod token_queries;
pub mod tokens;

pub use connection::{transaction, Db, DbConnection, PoolSettings, PooledConnection};
pub use database_url::Backend;
pub use states::{SessionMode, SessionStatus, TokenKind};

/// A storage failure that is not the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had.
    #[error("database pool: {0}")]
    Pool(String),
    /// The database refused a query or could not be reached. (Not marked
    /// as the error's source: its text is in this one already, and a chain
    /// printed at exit would say it twice.)
    #[error("database: {0}")]
    Query(diesel::result::Error),
    /// A migration failed.
    #[error("migrations: {0}")]
    Migration(String),
    /// The URL names no backend patgate supports.
    #[error("database URL: {0}")]
    Url(String),
    /// The database holds a migration this binary does not know: a newer
    /// release migrated it, and this one would ignore what it added.
    #[error(
        "the database schema is newer than this patgate: the database has migration {database}, \
         this binary knows migrations up to {binary}; run the newer release (see the README's \
         \"Upgrades\")"
    )]
    SchemaNewer {
        /// The newest migration the database has that this binary lacks.
        database: String,
        /// The newest migration this binary knows.
        binary: String,
    },
}

/// Whether an error's text is libpq's for a connection that is gone: the
/// backend terminated, the server down, or a standby reached after a
/// failover (it takes no writes). A pooled connection that said so is
/// useless, and the others to the same server likely are too: they are
/// all replaced (see [`Db::renew_connections`]).
pub fn says_connection_lost(text: &str) -> bool {
    const LOST: [&str; 9] = [
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "could not receive data",
        "could not send data",
        "ssl syscall",
        "eof detected",
        "read-only transaction",
        "the database system is",
    ];
    mentions_any(text, &LOST)
}

/// Whether an error's text says the stored data itself is damaged: a
/// malformed SQLite page or file, an I/O error reading it, or a PostgreSQL
/// page that fails its check. A retry does not help; the readiness probe
/// fails for a while after one (see `web::health`).
pub fn says_storage_damaged(text: &str) -> bool {
    const DAMAGED: [&str; 5] = [
        "database disk image is malformed",
        "file is not a database",
        "disk i/o error",
        "invalid page in block",
        "could not read block",
    ];
    mentions_any(text, &DAMAGED)
}

/// Whether `text` contains one of the lowercase `phrases`, ignoring case.
fn mentions_any(text: &str, phrases: &[&str]) -> bool {
    let text = text.to_ascii_lowercase();
    phrases.iter().any(|p| text.contains(p))
}

/// The result of an INSERT where a unique-key clash is an answer, not an
/// error: `Ok(true)` inserted, `Ok(false)` the key exists.
pub(crate) fn inserted(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<usize>,
) -> Result<bool, StoreError> {
    match connection::savepoint(conn, insert).map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::Query(e)
    }
}

impl StoreError {
    /// Whether this failure says the database cannot serve now (no
    /// connection in time, a statement timeout, a lock, a full disk, a
    /// read-only file, a backend terminated, a failover under way, a
    /// standby that takes no writes, a serialization failure) rather than
    /// that a query is wrong: answered 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        const TRANSIENT: [&str; 11] = [
            "statement timeout",
            "lock timeout",
            "database is locked",
            "disk is full",
            "readonly database",
            "disk i/o error",
            "could not connect",
            "connection to server",
            "recovery is in progress",
            "too many clients",
            "remaining connection slots",
        ];
        match self {
            StoreError::Pool(_) => true,
            StoreError::Query(
                E::DatabaseError(
                    K::ClosedConnection
                    | K::UnableToSendCommand
                    | K::SerializationFailure
                    | K::ReadOnlyTransaction,
                    _,
                )
                // The connection died inside a transaction.
                | E::BrokenTransactionManager
                | E::RollbackErrorOnCommit { .. },
            ) => true,
            StoreError::Query(e) => {
                let text = e.to_string().to_ascii_lowercase();
                TRANSIENT.iter().any(|t| text.contains(t)) || self.lost_connection()
            }
            _ => false,
        }
    }

    /// Whether this failure means the connection's file went read-only or
    /// its storage failed, or its PostgreSQL connection is gone (see
    /// [`says_connection_lost`]), so connections should be reopened.
    pub fn needs_new_connections(&self) -> bool {
        let text = self.to_string().to_ascii_lowercase();
        text.contains("readonly database")
            || text.contains("disk i/o error")
            || self.lost_connection()
    }

    /// Whether this failure says the PostgreSQL connection is gone.
    pub fn lost_connection(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match self {
            StoreError::Query(E::DatabaseError(
                K::ClosedConnection | K::ReadOnlyTransaction,
                _,
            )) => true,
            StoreError::Query(_) => says_connection_lost(&self.to_string()),
            _ => false,
        }
    }

    /// Whether this failure is a unique-constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

#[cfg(test)]
mod tests {
    /// SQLite (3.47 on) re-prepares a statement whose `LIMIT` is a bound
    /// parameter each time it is bound again, as diesel's `first` does: the
    /// cached statement of the exchange's token read was parsed anew on
    /// every exchange (a fifth of its CPU). Reads by a unique key use
    /// `get_result`, which steps once and binds no `LIMIT`.
    #[test]
    fn reads_by_key_bind_no_limit() {
        let files = [
            include_str!("tokens.rs"),
            include_str!("token_queries.rs"),
            include_str!("keys.rs"),
            include_str!("accounts.rs"),
            include_str!("authorization.rs"),
            include_str!("device.rs"),
            include_str!("sso.rs"),
            include_str!("compat.rs"),
        ];
        for source in files {
            assert!(
                !source.contains(".first(conn)"),
                "a store query uses first()"
            );
        }
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::StoreError;
    use diesel::result::{DatabaseErrorKind as K, Error as E};

    fn db_error(kind: K, text: &str) -> StoreError {
        StoreError::Query(E::DatabaseError(kind, Box::new(text.to_string())))
    }

    /// What libpq says while a backend is terminated or a primary fails
    /// over is 503 material; a wrong query is not.
    #[test]
    fn failover_errors_are_unavailable() {
        for text in [
            "no connection to the server",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
            "cannot execute INSERT in a read-only transaction",
            "the database system is in recovery mode",
            "sorry, too many clients already",
        ] {
            assert!(db_error(K::Unknown, text).is_unavailable(), "{text}");
        }
        assert!(db_error(K::SerializationFailure, "x").is_unavailable());
        assert!(StoreError::Query(E::BrokenTransactionManager).is_unavailable());
        assert!(!db_error(K::Unknown, "syntax error at or near").is_unavailable());
        assert!(!db_error(K::UniqueViolation, "duplicate key").is_unavailable());
    }
}
