//! Browser sessions: a random cookie value whose SHA-256 is stored with the
//! user, a CSRF token, an idle and an absolute timeout.

use crate::app::Services;
use crate::clock::random_alphanumeric;
use crate::error::InternalError;
use crate::secret::digest;
use crate::secret::SecretString;
use crate::store::accounts as store;
use subtle::ConstantTimeEq;

/// The name of the session cookie.
pub const COOKIE: &str = "patgate_session";

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The user's subject.
    pub subject: String,
    /// The session's CSRF token, to put in forms.
    pub csrf: String,
}

impl SessionUser {
    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// Starts a session for `subject`; returns the cookie value. Blocking.
pub fn start(svc: &Services, subject: &str) -> Result<SecretString, InternalError> {
    let value = random_alphanumeric(svc.random.as_ref(), 43);
    let csrf = random_alphanumeric(svc.random.as_ref(), 32);
    let now = svc.now();
    let expires = now + svc.config.session_max_age.duration();
    store::insert_session(
        &mut *svc.conn()?,
        &digest(&value),
        subject,
        &csrf,
        now,
        expires,
    )?;
    Ok(SecretString::new(value))
}

/// The user of a live session cookie, if any. Blocking.
pub fn current(svc: &Services, cookie: &str) -> Result<Option<SessionUser>, InternalError> {
    if cookie.len() != 43 {
        return Ok(None);
    }
    let idle = svc.config.session_idle_timeout.duration();
    let found = store::live_session(&mut *svc.conn()?, &digest(cookie), svc.now(), idle)?;
    Ok(found.map(|(subject, csrf)| SessionUser { subject, csrf }))
}

/// Ends the session of `cookie`. Blocking.
pub fn end(svc: &Services, cookie: &str) -> Result<(), InternalError> {
    Ok(store::delete_session(&mut *svc.conn()?, &digest(cookie))?)
}
