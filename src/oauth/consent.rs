//! The "Create personal access token" consent screen behind
//! `/oauth2/authorize/{id}`: what it shows, and what approving or cancelling
//! does (RFC 6749 §4.1.2).

use super::clients;
use crate::app::Tx;
use crate::clock::random_alphanumeric;
use crate::config::{Config, MaxTokenLifetime};
use crate::error::{InternalError, OpError};
use crate::policy::rules::{self, RequestedLifetime, ScopeSet, MAX_NAME_CHARS};
use crate::policy::{Action, Denied, Policy, Principal};
use crate::secret::digest;
use crate::store::authorization::{self as store, Approval, AuthSessionRow};
use crate::store::tokens::active_name_taken;
use crate::store::{SessionMode, SessionStatus, TokenKind};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use url::Url;

/// How long an authorization code lives (RFC 6749 §4.1.2: short).
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
const EXPIRY_DAYS: [i64; 4] = [7, 30, 60, 90];

/// A scope on the screen.
#[derive(Debug, Clone)]
pub struct ScopeChoice {
    /// Scope name.
    pub name: String,
    /// Its description from the catalogue.
    pub description: String,
    /// Ticked.
    pub checked: bool,
    /// Whether the person may grant it (a scope of patgate's API needs
    /// every permission it grants).
    pub grantable: bool,
}

/// Everything the consent screen shows.
#[derive(Debug, Clone)]
pub struct ConsentScreen {
    /// Authorization session id.
    pub session_id: String,
    /// Client display name.
    pub client_name: String,
    /// Client id.
    pub client_id: String,
    /// Whether the client is first-party.
    pub first_party: bool,
    /// Where the token will be sent.
    pub redirect_uri: String,
    /// The signed-in user.
    pub subject: String,
    /// Token name in the form.
    pub token_name: String,
    /// Requested scopes.
    pub scopes: Vec<ScopeChoice>,
    /// Day counts offered, each within the policy.
    pub expiry_days: Vec<i64>,
    /// The selected expiry: a day count, `custom` or `never`.
    pub expiry: String,
    /// The custom date in the form (YYYY-MM-DD).
    pub custom_date: String,
    /// Latest allowed custom date.
    pub max_date: Option<String>,
    /// Whether "no expiry" is offered.
    pub allow_never: bool,
    /// A problem with the last submission.
    pub error: Option<String>,
    /// For a device code: where and when it was started (RFC 8628 §5.4).
    pub device: Option<DeviceOrigin>,
    /// The resource servers the token will be limited to, as (description,
    /// audience) (RFC 8707).
    pub resources: Vec<(String, String)>,
    /// The thumbprint of the key the token will be bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// Where a device code was started, for the warning on its approval page
/// (RFC 8628 §5.4: someone else may have started it and sent the link).
#[derive(Debug, Clone)]
pub struct DeviceOrigin {
    /// When, UTC, to the minute.
    pub started_at: String,
    /// Minutes ago.
    pub minutes_ago: i64,
    /// From which address, if known.
    pub ip: String,
    /// With which program, if it said.
    pub user_agent: String,
}

/// Why a session cannot be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No such session.
    Unknown,
    /// Its ten minutes are over.
    Expired,
    /// It was approved or cancelled already.
    Finished,
    /// It belongs to another user.
    OtherUser,
}

/// What `GET /oauth2/authorize/{id}` shows.
#[derive(Debug)]
pub enum ConsentPage {
    /// The form.
    Show(Box<ConsentScreen>),
    /// A clear page instead.
    Unavailable(Unavailable),
}

/// The submitted form.
#[derive(Debug, Default)]
pub struct ConsentForm {
    /// Create token (true) or Cancel.
    pub approve: bool,
    /// Token name.
    pub token_name: String,
    /// Ticked scopes.
    pub scopes: Vec<String>,
    /// A day count, `custom` or `never`.
    pub expiry: String,
    /// YYYY-MM-DD when `expiry` is `custom`.
    pub custom_date: String,
}

/// What a submission leads to.
#[derive(Debug)]
pub enum ConsentDecision {
    /// Back to the client: `redirect_uri?code&state` or `?error=access_denied&state`.
    Redirect(Url),
    /// Show the form again with the error; the session stays usable.
    Invalid(Box<ConsentScreen>),
    /// A clear page instead.
    Unavailable(Unavailable),
    /// A device's request was answered (approved or not): the device picks
    /// the answer up by polling (RFC 8628 §3.4).
    DeviceAnswered(bool),
}

fn load(
    tx: &mut Tx<'_>,
    id: &str,
    subject: &str,
) -> Result<Result<AuthSessionRow, Unavailable>, InternalError> {
    let Some(mut row) = store::find_session(tx.conn, id)? else {
        return Ok(Err(Unavailable::Unknown));
    };
    if row.subject.is_none() {
        store::bind_subject(tx.conn, id, subject)?;
        row = store::find_session(tx.conn, id)?.ok_or(InternalError::Vanished("session"))?;
    }
    Ok(if row.subject.as_deref() != Some(subject) {
        Err(Unavailable::OtherUser)
    } else if row.status != SessionStatus::Pending {
        Err(Unavailable::Finished)
    } else if row.expires_at.and_utc() <= tx.now() {
        Err(Unavailable::Expired)
    } else {
        Ok(row)
    })
}

fn screen(
    tx: &mut Tx<'_>,
    who: &Principal,
    row: &AuthSessionRow,
) -> Result<ConsentScreen, InternalError> {
    let svc = tx.svc;
    let client = clients::find(svc, tx.conn, &row.client_id)?;
    let now = svc.now();
    let requested: Vec<String> = row.scopes.split_whitespace().map(str::to_string).collect();
    let grantable = Policy::of(&svc.config).grantable(who, &requested);
    let (max_days, allow_never) = match svc.config.token_max_ttl {
        MaxTokenLifetime::Unlimited => (None, true),
        MaxTokenLifetime::Limited(t) => (Some(t.seconds() / 86_400), false),
    };
    let default_days = svc.config.token_default_ttl.seconds() / 86_400;
    let expiry_days: Vec<i64> = EXPIRY_DAYS
        .into_iter()
        .filter(|d| max_days.is_none_or(|m| *d <= m))
        .collect();
    let client_name = client
        .as_ref()
        .map_or(row.client_id.clone(), |c| c.name.clone());
    let device = match row.mode {
        SessionMode::Device => crate::store::device::by_session(tx.conn, &row.id)?.map(|d| {
            let started = d.created_at.and_utc();
            DeviceOrigin {
                started_at: started.format("%Y-%m-%d %H:%M UTC").to_string(),
                minutes_ago: (now - started).num_minutes().max(0),
                ip: d.started_ip.unwrap_or_else(|| "an unknown address".into()),
                user_agent: d.started_user_agent.unwrap_or_default(),
            }
        }),
        SessionMode::Redirect => None,
    };
    let resources = row
        .resources
        .split_whitespace()
        .filter_map(|r| svc.config.resource(r))
        .map(|r| (r.description.clone(), r.audience.clone()))
        .collect();
    Ok(ConsentScreen {
        device,
        resources,
        dpop_jkt: row.dpop_jkt.clone(),
        session_id: row.id.clone(),
        token_name: row
            .token_name_hint
            .clone()
            .unwrap_or_else(|| format!("{client_name} {}", now.format("%Y-%m-%d"))),
        client_name,
        client_id: row.client_id.clone(),
        first_party: client.is_some_and(|c| c.first_party),
        redirect_uri: match row.mode {
            SessionMode::Device => {
                "the device that showed you the code (it collects the token itself)".into()
            }
            SessionMode::Redirect => row.redirect_uri.clone(),
        },
        subject: who.subject.clone(),
        scopes: requested
            .iter()
            .map(|s| {
                let grantable = grantable.contains(&s.as_str());
                // Least privilege: patgate's own API scopes are ticked only
                // for patgate's CLI, which needs them, and `patgate:admin`
                // never; the person ticks them deliberately otherwise.
                let api = svc.config.access.scope_grants(s).is_some();
                let cli = row.client_id == clients::CLI_CLIENT_ID;
                let checked = grantable && (!api || cli) && s != crate::config::ADMIN_SCOPE;
                ScopeChoice {
                    name: s.clone(),
                    description: svc.config.scopes.get(s).cloned().unwrap_or_default(),
                    checked,
                    grantable,
                }
            })
            .collect(),
        expiry: if expiry_days.contains(&default_days) {
            default_days.to_string()
        } else {
            "custom".into()
        },
        custom_date: (now + svc.config.token_default_ttl.duration())
            .format("%Y-%m-%d")
            .to_string(),
        max_date: max_days.map(|d| (now + Duration::days(d)).format("%Y-%m-%d").to_string()),
        expiry_days,
        allow_never,
        error: None,
    })
}

/// Whether `who` may approve tokens at all (`access-tokens:user:write`):
/// what the consent screen and the device page ask first.
pub fn may_approve(config: &Config, who: &Principal) -> Result<(), Denied> {
    Policy::of(config).check(who, Action::ApproveConsent(&[]))
}

/// The consent screen for session `id`, shown to `who`, who must be allowed
/// to approve tokens (`access-tokens:user:write`). The first user to see a
/// session owns it.
pub fn show(tx: &mut Tx<'_>, who: &Principal, id: &str) -> Result<ConsentPage, OpError> {
    may_approve(tx.config(), who)?;
    Ok(match load(tx, id, &who.subject)? {
        Ok(row) => ConsentPage::Show(Box::new(screen(tx, who, &row)?)),
        Err(why) => ConsentPage::Unavailable(why),
    })
}

/// The redirect back to the client with `pairs`, the client's `state`, and
/// `iss` (RFC 9207 §2: the client can tell which server answered).
fn back_to_client(
    tx: &Tx<'_>,
    row: &AuthSessionRow,
    pairs: &[(&str, &str)],
) -> Result<Url, InternalError> {
    let mut url = Url::parse(&row.redirect_uri).map_err(|e| InternalError::Stored {
        what: "redirect URI",
        why: e.to_string(),
    })?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        if let Some(state) = &row.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", tx.config().issuer_id());
    }
    Ok(url)
}

/// The token expiry the form asks for, within the policy's rules.
fn chosen_expiry(
    tx: &Tx<'_>,
    form: &ConsentForm,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, String> {
    let lifetime = match form.expiry.as_str() {
        "never" => RequestedLifetime::Never,
        "custom" => RequestedLifetime::Until(
            NaiveDate::parse_from_str(form.custom_date.trim(), "%Y-%m-%d")
                .map_err(|_| "enter the expiry date as YYYY-MM-DD".to_string())?
                .and_hms_opt(23, 59, 59)
                .expect("valid time")
                .and_utc(),
        ),
        days => RequestedLifetime::Until(
            now + Duration::days(
                days.parse::<i64>()
                    .ok()
                    .filter(|d| EXPIRY_DAYS.contains(d))
                    .ok_or("choose an expiry")?,
            ),
        ),
    };
    rules::expiry(tx.config(), lifetime, now).map_err(|v| v.message)
}

/// Handles Create token / Cancel for session `id` by `who`, who must be
/// allowed to approve tokens, and may grant only scopes they could use.
pub fn submit(
    tx: &mut Tx<'_>,
    who: &Principal,
    id: &str,
    form: &ConsentForm,
) -> Result<ConsentDecision, OpError> {
    let svc = tx.svc;
    let policy = Policy::of(&svc.config);
    policy.check(who, Action::ApproveConsent(&[]))?;
    let subject = who.subject.as_str();
    let row = match load(tx, id, subject)? {
        Ok(row) => row,
        Err(why) => return Ok(ConsentDecision::Unavailable(why)),
    };
    let now = tx.now();
    if !form.approve {
        if !store::deny(tx.conn, id, subject, now)? {
            return Ok(ConsentDecision::Unavailable(Unavailable::Finished));
        }
        if row.mode == SessionMode::Device {
            return Ok(ConsentDecision::DeviceAnswered(false));
        }
        let url = back_to_client(
            tx,
            &row,
            &[
                ("error", "access_denied"),
                ("error_description", "the user cancelled"),
            ],
        )?;
        return Ok(ConsentDecision::Redirect(url));
    }
    let requested: Vec<&str> = row.scopes.split_whitespace().collect();
    let name = form.token_name.trim();
    let expiry = chosen_expiry(tx, form, now);
    let problem = if rules::name(name).is_err() {
        Some(format!(
            "the token name must be 1–{MAX_NAME_CHARS} printable characters"
        ))
    } else if form.scopes.iter().any(|s| !requested.contains(&s.as_str())) {
        Some("you can only remove scopes the client asked for".to_string())
    } else if let Err(v) = rules::scopes(tx.config(), &form.scopes, ScopeSet::Catalogue) {
        Some(v.message)
    } else if let Err(denied) = policy.check(who, Action::ApproveConsent(&form.scopes)) {
        Some(format!("you cannot grant this: {}", denied.message()))
    } else if active_name_taken(tx.conn, TokenKind::Personal, subject, name, now)? {
        Some(format!(
            "you already have an active token named \u{201c}{name}\u{201d}"
        ))
    } else {
        expiry.clone().err()
    };
    if let Some(message) = problem {
        let mut screen = screen(tx, who, &row)?;
        screen.token_name = form.token_name.clone();
        for s in &mut screen.scopes {
            s.checked = form.scopes.contains(&s.name);
        }
        screen.expiry = form.expiry.clone();
        screen.custom_date = form.custom_date.clone();
        screen.error = Some(message);
        return Ok(ConsentDecision::Invalid(Box::new(screen)));
    }
    let expires = expiry.unwrap_or(None);
    let code = random_alphanumeric(tx.svc.random.as_ref(), 43);
    let scopes: Vec<String> = requested
        .iter()
        .filter(|s| form.scopes.iter().any(|f| f == *s))
        .map(|s| s.to_string())
        .collect();
    let approval = Approval {
        code_hash: &digest(&code),
        code_expires_at: now + CODE_LIFETIME,
        token_name: name,
        token_scopes: &scopes,
        token_expires_at: expires,
    };
    if !store::approve(tx.conn, id, subject, now, &approval)? {
        return Ok(ConsentDecision::Unavailable(Unavailable::Finished));
    }
    if row.mode == SessionMode::Device {
        return Ok(ConsentDecision::DeviceAnswered(true));
    }
    let url = back_to_client(tx, &row, &[("code", &code)])?;
    Ok(ConsentDecision::Redirect(url))
}
