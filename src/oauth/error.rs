//! OAuth2 error responses (RFC 6749 §5.2).

/// An `error` code of RFC 6749 §5.2 (and §4.1.2.1 for `server_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// Missing, repeated or malformed parameter, or unparseable body.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token) is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// The server failed.
    ServerError,
    /// The server is overloaded.
    TemporarilyUnavailable,
    /// The person has not answered yet (RFC 8628 §3.5).
    AuthorizationPending,
    /// Poll less often (RFC 8628 §3.5).
    SlowDown,
    /// The person refused (RFC 8628 §3.5).
    AccessDenied,
    /// The device code expired (RFC 8628 §3.5).
    ExpiredToken,
    /// The DPoP proof is invalid or replayed (RFC 9449 §5.1, §12.2).
    InvalidDpopProof,
    /// The resource asked for is invalid or not allowed (RFC 8707 §2).
    InvalidTarget,
}

impl OAuthErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::InvalidTarget => "invalid_target",
        }
    }
}

/// An OAuth2 error with its human-readable description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    /// The `error` code.
    pub code: OAuthErrorCode,
    /// The `error_description`.
    pub description: String,
}

impl OAuthError {
    /// An error with `code` and `description`.
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with the one message used for every refused token,
    /// so nothing tells an unknown token from a revoked or expired one.
    pub fn invalid_grant() -> Self {
        Self::new(
            OAuthErrorCode::InvalidGrant,
            "the token is invalid, expired or revoked",
        )
    }
}

/// Why a grant or endpoint step did not succeed: a protocol refusal the
/// client is told about, or the server's failure. Inside a transaction,
/// either one leaves nothing behind.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Answered as RFC 6749 §5.2 JSON.
    #[error(transparent)]
    Refused(#[from] OAuthError),
    /// The server failed.
    #[error(transparent)]
    Internal(#[from] crate::error::InternalError),
}

impl From<crate::store::StoreError> for GrantError {
    fn from(e: crate::store::StoreError) -> Self {
        GrantError::Internal(e.into())
    }
}

impl From<crate::keys::KeyError> for GrantError {
    fn from(e: crate::keys::KeyError) -> Self {
        GrantError::Internal(e.into())
    }
}
