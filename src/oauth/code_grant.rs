//! The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): a code
//! from the consent screen becomes a PAT, returned as the refresh token with
//! a first access token. Consuming the code, issuing the PAT, its audit
//! event and binding it to the session are one transaction.

use super::access_token::{mint, TokenResponse};
use super::clients::{self, Client, ClientCredentials};
use super::dpop::DpopProof;
use super::token_request::TokenParams;
use super::{GrantError, OAuthError, OAuthErrorCode};
use crate::app::{Services, Tx};
use crate::error::{Conflict, OpError};
use crate::policy::{Origin, Principal};
use crate::principal;
use crate::secret::digest;
use crate::store::authorization::{self as store, AuthSessionRow};
use crate::store::{SessionStatus, StoreError};
use crate::tokens::format::TokenKind;
use crate::tokens::{self, IssueRequest, Lookup, RequestedLifetime};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    dpop_proof: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let dpop = match dpop_proof {
        None => None,
        Some(p) => {
            let url = svc.config.url(super::paths::TOKEN_PATH);
            let checked = super::dpop::check(p, "POST", &url, svc.now());
            Some(checked.map_err(|e| OAuthError::new(OAuthErrorCode::InvalidDpopProof, e.0))?)
        }
    };
    let dpop = dpop.as_ref();
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    let code_hash = digest(code);
    let (client, session) = svc.read(|tx| {
        let client = clients::authenticate(tx, params, creds)?;
        let session = store::find_by_code(tx.conn, &code_hash)?;
        Ok::<_, GrantError>((client, session.ok_or_else(OAuthError::invalid_grant)?))
    })?;
    if session.status == SessionStatus::Used {
        if let Some(token_id) = &session.token_id {
            revoke_replayed(svc, token_id, &client)?;
        }
        return Err(OAuthError::invalid_grant().into());
    }
    let usable = session.status == SessionStatus::Approved
        && session
            .code_expires_at
            .is_some_and(|t| t.and_utc() > svc.now());
    if !usable
        || session.client_id != client.id
        || session.redirect_uri != redirect_uri
        || !pkce_matches(verifier, &session.code_challenge)
    {
        return Err(OAuthError::invalid_grant().into());
    }
    // A key named at authorization must prove itself here (RFC 9449 §10.1).
    if !super::dpop::satisfies(session.dpop_jkt.as_deref(), dpop) {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidGrant,
            "the authorization named a key (dpop_jkt): present a DPoP proof signed by it",
        )
        .into());
    }
    let now = svc.now();
    issue_for_session(svc, &session, &client, dpop, |tx| {
        store::consume_code(tx.conn, &code_hash, now)
    })
}

/// Revokes the PAT of a replayed code, as patgate itself.
fn revoke_replayed(svc: &Services, token_id: &str, client: &Client) -> Result<(), GrantError> {
    let who = Principal::system("code-replay");
    let reason = Some("its authorization code was replayed");
    match svc.write(|tx| tokens::revoke(tx, &who, token_id, Lookup::Any, reason)) {
        Ok(()) => {
            tracing::warn!(%token_id, client_id = %client.id, "authorization code replayed; its token is revoked");
            Ok(())
        }
        Err(OpError::Internal(e)) => Err(e.into()),
        Err(_) => Ok(()),
    }
}

/// Issues the PAT a person approved in `session` for `client`, with a first
/// access token (shared by the code and device grants). `claim` marks the
/// session used in the same transaction (one conditional UPDATE; `false`
/// when another request got there first). The PAT is issued as the person
/// who approved it, with their permissions now, and is bound to `client`
/// when that client is confidential. Blocking (argon2).
pub fn issue_for_session(
    svc: &Services,
    session: &AuthSessionRow,
    client: &Client,
    dpop: Option<&DpopProof>,
    claim: impl FnOnce(&mut Tx<'_>) -> Result<bool, StoreError>,
) -> Result<TokenResponse, GrantError> {
    let owner = session.subject.clone().unwrap_or_default();
    // A person disabled since they approved gets no token.
    let approver = svc
        .read(|tx| principal::for_session(tx, &owner, Origin::default()))?
        .ok_or_else(OAuthError::invalid_grant)?;
    let scopes: Vec<String> = session
        .token_scopes
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // A proof binds the PAT to its key (RFC 9449 §5), as dpop_jkt asked.
    let jkt = dpop
        .map(|p| p.jkt.clone())
        .or_else(|| session.dpop_jkt.clone());
    let resources: Vec<String> = session
        .resources
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let request = IssueRequest {
        dpop_jkt: jkt.clone(),
        resources,
        client_id: Some(client.id.clone()),
        bound_client_id: (!client.is_public()).then(|| client.id.clone()),
        lifetime: session
            .token_expires_at
            .map_or(RequestedLifetime::Never, |t| {
                RequestedLifetime::Until(t.and_utc())
            }),
        ..IssueRequest::new(
            TokenKind::Personal,
            &owner,
            session.token_name.as_deref().unwrap_or_default(),
            scopes.clone(),
        )
    };
    let prepared = tokens::prepare(svc, &approver, request).map_err(refused)?;
    svc.write(|tx| {
        if !claim(tx)? {
            return Err(OAuthError::invalid_grant().into());
        }
        if let Some(proof) = dpop {
            let key = proof.replay_key();
            if !crate::store::dpop::remember(tx.conn, &key, proof.remember_until())? {
                return Err(OAuthError::new(
                    OAuthErrorCode::InvalidDpopProof,
                    "the DPoP proof was used before",
                )
                .into());
            }
        }
        let issued = tokens::commit(tx, &approver, prepared).map_err(refused)?;
        store::set_token(tx.conn, &session.id, &issued.record.id)?;
        let key = svc.keys.active(tx.conn)?;
        let mut response = mint(
            svc,
            &key,
            &issued.record,
            &scopes,
            tx.now(),
            crate::oauth::access_token::Target {
                jkt: dpop.map(|p| p.jkt.as_str()),
                // As an exchange without `resource` would pick it (RFC 8707).
                audience: super::refresh_grant::target(svc, &issued.record, None)
                    .ok()
                    .flatten()
                    .map(|r| r.audience.as_str()),
            },
        )?;
        response.refresh_token = Some(issued.raw.expose().to_string());
        Ok(response)
    })
}

/// A refused issue, as the token endpoint tells it.
fn refused(e: OpError) -> GrantError {
    let grant = |text: &str| OAuthError::new(OAuthErrorCode::InvalidGrant, text).into();
    match e {
        OpError::Internal(e) => GrantError::Internal(e),
        OpError::Conflict(Conflict::NameTaken) => grant("the token name was taken meanwhile"),
        OpError::Denied(_) => grant("the person who approved may no longer create this token"),
        OpError::Invalid(v) => grant(&v.message),
        _ => OAuthError::invalid_grant().into(),
    }
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
