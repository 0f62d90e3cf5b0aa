//! The errors of the domain: [`InternalError`] (the server's fault; its
//! details are logged with the request id and never sent to a client) and
//! [`OpError`] (why an operation did not happen). The web layer decides the
//! HTTP status of each in one place (`web::errors`).

use crate::keys::KeyError;
use crate::policy::rules::Violation;
use crate::policy::Denied;
use crate::secret::hashing::HashingError;
use crate::store::StoreError;

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
    /// The blocking pool failed: a panic in blocking work, or shutdown.
    #[error("blocking task: {0}")]
    Blocking(String),
    /// The process is shutting down (the hashing permits are closed).
    #[error("shutting down")]
    ShuttingDown,
    /// Request work did not finish within the request deadline (a stalled
    /// database, most likely).
    #[error("no answer within {0:?}")]
    Deadline(std::time::Duration),
    /// A hashing lane's queue is full or its wait ran out (overload).
    #[error("hashing queue full: {0:?}")]
    Busy(crate::secret::lanes::Lane),
    /// The exchange's threads have too many jobs waiting (a stalled
    /// database, or overload).
    #[error("{0}")]
    Backlog(String),
    /// Random values kept colliding (a free user code after several tries).
    #[error("no free {0} after several tries")]
    Exhausted(&'static str),
    /// A file the configuration names could not be read.
    #[error("configured file: {0}")]
    ConfiguredFile(String),
    /// A row this unit of work wrote could not be read back.
    #[error("{0} vanished inside its own transaction")]
    Vanished(&'static str),
    /// Stored data patgate wrote itself does not parse.
    #[error("stored {what} is malformed: {why}")]
    Stored {
        /// What was read.
        what: &'static str,
        /// The parser's complaint.
        why: String,
    },
    /// Building an HTTP answer failed (a header or cookie value).
    #[error("answer: {0}")]
    Answer(String),
    /// An outbound HTTP client could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

impl InternalError {
    /// Whether this is overload or a database that cannot serve now, not a
    /// defect: answered 503 with `Retry-After` (RFC 9110 §15.6.4).
    pub fn is_unavailable(&self) -> bool {
        match self {
            InternalError::Busy(_)
            | InternalError::Backlog(_)
            | InternalError::ShuttingDown
            | InternalError::Deadline(_) => true,
            InternalError::Store(e) | InternalError::Keys(crate::keys::KeyError::Store(e)) => {
                e.is_unavailable()
            }
            _ => false,
        }
    }
}

impl From<crate::secret::lanes::NoTurn> for InternalError {
    fn from(e: crate::secret::lanes::NoTurn) -> Self {
        match e {
            crate::secret::lanes::NoTurn::Busy(lane) => InternalError::Busy(lane),
            crate::secret::lanes::NoTurn::Closed => InternalError::ShuttingDown,
        }
    }
}

/// A conflict with the current state of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The owner already has an active token of this kind with this name.
    NameTaken,
    /// The token is revoked already.
    AlreadyRevoked,
    /// The token is not revoked.
    NotRevoked,
    /// The token is revoked or expired, so it cannot change.
    Inactive,
    /// A token with this id exists already.
    DuplicateId,
}

impl Conflict {
    /// A sentence for the caller.
    pub fn message(self) -> &'static str {
        match self {
            Conflict::NameTaken => "the owner already has an active token with this name",
            Conflict::AlreadyRevoked => "the token is already revoked",
            Conflict::NotRevoked => "the token is not revoked",
            Conflict::Inactive => "revoked or expired tokens cannot be changed",
            Conflict::DuplicateId => "a token with this id exists",
        }
    }
}

/// Why a domain operation did not happen. When it ran in a transaction,
/// nothing of it remains.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The caller's credential no longer stands: its token was revoked or
    /// its account disabled by a change that committed first.
    #[error("not authenticated")]
    Unauthenticated,
    /// The policy refused the principal.
    #[error("denied: {0:?}")]
    Denied(Denied),
    /// A rule on tokens is broken (the field and why).
    #[error("invalid {}: {}", .0.field, .0.message)]
    Invalid(Violation),
    /// A parameter is malformed (a cursor, a number out of range).
    #[error("malformed: {0}")]
    Malformed(String),
    /// No such thing, or not one the caller may know of.
    #[error("not found")]
    NotFound,
    /// The state does not allow it.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<Denied> for OpError {
    fn from(d: Denied) -> Self {
        OpError::Denied(d)
    }
}

impl From<Violation> for OpError {
    fn from(v: Violation) -> Self {
        OpError::Invalid(v)
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        OpError::Internal(e.into())
    }
}

impl From<KeyError> for OpError {
    fn from(e: KeyError) -> Self {
        OpError::Internal(e.into())
    }
}

impl From<HashingError> for OpError {
    fn from(e: HashingError) -> Self {
        OpError::Internal(e.into())
    }
}
