//! Token revocation (RFC 7009) for PATs: whoever holds a PAT may revoke it;
//! a PAT issued through a confidential client only with that client's
//! authentication (§2.1). The answer is the same for an unknown, malformed
//! or already revoked token (§2.2), so the endpoint reveals nothing.

use super::clients::{self, ClientCredentials};
use super::token_check::{self, Verify};
use super::token_request::TokenParams;
use super::GrantError;
use crate::app::Services;
use crate::error::OpError;
use crate::policy::{Origin, Principal};
use crate::tokens::{self, Lookup};

/// Revokes `raw` when it is a genuine PAT; whether it was revoked now.
/// Blocking (argon2 on a cache miss).
pub fn revoke_presented(
    svc: &Services,
    raw: &str,
    params: &TokenParams,
    creds: &ClientCredentials,
    origin: Origin,
) -> Result<bool, GrantError> {
    // A client that authenticates must do so correctly (§2.1), whatever
    // the token turns out to be.
    let client = match creds.present(params) {
        true => Some(svc.read(|tx| clients::authenticate(tx, params, creds))?),
        false => None,
    };
    let Some(record) = svc.read(|tx| token_check::genuine(tx, raw, Verify::UsableOnly))? else {
        return Ok(false);
    };
    if let Some(bound) = &record.bound_client_id {
        clients::is_bound_client(client.as_ref(), bound)?;
    }
    // The holder of the secret may revoke this one token.
    let holder = Principal::secret_holder(&record.id, "revocation-endpoint", origin);
    match svc.write(|tx| tokens::revoke(tx, &holder, &record.id, Lookup::Any, None)) {
        Ok(()) => Ok(true),
        Err(OpError::Internal(e)) => Err(e.into()),
        Err(_) => Ok(false),
    }
}
