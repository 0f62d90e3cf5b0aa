//! Why an exchange (refresh grant, token exchange, the compatible
//! exchange) was refused: the reason the audit log records, and the RFC
//! 6749 §5.2 error the client is sent.

use super::clients;
use super::{OAuthError, OAuthErrorCode};

/// Why an exchange was refused. Every reason but `ScopeNotGranted` answers
/// the same `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No token with that id.
    Unknown,
    /// The secret does not match.
    WrongSecret,
    /// The token was revoked.
    Revoked,
    /// The token expired.
    Expired,
    /// Its owner's account is disabled (the token is suspended).
    OwnerDisabled,
    /// The prefix names the other kind.
    KindMismatch,
    /// A requested scope was not granted to the token (RFC 6749 §6).
    ScopeNotGranted,
    /// The client address is outside the token's CIDR allowlist.
    AddressNotAllowed,
    /// The token is bound to a confidential client, and the request did
    /// not authenticate as one (or authenticated wrongly).
    ClientNotAuthenticated,
    /// The token is bound to another client than the one authenticated.
    OtherClient,
    /// The DPoP proof is invalid (RFC 9449 §4.3).
    DpopProofInvalid,
    /// The DPoP proof was used before (RFC 9449 §11.1).
    DpopProofReplayed,
    /// The token is bound to a key, and the request has no proof by it.
    DpopKeyRequired,
    /// The `resource` asked for is unknown or outside the token's list, or
    /// the token is limited to several and none was named (RFC 8707 §2).
    InvalidTarget,
}

impl Denial {
    /// The reason as recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Denial::Unknown => "unknown",
            Denial::WrongSecret => "wrong_secret",
            Denial::Revoked => "revoked",
            Denial::Expired => "expired",
            Denial::OwnerDisabled => "owner_disabled",
            Denial::KindMismatch => "kind_mismatch",
            Denial::ScopeNotGranted => "scope_not_granted",
            Denial::AddressNotAllowed => "address_not_allowed",
            Denial::ClientNotAuthenticated => "client_not_authenticated",
            Denial::OtherClient => "other_client",
            Denial::DpopProofInvalid => "dpop_proof_invalid",
            Denial::DpopProofReplayed => "dpop_proof_replayed",
            Denial::DpopKeyRequired => "dpop_key_required",
            Denial::InvalidTarget => "invalid_target",
        }
    }

    /// The error sent to the client.
    pub fn to_oauth_error(self) -> OAuthError {
        match self {
            Denial::ScopeNotGranted => OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "the requested scope exceeds the scope granted to the token",
            ),
            Denial::ClientNotAuthenticated => clients::invalid_client(),
            Denial::OtherClient => OAuthError::new(
                OAuthErrorCode::InvalidGrant,
                "the token was issued to another client",
            ),
            Denial::DpopProofInvalid => OAuthError::new(
                OAuthErrorCode::InvalidDpopProof,
                "the DPoP proof is invalid (RFC 9449 §4.3)",
            ),
            Denial::DpopProofReplayed => OAuthError::new(
                OAuthErrorCode::InvalidDpopProof,
                "the DPoP proof was used before",
            ),
            Denial::DpopKeyRequired => OAuthError::new(
                OAuthErrorCode::InvalidGrant,
                "the token is bound to a key: present a DPoP proof signed by it",
            ),
            Denial::InvalidTarget => OAuthError::new(
                OAuthErrorCode::InvalidTarget,
                "the resource is unknown or not one this token may be used for (RFC 8707)",
            ),
            _ => OAuthError::invalid_grant(),
        }
    }
}
