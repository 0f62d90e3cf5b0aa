//! The device authorization grant (RFC 8628): a CLI without a browser gets a
//! user code, the person types it at `/device`, sees the usual consent
//! screen, and the CLI polls the token endpoint until the PAT is issued.

use super::authorize::{new_session, requested_scopes, SESSION_LIFETIME};
use super::code_grant::{self, ClientCredentials};
use super::token_request::TokenParams;
use super::{OAuthError, OAuthErrorCode};
use crate::accounts::sessions::digest;
use crate::app::Services;
use crate::clock::random_alphanumeric;
use crate::error::InternalError;
use crate::store::authorization as sessions;
use crate::store::device::{self as store, DeviceRow};
use chrono::Duration;
use serde::Serialize;

/// `grant_type` of the polling request (RFC 8628 §3.4).
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The `redirect_uri` that marks an authorization session as a device's.
pub const DEVICE_REDIRECT: &str = DEVICE_GRANT;
/// Path of the device authorization endpoint.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/api/auth/v1/device_authorization";
/// Path of the page where the person types the code.
pub const VERIFICATION_PATH: &str = "/device";
/// Letters of user codes: consonants only, no look-alikes, no words (RFC 8628 §6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// Seconds between polls at first.
pub const POLL_INTERVAL: i32 = 5;

/// The answer of the device authorization endpoint (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
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

/// Starts a device authorization for the (authenticated) client. Blocking.
pub fn start(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<Result<DeviceAuthorization, OAuthError>, InternalError> {
    let client = match code_grant::authenticate(svc, params, creds)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let scopes = match requested_scopes(svc, &client, params.get("scope")) {
        Ok(s) => s,
        Err(why) => return Ok(Err(OAuthError::new(OAuthErrorCode::InvalidScope, why))),
    };
    let mut conn = svc.conn()?;
    let session_id = new_session(
        svc,
        &mut conn,
        &client,
        DEVICE_REDIRECT,
        None,
        "",
        &scopes,
        params.get("token_name"),
    )?;
    let now = svc.now();
    let device_code = random_alphanumeric(svc.random.as_ref(), 43);
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
        };
        if store::insert(&mut conn, &row)? {
            let shown = display_user_code(&code);
            let mut complete = svc.config.url(VERIFICATION_PATH);
            complete.query_pairs_mut().append_pair("user_code", &shown);
            return Ok(Ok(DeviceAuthorization {
                device_code,
                user_code: shown,
                verification_uri: svc.config.url(VERIFICATION_PATH).to_string(),
                verification_uri_complete: complete.to_string(),
                expires_in: SESSION_LIFETIME.num_seconds(),
                interval: POLL_INTERVAL,
            }));
        }
    }
    Err(InternalError::Blocking(
        "no free user code after 5 tries".into(),
    ))
}

/// The consent session for a typed user code, if it is current. Blocking.
pub fn session_for(svc: &Services, typed: &str) -> Result<Option<String>, InternalError> {
    let code = normalize_user_code(typed);
    if code.len() != USER_CODE_LEN {
        return Ok(None);
    }
    Ok(store::by_user_code(&mut *svc.conn()?, &code, svc.now())?.map(|d| d.session_id))
}

/// The device's poll (RFC 8628 §3.4–3.5): `authorization_pending`,
/// `slow_down`, `access_denied`, `expired_token`, or the PAT. Blocking.
pub fn poll(
    svc: &Services,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<Result<super::access_token::TokenResponse, OAuthError>, InternalError> {
    let device_code = match params.require("device_code") {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let client = match code_grant::authenticate(svc, params, creds)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let err = |code, text: &str| Ok(Err(OAuthError::new(code, text)));
    let now = svc.now();
    let hash = digest(device_code);
    let mut conn = svc.conn()?;
    let Some(device) = store::by_device_code(&mut conn, &hash)? else {
        return Ok(Err(OAuthError::invalid_grant()));
    };
    if device.client_id != client.id {
        return Ok(Err(OAuthError::invalid_grant()));
    }
    if device.expires_at.and_utc() <= now {
        return err(
            OAuthErrorCode::ExpiredToken,
            "the device code expired; start again",
        );
    }
    let not_before = now - Duration::seconds(i64::from(device.interval_seconds));
    if !store::record_poll(&mut conn, &hash, now, not_before)? {
        store::slow_down(&mut conn, &hash, 5, now)?;
        return err(
            OAuthErrorCode::SlowDown,
            "polling too often; wait 5 seconds longer between polls",
        );
    }
    let Some(session) = sessions::find_session(&mut conn, &device.session_id)? else {
        return Ok(Err(OAuthError::invalid_grant()));
    };
    match session.status.as_str() {
        "pending" => err(
            OAuthErrorCode::AuthorizationPending,
            "waiting for the person to approve",
        ),
        "denied" => err(OAuthErrorCode::AccessDenied, "the person refused"),
        "approved" if sessions::consume_session(&mut conn, &session.id)? => {
            code_grant::issue_for_session(svc, &mut conn, &session, &client)
        }
        _ => Ok(Err(OAuthError::invalid_grant())),
    }
}
