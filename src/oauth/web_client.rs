//! The built-in first-party web client `patgate-web`: "Generate new token" on
//! the settings page runs the ordinary authorization-code flow with PKCE
//! (RFC 6749 §4.1, RFC 7636) against patgate itself, so a token made in the
//! browser passes the same consent screen and audit as any client's.

use super::clients::{ClientCredentials, WEB_CLIENT_ID};
use super::code_grant;
use super::paths::{AUTHORIZE_PATH, WEB_CALLBACK_PATH as CALLBACK_PATH};
use super::token_request::TokenParams;
use super::GrantError;
use crate::app::Services;
use crate::clock::random_alphanumeric;
use crate::error::{InternalError, OpError};
use crate::policy::Principal;
use crate::secret::SecretString;
use crate::store::models::TokenRecord;
use crate::store::tokens as token_store;
use crate::tokens::format::PresentedToken;
use crate::tokens::{self, Lookup};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// A started flow: where to send the browser, and what it must bring back
/// (kept in a short-lived HttpOnly cookie, so any instance can finish it).
#[derive(Debug)]
pub struct StartedFlow {
    /// The authorization request.
    pub authorize_url: Url,
    /// `state` and the PKCE verifier, joined by `.`.
    pub cookie_value: SecretString,
}

/// Starts "Generate new token": asks for every scope of the catalogue; the
/// person drops what they do not want on the consent screen.
pub fn start(svc: &Services) -> StartedFlow {
    let state = random_alphanumeric(svc.random.as_ref(), 32);
    let verifier = random_alphanumeric(svc.random.as_ref(), 64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let scopes: Vec<&str> = svc.config.scopes.keys().map(String::as_str).collect();
    let mut url = svc.config.url(AUTHORIZE_PATH);
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", WEB_CLIENT_ID)
        .append_pair("redirect_uri", svc.config.url(CALLBACK_PATH).as_str())
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    StartedFlow {
        authorize_url: url,
        cookie_value: SecretString::new(format!("{state}.{verifier}")),
    }
}

/// How the return from the consent screen ended.
#[derive(Debug)]
pub enum FinishOutcome {
    /// The new PAT, to show once.
    Issued {
        /// The token as the person must copy it.
        raw: SecretString,
        /// Its record.
        record: Box<TokenRecord>,
    },
    /// No flow cookie (shown already, or expired) or a `state` that does not match.
    NoFlow,
    /// The code was refused.
    Refused(String),
}

/// Finishes the flow for `who`: checks `state` against the cookie (RFC
/// 6749 §10.12), then redeems the code as any client would. Blocking.
pub fn finish(
    svc: &Services,
    cookie_value: Option<&str>,
    state: &str,
    code: &str,
    who: &Principal,
) -> Result<FinishOutcome, InternalError> {
    let Some((expected, verifier)) = cookie_value.and_then(|c| c.split_once('.')) else {
        return Ok(FinishOutcome::NoFlow);
    };
    if !bool::from(expected.as_bytes().ct_eq(state.as_bytes())) {
        return Ok(FinishOutcome::NoFlow);
    }
    let callback = svc.config.url(CALLBACK_PATH);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", verifier),
        ("client_id", WEB_CLIENT_ID),
    ];
    let params = match TokenParams::from_pairs(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    ) {
        Ok(p) => p,
        Err(e) => return Ok(FinishOutcome::Refused(e.description)),
    };
    let response = match code_grant::exchange(svc, &params, &ClientCredentials::default(), None) {
        Ok(r) => r,
        Err(GrantError::Refused(e)) => return Ok(FinishOutcome::Refused(e.description)),
        Err(GrantError::Internal(e)) => return Err(e),
    };
    let raw = SecretString::new(response.refresh_token.unwrap_or_default());
    let Ok(presented) = PresentedToken::parse(raw.expose()) else {
        return Ok(FinishOutcome::Refused("no token was issued".into()));
    };
    let Some(record) = svc.read(|tx| token_store::find(tx.conn, &presented.id))? else {
        return Ok(FinishOutcome::Refused("no token was issued".into()));
    };
    if record.owner != who.subject {
        let system = Principal::system("web-client");
        let reason = Some("approved by another account than the one that asked");
        match svc.write(|tx| tokens::revoke(tx, &system, &record.id, Lookup::Any, reason)) {
            Ok(()) | Err(OpError::Conflict(_)) => {}
            Err(OpError::Internal(e)) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "could not revoke a mismatched token"),
        }
        return Ok(FinishOutcome::Refused(
            "the token was approved by another account; it has been revoked".into(),
        ));
    }
    Ok(FinishOutcome::Issued {
        raw,
        record: Box::new(record),
    })
}
