//! Storage: the diesel schema, models and queries, one connection type over
//! SQLite and PostgreSQL, the pool, and the embedded migrations. Only this
//! module imports diesel.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod compat;
mod connection;
pub mod device;
pub mod housekeeping;
pub mod keys;
pub mod models;
pub mod reminders;
pub mod schema;
pub mod sso;
mod states;
pub mod token_queries;
pub mod tokens;

pub use connection::{transaction, Backend, Db, DbConnection, PooledConnection};
pub use states::{SessionMode, SessionStatus, TokenKind};

/// A storage failure that is not the caller's fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection could be had.
    #[error("database pool: {0}")]
    Pool(String),
    /// The database refused a query or could not be reached.
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("migrations: {0}")]
    Migration(String),
    /// The URL names no backend patgate supports.
    #[error("database URL: {0}")]
    Url(String),
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

impl StoreError {
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
