//! The internal error: what went wrong on the server's side. Its details are
//! logged with the request id and never sent to a client.

use crate::keys::KeyError;
use crate::store::StoreError;
use crate::tokens::hashing::HashingError;

/// A failure that is not the caller's mistake.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Secret hashing.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The blocking pool failed (a panic in blocking work, or shutdown).
    #[error("blocking task: {0}")]
    Blocking(String),
}
