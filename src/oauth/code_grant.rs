//! The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): a code
//! from the consent screen becomes a PAT, returned as the refresh token with
//! a first access token.

use super::access_token::{mint, TokenResponse};
use super::clients::{self, Client};
use super::token_request::TokenParams;
use super::{OAuthError, OAuthErrorCode};
use crate::accounts::sessions::digest;
use crate::app::Services;
use crate::error::InternalError;
use crate::store::authorization as store;
use crate::tokens::format::TokenKind;
use crate::tokens::{self, IssueOutcome, IssueRequest, RequestedLifetime, RevokeOutcome};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Client credentials as presented: HTTP Basic (RFC 6749 §2.3.1) or the body.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    /// From the `Authorization: Basic` header, if any: (id, secret).
    pub basic: Option<(String, crate::secret::SecretString)>,
}

fn invalid_client() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    )
}

/// Identifies and, for confidential clients, authenticates the caller
/// (RFC 6749 §2.3.1).
pub fn authenticate(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<Result<Client, OAuthError>, InternalError> {
    let (id, secret) = match (&creds.basic, params.get("client_id")) {
        (Some((id, secret)), None) => (id.clone(), Some(secret.expose().to_string())),
        (Some((id, secret)), Some(body_id)) if body_id == id => {
            (id.clone(), Some(secret.expose().to_string()))
        }
        (Some(_), Some(_)) => {
            return Ok(Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            )))
        }
        (None, Some(id)) => (
            id.to_string(),
            params.get("client_secret").map(str::to_string),
        ),
        (None, None) => {
            return Ok(Err(OAuthError::invalid_request(
                "missing parameter client_id",
            )))
        }
    };
    let Some(client) = clients::find(svc, &mut *svc.conn()?, &id)? else {
        return Ok(Err(invalid_client()));
    };
    match (&client.secret_hash, secret) {
        (None, _) => Ok(Ok(client)),
        (Some(hash), Some(secret)) if svc.hasher.verify(&secret, hash) => Ok(Ok(client)),
        (Some(_), _) => Ok(Err(invalid_client())),
    }
}

/// Whether `verifier` hashes to `challenge` under S256 (RFC 7636 §4.6).
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// Exchanges a code for a PAT. A replayed code is refused and the PAT issued
/// from it is revoked (RFC 6749 §4.1.2). Blocking (argon2, database).
pub fn exchange(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<Result<TokenResponse, OAuthError>, InternalError> {
    let (code, redirect_uri, verifier) = match (
        params.require("code"),
        params.require("redirect_uri"),
        params.require("code_verifier"),
    ) {
        (Ok(c), Ok(r), Ok(v)) => (c, r, v),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(e)),
    };
    let client = match authenticate(svc, params, creds)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let now = svc.now();
    let code_hash = digest(code);
    let mut conn = svc.conn()?;
    let Some(session) = store::find_by_code(&mut conn, &code_hash)? else {
        return Ok(Err(OAuthError::invalid_grant()));
    };
    if session.status == "used" {
        if let Some(token_id) = &session.token_id {
            if tokens::revoke(
                svc,
                token_id,
                &crate::audit::Actor::named("patgate:code-replay"),
            )? == RevokeOutcome::Revoked
            {
                tracing::warn!(%token_id, client_id = %client.id, "authorization code replayed; its token is revoked");
            }
        }
        return Ok(Err(OAuthError::invalid_grant()));
    }
    let usable =
        session.status == "approved" && session.code_expires_at.is_some_and(|t| t.and_utc() > now);
    if !usable
        || session.client_id != client.id
        || session.redirect_uri != redirect_uri
        || !pkce_matches(verifier, &session.code_challenge)
    {
        return Ok(Err(OAuthError::invalid_grant()));
    }
    if !store::consume_code(&mut conn, &code_hash, now)? {
        return Ok(Err(OAuthError::invalid_grant()));
    }
    issue_for_session(svc, &mut conn, &session, &client)
}

/// Issues the PAT a person approved in `session` for `client`, with a first
/// access token (shared by the code and device grants). Blocking (argon2).
pub fn issue_for_session(
    svc: &Services,
    conn: &mut crate::store::DbConnection,
    session: &store::AuthSessionRow,
    client: &Client,
) -> Result<Result<TokenResponse, OAuthError>, InternalError> {
    let now = svc.now();
    let scopes: Vec<String> = session
        .token_scopes
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let request = IssueRequest {
        kind: TokenKind::Personal,
        owner: session.subject.clone().unwrap_or_default(),
        name: session.token_name.clone().unwrap_or_default(),
        description: None,
        scopes: scopes.clone(),
        is_admin: false,
        client_id: Some(client.id.clone()),
        cidrs: vec![],
        lifetime: session
            .token_expires_at
            .map_or(RequestedLifetime::Never, |t| {
                RequestedLifetime::Until(t.and_utc())
            }),
    };
    let actor = crate::audit::Actor::named(&request.owner);
    let issued = match tokens::issue(svc, request, &actor)? {
        IssueOutcome::Issued(t) => t,
        IssueOutcome::NameTaken => {
            return Ok(Err(OAuthError::new(
                OAuthErrorCode::InvalidGrant,
                "the token name was taken meanwhile",
            )))
        }
        IssueOutcome::Invalid { message, .. } => {
            return Ok(Err(OAuthError::new(OAuthErrorCode::InvalidGrant, message)))
        }
    };
    store::set_token(conn, &session.id, &issued.record.id)?;
    let key = svc.keys.active(conn)?;
    let mut response = mint(svc, &key, &issued.record, &scopes, now)?;
    response.refresh_token = Some(issued.raw.expose().to_string());
    Ok(Ok(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_example_from_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
