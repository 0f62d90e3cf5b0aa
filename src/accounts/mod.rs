//! People: local accounts with argon2id passwords, throttled sign-in, and
//! browser sessions stored in the database (so every instance accepts them).

pub mod sessions;

use crate::app::{Services, Tx};
use crate::audit::{self, Event};
use crate::clock::random_alphanumeric;
use crate::error::{InternalError, OpError};
use crate::policy::{Action, Origin, Policy, Principal};
use crate::secret::SecretString;
use crate::store::accounts::{self as store, UserRow};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Failed sign-ins are counted over this window.
const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// Free failures per account before sign-in slows down.
const FREE_ACCOUNT_FAILURES: i32 = 5;
/// Free failures per address before sign-in slows down.
const FREE_ADDRESS_FAILURES: i32 = 20;

/// The result of adding a user.
#[derive(Debug, PartialEq, Eq)]
pub enum AddUserOutcome {
    /// Added.
    Added,
    /// A user with that name exists.
    Exists,
    /// The name or password is not acceptable.
    Invalid(String),
}

/// Adds a local account on behalf of `who`. Blocking (argon2).
pub fn add_user(
    svc: &Services,
    who: &Principal,
    name: &str,
    password: &SecretString,
    admin: bool,
) -> Result<AddUserOutcome, OpError> {
    Policy::of(&svc.config).check(who, Action::ManageUsers)?;
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Ok(AddUserOutcome::Invalid(
            "user names are 1–64 of A-Z a-z 0-9 . _ - @".into(),
        ));
    }
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Ok(AddUserOutcome::Invalid(format!(
            "passwords need at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let hash = svc.hasher.hash(password.expose(), svc.random.as_ref())?;
    let now = svc.now();
    let added = svc.write(|tx| {
        let added = store::insert_user(tx.conn, name, Some(&hash), admin, now)?;
        if added {
            audit::record_about(
                tx,
                Some(name),
                Event::UserAdded,
                who,
                json!({ "admin": admin }),
            )?;
        }
        Ok::<_, OpError>(added)
    })?;
    Ok(if added {
        AddUserOutcome::Added
    } else {
        AddUserOutcome::Exists
    })
}

/// The result of setting a local user's password.
#[derive(Debug, PartialEq, Eq)]
pub enum SetPasswordOutcome {
    /// Set; the user's browser sessions ended.
    Set,
    /// No local user of that name (SSO users sign in upstream).
    NoSuchUser,
    /// The password is not acceptable.
    Invalid(String),
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Sets the password of the local user `name` on behalf of `who` (the
/// operator's command, for a lost or first password). Blocking (argon2).
pub fn set_password(
    svc: &Services,
    who: &Principal,
    name: &str,
    password: &SecretString,
) -> Result<SetPasswordOutcome, OpError> {
    Policy::of(&svc.config).check(who, Action::ManageUsers)?;
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Ok(SetPasswordOutcome::Invalid(format!(
            "passwords need at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let hash = svc.hasher.hash(password.expose(), svc.random.as_ref())?;
    let set = svc.write(|tx| {
        let set = store::set_password(tx.conn, name, &hash)?;
        if set {
            audit::record_about(tx, Some(name), Event::PasswordSet, who, json!({}))?;
        }
        Ok::<_, OpError>(set)
    })?;
    if set {
        tracing::info!(subject = %name, "password set by the operator; sessions ended");
    }
    Ok(if set {
        SetPasswordOutcome::Set
    } else {
        SetPasswordOutcome::NoSuchUser
    })
}

/// Sets (with `None`: clears) the email address of the local user `name`,
/// where expiry reminders go, on behalf of `who`. `Ok(false)`: no local
/// user of that name. Blocking.
pub fn set_email(
    svc: &Services,
    who: &Principal,
    name: &str,
    email: Option<&str>,
) -> Result<bool, OpError> {
    Policy::of(&svc.config).check(who, Action::ManageUsers)?;
    if let Some(address) = email {
        if address.len() > 254 || address.parse::<lettre::Address>().is_err() {
            return Err(OpError::Malformed(format!(
                "{address:?} is not an email address"
            )));
        }
    }
    svc.write(|tx| {
        if !store::set_email(tx.conn, name, email)? {
            return Ok(false);
        }
        // The address itself is personal data: the event says whether one is set.
        let details = json!({ "set": email.is_some() });
        audit::record_about(tx, Some(name), Event::EmailSet, who, details)?;
        Ok(true)
    })
}

/// The result of changing a user's roles.
#[derive(Debug, PartialEq, Eq)]
pub enum SetRolesOutcome {
    /// Changed.
    Set,
    /// No such user.
    NoSuchUser,
    /// A role neither built in nor configured.
    UnknownRole(String),
}

/// Replaces the roles given directly to `subject`, on behalf of `who`. Blocking.
pub fn set_roles(
    svc: &Services,
    who: &Principal,
    subject: &str,
    roles: &[String],
) -> Result<SetRolesOutcome, OpError> {
    Policy::of(&svc.config).check(who, Action::ManageUsers)?;
    if let Some(r) = roles.iter().find(|r| !svc.config.access.knows_role(r)) {
        return Ok(SetRolesOutcome::UnknownRole(r.clone()));
    }
    Ok(
        if svc.write(|tx| {
            let set = store::set_roles(tx.conn, subject, roles)?;
            if set {
                let details = json!({ "roles": roles });
                audit::record_about(tx, Some(subject), Event::RolesChanged, who, details)?;
            }
            Ok::<_, OpError>(set)
        })? {
            tracing::info!(%subject, roles = %roles.join(" "), "roles changed");
            SetRolesOutcome::Set
        } else {
            SetRolesOutcome::NoSuchUser
        },
    )
}

/// Disables `subject` on behalf of `who`: they can no longer sign in, their
/// browser sessions end, and with `[sso] revoke_tokens_on_disable` every
/// token they hold is revoked, all in `tx`. Enabling undoes only the first.
pub fn set_disabled(
    tx: &mut Tx<'_>,
    who: &Principal,
    subject: &str,
    disabled: bool,
) -> Result<(), OpError> {
    Policy::of(tx.config()).check(who, Action::ManageUsers)?;
    if !crate::store::sso::set_disabled(tx.conn, subject, disabled)? {
        return Err(OpError::NotFound);
    }
    tracing::info!(%subject, actor = %who.label(), disabled, "user disabled or enabled");
    let event = if disabled {
        Event::UserDisabled
    } else {
        Event::UserEnabled
    };
    audit::record_about(tx, Some(subject), event, who, json!({}))?;
    if disabled && tx.config().sso.revoke_tokens_on_disable {
        crate::tokens::revoke_all(tx, who, subject)?;
    }
    Ok(())
}

/// A page of users.
#[derive(Debug)]
pub struct UserPage {
    /// Most recent sign-in first, then those who never signed in.
    pub users: Vec<UserRow>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<String>,
}

/// Users, most recent sign-in first (those who never signed in last),
/// whose subject or email contains `q`; at most `limit`, after the cursor
/// `after` (a page's `next_cursor`).
pub fn list(
    tx: &mut Tx<'_>,
    who: &Principal,
    q: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<UserPage, OpError> {
    Policy::of(tx.config()).check(who, Action::ManageUsers)?;
    crate::tokens::admin::bounded_search(q, "q", MAX_USER_NAME_CHARS)?;
    let after = match after {
        None => None,
        Some(c) => Some(
            decode_user_cursor(c)
                .ok_or_else(|| OpError::Malformed(crate::cursor::BAD_CURSOR.into()))?,
        ),
    };
    let mut users = crate::store::sso::list_users(tx.conn, q, after.as_ref(), limit + 1)?;
    let next_cursor = if users.len() as i64 > limit {
        users.truncate(limit as usize);
        users.last().map(|u| {
            // Who never signed in is after everyone who did: the epoch marks it.
            let at = u
                .last_login_at
                .unwrap_or(chrono::DateTime::UNIX_EPOCH.naive_utc());
            crate::cursor::encode(at, &u.subject)
        })
    } else {
        None
    };
    Ok(UserPage { users, next_cursor })
}

fn decode_user_cursor(c: &str) -> Option<crate::store::sso::UserCursor> {
    let (at, subject) = crate::cursor::decode(c)?;
    let at = (at != chrono::DateTime::UNIX_EPOCH.naive_utc()).then_some(at);
    Some((at, subject))
}

/// Whether the embedded default's first `admin` account exists and has
/// never signed in (its printed password may have been missed).
pub fn first_admin_unused(svc: &Services) -> Result<bool, InternalError> {
    if !svc.config.is_embedded_default() {
        return Ok(false);
    }
    let admin = svc.read(|tx| Ok::<_, InternalError>(store::find_user(tx.conn, "admin")?))?;
    Ok(admin.is_some_and(|u| u.provider.is_none() && u.last_login_at.is_none()))
}

/// On the first start of the embedded default (no user yet), creates the
/// `admin` account with a generated password and returns the password.
pub fn create_first_admin(svc: &Services) -> Result<Option<SecretString>, InternalError> {
    if !svc.config.is_embedded_default() || svc.read(|tx| store::any_user(tx.conn))? {
        return Ok(None);
    }
    let password = SecretString::new(random_alphanumeric(svc.random.as_ref(), 20));
    let who = Principal::system("first-start");
    Ok(match add_user(svc, &who, "admin", &password, true) {
        Ok(AddUserOutcome::Added) => Some(password),
        Err(OpError::Internal(e)) => return Err(e),
        // patgate itself holds every permission; nothing else can refuse.
        Ok(_) | Err(_) => None,
    })
}

/// The result of a sign-in attempt. Unknown user and wrong password give the
/// same `Invalid`.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in as this subject.
    SignedIn(String),
    /// Wrong user name or password.
    Invalid,
    /// Too many failures lately; try again after this many seconds.
    Throttled(i64),
}

fn slow_down(free: i32) -> impl Fn(i32) -> Option<Duration> {
    move |failures| {
        let over = failures - free;
        (over > 0).then(|| Duration::seconds((1i64 << over.min(10)).min(15 * 60)))
    }
}

fn wait_for(
    svc: &Services,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<Option<i64>, InternalError> {
    let mut conn = svc.conn()?;
    let mut longest = None;
    for key in keys {
        if let Some(until) = store::blocked_until(&mut conn, key)? {
            if until > now {
                longest = longest.max(Some((until - now).num_seconds().max(1)));
            }
        }
    }
    Ok(longest)
}

/// User names longer than this never sign in (and are not stored).
pub const MAX_USER_NAME_CHARS: usize = 255;

/// Checks a local user name and password, slowed down after repeated
/// failures per address and per account *from that address*: failures from
/// elsewhere never lock a person out, so the lockout cannot be aimed at
/// someone; a guesser who moves between addresses is slowed by each address
/// and by the cost of argon2. Blocking (argon2).
pub fn sign_in(
    svc: &Services,
    name: &str,
    password: &SecretString,
    from: &Origin,
) -> Result<SignInOutcome, InternalError> {
    // IPv6 counts per /64: one subscriber's block is one address here.
    let ip = from
        .ip
        .as_deref()
        .map(crate::net::address_block)
        .unwrap_or_default();
    let now = svc.now();
    if name.trim().chars().count() > MAX_USER_NAME_CHARS {
        return Ok(SignInOutcome::Invalid);
    }
    let user_key = format!("user:{} from {ip}", name.trim());
    let ip_key = format!("ip:{ip}");
    if let Some(wait) = wait_for(svc, &[&user_key, &ip_key], now)? {
        return Ok(SignInOutcome::Throttled(wait));
    }
    let user = store::find_user(&mut *svc.conn()?, name.trim())?;
    let hash = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(h) => h,
        // Same work for unknown users, so timing does not tell them apart.
        None => svc.dummy_password_hash.clone(),
    };
    // A disabled account answers like a wrong password.
    let password_matches = svc.hasher.verify(password.expose(), &hash);
    let matches = password_matches && user.as_ref().is_some_and(|u| !u.disabled);
    let subject = user.map(|u| u.subject);
    let person = Principal::session(
        subject.as_deref().unwrap_or(name.trim()),
        Default::default(),
        from.clone(),
    );
    if !matches {
        let reason = if password_matches {
            "disabled"
        } else {
            "wrong_password"
        };
        svc.write(|tx| {
            for (key, free) in [
                (&user_key, FREE_ACCOUNT_FAILURES),
                (&ip_key, FREE_ADDRESS_FAILURES),
            ] {
                store::record_failure(tx.conn, key, now, FAILURE_WINDOW, slow_down(free))?;
            }
            audit::count_sign_in_failure(tx, subject.as_deref(), name, reason, &person)
        })?;
        tracing::info!(user = %name.trim(), %ip, "sign-in failed");
        return Ok(SignInOutcome::Invalid);
    }
    let subject = subject.unwrap_or_default();
    svc.write(|tx| {
        store::clear_failures(tx.conn, &user_key)?;
        store::record_login(tx.conn, &subject, now)?;
        let details = json!({ "method": "password" });
        audit::record_about(tx, Some(&subject), Event::SignedIn, &person, details)
    })?;
    Ok(SignInOutcome::SignedIn(subject))
}
