//! The audit trail: every change to a token is appended in the same
//! transaction as the change; exchanges and refused exchanges are counted in
//! memory ([`ExchangeCounter`]) and flushed every few seconds as one row per
//! token, event and minute, so the hot path writes nothing and the log does
//! not grow per request.
//!
//! Events about people and clients (sign-ins, users disabled or enabled,
//! roles, passwords, clients added or removed) are in the same trail and
//! export, with no token and the user they concern as `subject`.

mod counter;
pub mod retention;
pub mod usage;

pub use counter::ExchangeCounter;

use crate::app::Tx;
use crate::clock::{rfc3339, RandomSource};
use crate::policy::Principal;
use crate::store::audit::{self as store, AuditRow};
use crate::store::{DbConnection, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// What happened to a token, a person or a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// Issued.
    Created,
    /// Exchanged for an access token (coalesced).
    Exchanged,
    /// An exchange was refused for a known token (coalesced per reason).
    ExchangeDenied,
    /// Revoked.
    Revoked,
    /// Restored after a revocation.
    Restored,
    /// Given a new secret.
    Rotated,
    /// Changed (scopes, expiry, …).
    Updated,
    /// A person signed in (password or SSO).
    SignedIn,
    /// A sign-in was refused (wrong password, disabled, not in an allowed group).
    SignInFailed,
    /// A local account was added.
    UserAdded,
    /// A user was disabled.
    UserDisabled,
    /// A user was enabled again.
    UserEnabled,
    /// A user's directly given roles were replaced.
    RolesChanged,
    /// An operator set a local user's password.
    PasswordSet,
    /// An operator set or cleared a local user's email address.
    EmailSet,
    /// An OAuth2 client was registered.
    ClientAdded,
    /// A registered OAuth2 client was removed.
    ClientRemoved,
}

impl Event {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Created => "created",
            Event::Exchanged => "exchanged",
            Event::ExchangeDenied => "exchange_denied",
            Event::Revoked => "revoked",
            Event::Restored => "restored",
            Event::Rotated => "rotated",
            Event::Updated => "updated",
            Event::SignedIn => "signed_in",
            Event::SignInFailed => "sign_in_failed",
            Event::UserAdded => "user_added",
            Event::UserDisabled => "user_disabled",
            Event::UserEnabled => "user_enabled",
            Event::RolesChanged => "roles_changed",
            Event::PasswordSet => "password_set",
            Event::EmailSet => "email_set",
            Event::ClientAdded => "client_added",
            Event::ClientRemoved => "client_removed",
        }
    }
}

/// A time-ordered event id (UUIDv7) for an event at `at`.
fn new_id(random: &dyn RandomSource, at: DateTime<Utc>) -> String {
    let mut bytes = [0u8; 10];
    random.fill(&mut bytes);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

/// Appends one event by `who` now, in the transaction of the change it
/// records, so the change and its record stand or fall together. Blocking.
pub fn record(
    tx: &mut Tx<'_>,
    token_id: &str,
    event: Event,
    who: &Principal,
    details: Value,
) -> Result<(), StoreError> {
    append(tx, Some(token_id), None, event, who, details)
}

/// Appends one event about the person `subject` (or, with `None`, about
/// something else, such as a client or a sign-in under an unknown name) by
/// `who`, in the transaction of the change it records. Blocking.
pub fn record_about(
    tx: &mut Tx<'_>,
    subject: Option<&str>,
    event: Event,
    who: &Principal,
    details: Value,
) -> Result<(), StoreError> {
    append(tx, None, subject, event, who, details)
}

/// Counts one refused sign-in for `subject` (`None`: a name no account
/// has) in the row of its minute and reason, so a flood of wrong
/// passwords adds at most one row per account, reason and minute rather
/// than one per guess. The row keeps the last address and user agent, and
/// the first typed name. Blocking.
pub fn count_sign_in_failure(
    tx: &mut Tx<'_>,
    subject: Option<&str>,
    typed_name: &str,
    reason: &str,
    who: &Principal,
) -> Result<(), StoreError> {
    let typed: String = typed_name.chars().take(64).collect();
    let details = serde_json::json!({ "reason": reason, "user": typed });
    let mut row = new_row(tx, None, subject, Event::SignInFailed, who, details);
    row.actor = None;
    row.bucket = Some(format!(
        "{} {reason} {}",
        row.occurred_at.format("%Y-%m-%dT%H:%M"),
        subject.unwrap_or("(unknown)")
    ));
    store::add_to_bucket(tx.conn, &row)
}

fn append(
    tx: &mut Tx<'_>,
    token_id: Option<&str>,
    subject: Option<&str>,
    event: Event,
    who: &Principal,
    details: Value,
) -> Result<(), StoreError> {
    let row = new_row(tx, token_id, subject, event, who, details);
    store::insert(tx.conn, &row)
}

/// One occurrence of `event` by `who` now, not coalesced.
fn new_row(
    tx: &Tx<'_>,
    token_id: Option<&str>,
    subject: Option<&str>,
    event: Event,
    who: &Principal,
    details: Value,
) -> AuditRow {
    let now = tx.now();
    AuditRow {
        id: new_id(tx.svc.random.as_ref(), now),
        token_id: token_id.map(str::to_string),
        subject: subject.map(str::to_string),
        event: event.as_str().to_string(),
        actor: Some(who.label()),
        ip: who.origin.ip.clone(),
        user_agent: who.origin.user_agent.clone(),
        count: 1,
        details: details.to_string(),
        occurred_at: now.naive_utc(),
        bucket: None,
    }
}

/// An audit event as the APIs and the export show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    /// Event id.
    pub id: String,
    /// Token id; absent for events about people and clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The user an event about people concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Event name.
    pub event: String,
    /// Who acted.
    pub actor: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// With which user agent.
    pub user_agent: Option<String>,
    /// Occurrences (coalesced exchanges).
    pub count: i32,
    /// Event details.
    pub details: Value,
    /// When (RFC 3339).
    pub occurred_at: String,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        AuditView {
            details: serde_json::from_str(&r.details).unwrap_or(Value::Null),
            id: r.id,
            token_id: r.token_id,
            subject: r.subject,
            event: r.event,
            actor: r.actor,
            ip: r.ip,
            user_agent: r.user_agent,
            count: r.count,
            occurred_at: rfc3339(r.occurred_at.and_utc()),
        }
    }
}

/// One page of a token's audit trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditView>,
    /// Where the next (older) page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Largest page of audit events.
pub const MAX_AUDIT_PAGE: i64 = 200;

/// A page of token `token_id`'s events, newest first, strictly before
/// `before` (a decoded cursor). Whoever calls this has asked the policy.
pub fn for_token(
    conn: &mut DbConnection,
    token_id: &str,
    before: Option<(chrono::NaiveDateTime, String)>,
    limit: i64,
) -> Result<AuditPage, StoreError> {
    let limit = limit.clamp(1, MAX_AUDIT_PAGE);
    let mut rows = store::for_token(conn, token_id, before, limit + 1)?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| crate::cursor::encode(r.occurred_at, &r.id))
    } else {
        None
    };
    Ok(AuditPage {
        events: rows.into_iter().map(AuditView::from).collect(),
        next_cursor,
    })
}

/// Every event since `since`, oldest first, handed to `each` one batch of
/// at most `batch` at a time (for `patgate admin audit export`): each batch
/// is one keyset query in its own read, so memory holds one batch at any
/// size of the trail. `each` returning an error stops the walk. Blocking.
pub fn export<E: From<StoreError>>(
    svc: &crate::app::Services,
    since: Option<DateTime<Utc>>,
    batch: i64,
    mut each: impl FnMut(Vec<AuditView>) -> Result<(), E>,
) -> Result<(), E> {
    let mut after: Option<(chrono::NaiveDateTime, String)> = None;
    loop {
        let rows = svc.read(|tx| store::since(tx.conn, since, after.as_ref(), batch))?;
        let full = rows.len() as i64 == batch;
        after = rows.last().map(|r| (r.occurred_at, r.id.clone()));
        each(rows.into_iter().map(AuditView::from).collect())?;
        if !full {
            return Ok(());
        }
    }
}
