//! The device authorization grant (RFC 8628): a CLI without a browser gets a
//! user code, the person types it at `/device`, sees the usual consent
//! screen, and the CLI polls the token endpoint until the PAT is issued.

use super::authorize::{new_session, requested_scopes, NewSession, SESSION_LIFETIME};
use super::clients::{self, ClientCredentials};
use super::code_grant;
use super::paths::VERIFICATION_PATH;
use super::token_request::TokenParams;
use super::{GrantError, OAuthError, OAuthErrorCode};
use crate::app::{Services, Tx};
use crate::clock::random_alphanumeric;
use crate::error::{InternalError, OpError};
use crate::policy::{Action, Origin, Policy, Principal};
use crate::secret::digest;
use crate::store::authorization as sessions;
use crate::store::device::{self as store, DeviceRow};
use crate::store::{SessionMode, SessionStatus};
use chrono::Duration;
use serde::Serialize;

/// `grant_type` of the polling request (RFC 8628 §3.4).
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The `redirect_uri` stored with a device's authorization session.
const DEVICE_REDIRECT: &str = DEVICE_GRANT;
/// Letters of user codes: consonants only, no look-alikes, no words (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// Seconds between polls at first.
pub const POLL_INTERVAL: i32 = 5;

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceAuthorization {
    /// Secret code the device polls with.
    pub device_code: String,
    /// Code the person types, `XXXX-XXXX`.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// The same with the code filled in.
    pub verification_uri_complete: String,
    /// Seconds both codes live.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: i32,
}

/// `XXXXXXXX` as `XXXX-XXXX`.
pub fn display_user_code(code: &str) -> String {
    format!("{}-{}", &code[..4], &code[4..])
}

/// What a person typed, reduced to the code's letters (case and dashes do not matter).
pub fn normalize_user_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn user_code(svc: &Services) -> String {
    // Rejection sampling: bytes of 240 and above would favour some letters.
    let limit = 256 - 256 % USER_CODE_ALPHABET.len();
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        let mut byte = [0u8; 1];
        svc.random.fill(&mut byte);
        if usize::from(byte[0]) < limit {
            code.push(USER_CODE_ALPHABET[usize::from(byte[0]) % USER_CODE_ALPHABET.len()] as char);
        }
    }
    code
}

/// How much of the starting user agent is kept to show.
const MAX_SHOWN_USER_AGENT: usize = 120;

/// Starts a device authorization for the (authenticated) client: its
/// authorization session and device row in one transaction. Blocking.
pub fn start(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
    from: &Origin,
) -> Result<DeviceAuthorization, GrantError> {
    let client = svc.read(|tx| clients::authenticate(tx, params, creds))?;
    let scopes = requested_scopes(svc, &client, params.get("scope"))
        .map_err(|why| OAuthError::new(OAuthErrorCode::InvalidScope, why))?;
    let device_code = random_alphanumeric(svc.random.as_ref(), 43);
    svc.write(|tx| {
        let session_id = new_session(
            tx,
            &NewSession {
                dpop_jkt: None,
                resource: None,
                client: &client,
                mode: SessionMode::Device,
                redirect_uri: DEVICE_REDIRECT,
                state: None,
                challenge: "",
                scopes: &scopes,
                name_hint: params.get("token_name"),
            },
        )?;
        let now = tx.now();
        for _ in 0..5 {
            let code = user_code(svc);
            let row = DeviceRow {
                device_code_hash: digest(&device_code),
                user_code: code.clone(),
                session_id: session_id.clone(),
                client_id: client.id.clone(),
                interval_seconds: POLL_INTERVAL,
                created_at: now.naive_utc(),
                expires_at: (now + SESSION_LIFETIME).naive_utc(),
                last_polled_at: None,
                started_ip: from.ip.clone(),
                started_user_agent: from
                    .user_agent
                    .as_ref()
                    .map(|ua| ua.chars().take(MAX_SHOWN_USER_AGENT).collect()),
            };
            if store::insert(tx.conn, &row)? {
                let shown = display_user_code(&code);
                let mut complete = svc.config.url(VERIFICATION_PATH);
                complete.query_pairs_mut().append_pair("user_code", &shown);
                return Ok(DeviceAuthorization {
                    device_code: device_code.clone(),
                    user_code: shown,
                    verification_uri: svc.config.url(VERIFICATION_PATH).to_string(),
                    verification_uri_complete: complete.to_string(),
                    expires_in: SESSION_LIFETIME.num_seconds(),
                    interval: POLL_INTERVAL,
                });
            }
        }
        Err(InternalError::Exhausted("user code").into())
    })
}

/// The consent session for a code the person typed, if it is current.
/// Typing a code starts an approval, so it needs what approving needs.
pub fn session_for(tx: &mut Tx<'_>, who: &Principal, typed: &str) -> Result<String, OpError> {
    Policy::of(tx.config()).check(who, Action::ApproveConsent(&[]))?;
    let code = normalize_user_code(typed);
    if code.len() != USER_CODE_LEN {
        return Err(OpError::NotFound);
    }
    let now = tx.now();
    store::by_user_code(tx.conn, &code, now)?
        .map(|d| d.session_id)
        .ok_or(OpError::NotFound)
}

fn refuse<T>(code: OAuthErrorCode, text: &str) -> Result<T, GrantError> {
    Err(OAuthError::new(code, text).into())
}

/// The device's poll (RFC 8628 §3.4–3.5): `authorization_pending`,
/// `slow_down`, `access_denied`, `expired_token`, or the PAT. Blocking.
pub fn poll(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<super::access_token::TokenResponse, GrantError> {
    let device_code = params.require("device_code")?;
    let client = svc.read(|tx| clients::authenticate(tx, params, creds))?;
    let hash = digest(device_code);
    let session = svc.write(|tx| {
        let now = tx.now();
        let device = store::by_device_code(tx.conn, &hash)?
            .filter(|d| d.client_id == client.id)
            .ok_or_else(OAuthError::invalid_grant)?;
        if device.expires_at.and_utc() <= now {
            return refuse(
                OAuthErrorCode::ExpiredToken,
                "the device code expired; start again",
            );
        }
        let not_before = now - Duration::seconds(i64::from(device.interval_seconds));
        if !store::record_poll(tx.conn, &hash, now, not_before)? {
            store::slow_down(tx.conn, &hash, 5, now)?;
            // Committed: the slower pace holds for the next poll.
            return Ok(None);
        }
        let session = sessions::find_session(tx.conn, &device.session_id)?;
        Ok(Some(session.ok_or_else(OAuthError::invalid_grant)?))
    })?;
    let Some(session) = session else {
        return refuse(
            OAuthErrorCode::SlowDown,
            "polling too often; wait 5 seconds longer between polls",
        );
    };
    match session.status {
        SessionStatus::Pending => refuse(
            OAuthErrorCode::AuthorizationPending,
            "waiting for the person to approve",
        ),
        SessionStatus::Denied => refuse(OAuthErrorCode::AccessDenied, "the person refused"),
        SessionStatus::Approved => {
            code_grant::issue_for_session(svc, &session, &client, None, |tx| {
                sessions::consume_session(tx.conn, &session.id)
            })
        }
        SessionStatus::Used => Err(OAuthError::invalid_grant().into()),
    }
}
