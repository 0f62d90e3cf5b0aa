//! The rules on tokens, written once and applied on every path that makes
//! or changes one (consent, the APIs, the pages, the operator's commands,
//! the `@access-tokens`-compatible API): names, owners, descriptions,
//! scopes and lifetimes.

use crate::config::{Config, MaxTokenLifetime, Ttl};
use crate::syntax::is_scope_token;
use chrono::{DateTime, Utc};

/// The lifetime a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedLifetime {
    /// The configured default.
    Default,
    /// This long from now.
    For(Ttl),
    /// No expiry (only where `token_max_ttl = "never"`).
    Never,
    /// Until this instant.
    Until(DateTime<Utc>),
}

/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest owner, in characters.
pub const MAX_OWNER_CHARS: usize = 255;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most scopes on one token.
pub const MAX_SCOPES: usize = 64;

/// A broken rule: the field and a sentence for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn violation(field: &'static str, message: impl Into<String>) -> Violation {
    Violation {
        field,
        message: message.into(),
    }
}

/// Which scopes a token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeSet {
    /// Those of the scope catalogue (patgate's own paths).
    Catalogue,
    /// Any scope token: the `@access-tokens` API's free-form roles.
    AnyToken,
}

/// A required, printable text of at most `max` characters once trimmed.
fn text_field(value: &str, field: &'static str, max: usize) -> Result<(), Violation> {
    let v = value.trim();
    if v.is_empty() {
        return Err(violation(field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(violation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(violation(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    no_hidden_characters(v, field)
}

/// Whether `c` reorders or hides text: a bidirectional control (Unicode
/// UAX #9: embeddings, overrides, isolates, marks) or a zero-width
/// character. Shown on a consent screen or in a table, such a character
/// makes a name read as something else ("Trojan Source", CVE-2021-42574).
pub fn is_hidden_character(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn no_hidden_characters(v: &str, field: &'static str) -> Result<(), Violation> {
    match v.chars().find(|c| is_hidden_character(*c)) {
        Some(c) => Err(violation(
            field,
            format!(
                "{field} must not contain invisible or direction-changing characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// A token name: 1 to [`MAX_NAME_CHARS`] printable characters once trimmed.
pub fn name(value: &str) -> Result<(), Violation> {
    text_field(value, "name", MAX_NAME_CHARS)
}

/// An owner: 1 to [`MAX_OWNER_CHARS`] printable characters.
pub fn owner(value: &str) -> Result<(), Violation> {
    text_field(value, "owner", MAX_OWNER_CHARS)
}

/// An optional description of at most [`MAX_DESCRIPTION_CHARS`] characters.
pub fn description(value: Option<&str>) -> Result<(), Violation> {
    match value {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => Err(violation(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
        )),
        Some(d) => no_hidden_characters(d, "description"),
        None => Ok(()),
    }
}

/// Scopes: scope tokens (RFC 6749 §3.3), at most [`MAX_SCOPES`], and with
/// [`ScopeSet::Catalogue`] each in the catalogue.
pub fn scopes(config: &Config, scopes: &[String], set: ScopeSet) -> Result<(), Violation> {
    if scopes.len() > MAX_SCOPES {
        return Err(violation(
            "scopes",
            format!("a token has at most {MAX_SCOPES} scopes"),
        ));
    }
    if let Some(bad) = scopes.iter().find(|s| !is_scope_token(s)) {
        return Err(violation(
            "scopes",
            format!("{bad:?} is not a valid scope (RFC 6749 §3.3)"),
        ));
    }
    if set == ScopeSet::Catalogue {
        if let Some(bad) = scopes.iter().find(|s| !config.scopes.contains_key(*s)) {
            return Err(violation(
                "scopes",
                format!("scope {bad:?} is not in the scope catalogue"),
            ));
        }
    }
    Ok(())
}

/// The expiry a requested lifetime gives at `now`, within the policy: in
/// the future, at most `token_max_ttl` away, and none only where
/// `token_max_ttl = "never"`.
pub fn expiry(
    config: &Config,
    lifetime: RequestedLifetime,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Violation> {
    let at = match lifetime {
        RequestedLifetime::Never => return never_allowed(config, "expires").map(|()| None),
        RequestedLifetime::Default => now + config.token_default_ttl.duration(),
        RequestedLifetime::For(ttl) => {
            if ttl.seconds() <= 0 {
                return Err(violation("expires", "the lifetime must be positive"));
            }
            now.checked_add_signed(ttl.duration())
                .ok_or_else(|| violation("expires", "the lifetime is too long"))?
        }
        RequestedLifetime::Until(at) => at,
    };
    if at <= now {
        return Err(violation("expires", "the expiry must be in the future"));
    }
    within_max(config, at, now, "expires")?;
    Ok(Some(at))
}

/// No expiry: only where `token_max_ttl = "never"`.
fn never_allowed(config: &Config, field: &'static str) -> Result<(), Violation> {
    match config.token_max_ttl {
        MaxTokenLifetime::Unlimited => Ok(()),
        MaxTokenLifetime::Limited(_) => Err(violation(
            field,
            "tokens without expiry are not allowed by policy",
        )),
    }
}

/// An expiry at most `token_max_ttl` after `now`.
fn within_max(
    config: &Config,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    field: &'static str,
) -> Result<(), Violation> {
    match config.token_max_ttl {
        MaxTokenLifetime::Limited(max) if (at - now).num_seconds() > max.seconds() => {
            Err(violation(
                field,
                format!(
                    "the lifetime exceeds the maximum of {} days",
                    max.seconds() / 86_400
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A changed expiry of an existing token (`None`: no expiry): at most
/// `token_max_ttl` away, and none only where `token_max_ttl = "never"`. A
/// time in the past is allowed: it expires the token now.
pub fn expiry_change(
    config: &Config,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Violation> {
    match at {
        None => never_allowed(config, "expiresAt"),
        Some(at) => within_max(config, at, now, "expiresAt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn config(max: &str) -> Config {
        let mut t = toml::Table::new();
        t.insert("token_max_ttl".into(), max.into());
        t.insert("token_default_ttl".into(), "30d".into());
        Config::from_table(t).unwrap()
    }

    #[test]
    fn lifetimes_stay_within_the_policy() {
        let (limited, now) = (config("90d"), Utc::now());
        let in_days = |d| RequestedLifetime::Until(now + Duration::days(d));
        assert_eq!(
            expiry(&limited, RequestedLifetime::Default, now).unwrap(),
            Some(now + Duration::days(30))
        );
        assert!(expiry(&limited, in_days(90), now).is_ok());
        assert_eq!(
            expiry(&limited, in_days(91), now).unwrap_err().field,
            "expires"
        );
        assert!(expiry(&limited, in_days(-1), now).is_err());
        assert!(expiry(&limited, RequestedLifetime::Never, now).is_err());
        let unlimited = config("never");
        assert_eq!(expiry(&unlimited, RequestedLifetime::Never, now), Ok(None));
        assert!(expiry(&unlimited, in_days(3650), now).is_ok());
        let later = |d| Some(now + Duration::days(d));
        assert!(expiry_change(&limited, later(-1), now).is_ok());
        assert!(expiry_change(&limited, later(3650), now).is_err());
        assert!(expiry_change(&limited, None, now).is_err());
        assert!(expiry_change(&unlimited, None, now).is_ok());
    }

    #[test]
    fn scopes_follow_the_catalogue_or_the_syntax() {
        let c = config("90d");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(scopes(
            &c,
            &s(&["read", "patgate:tokens:read"]),
            ScopeSet::Catalogue
        )
        .is_ok());
        assert!(scopes(&c, &s(&["deploy"]), ScopeSet::Catalogue).is_err());
        assert!(scopes(&c, &s(&["deploy"]), ScopeSet::AnyToken).is_ok());
        assert!(scopes(&c, &s(&["a b"]), ScopeSet::AnyToken).is_err());
        assert!(name("  ").is_err() && name("ok").is_ok() && name("a\u{7}").is_err());
    }
}
