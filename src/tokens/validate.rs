//! Checks on what a caller asks to issue.

use super::IssueRequest;
use crate::config::{Config, MaxTokenLifetime, Ttl};
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
    /// Until this instant (as approved on the consent page).
    Until(DateTime<Utc>),
}

/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Whether `s` is a scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

fn text_field(value: &str, field: &'static str, max: usize) -> Result<(), (&'static str, String)> {
    let v = value.trim();
    if v.is_empty() {
        return Err((field, format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err((field, format!("{field} must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err((
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// Whether `name` is an acceptable token name (1 to `MAX_NAME_CHARS`
/// printable characters once trimmed).
pub fn is_valid_token_name(name: &str) -> bool {
    text_field(name, "name", MAX_NAME_CHARS).is_ok()
}

/// Checks `req` against the policy; returns the expiry to store.
pub(super) fn request(
    req: &IssueRequest,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, (&'static str, String)> {
    text_field(&req.owner, "owner", 255)?;
    text_field(&req.name, "name", MAX_NAME_CHARS)?;
    if let Some(d) = &req.description {
        if d.chars().count() > 1000 {
            return Err((
                "description",
                "description must be at most 1000 characters".into(),
            ));
        }
    }
    if let Some(bad) = req.scopes.iter().find(|s| !is_scope_token(s)) {
        return Err((
            "scopes",
            format!("{bad:?} is not a valid scope (RFC 6749 §3.3)"),
        ));
    }
    let ttl = match (req.lifetime, config.token_max_ttl) {
        (RequestedLifetime::Never, MaxTokenLifetime::Unlimited) => return Ok(None),
        (RequestedLifetime::Never, MaxTokenLifetime::Limited(_)) => {
            return Err((
                "expires",
                "tokens without expiry are not allowed by policy".into(),
            ))
        }
        (RequestedLifetime::Default, _) => config.token_default_ttl,
        (RequestedLifetime::For(ttl), _) => ttl,
        (RequestedLifetime::Until(at), _) if at > now => {
            Ttl::from_seconds((at - now).num_seconds().max(1))
        }
        (RequestedLifetime::Until(_), _) => {
            return Err(("expires", "the expiry must be in the future".into()))
        }
    };
    if let MaxTokenLifetime::Limited(max) = config.token_max_ttl {
        if ttl.seconds() > max.seconds() {
            return Err((
                "expires",
                format!(
                    "lifetime exceeds the maximum of {} days",
                    max.seconds() / 86_400
                ),
            ));
        }
    }
    Ok(Some(match req.lifetime {
        // The exact time asked for, not one rounded to whole seconds from now.
        RequestedLifetime::Until(at) => at,
        _ => now + ttl.duration(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("read:packages"));
        assert!(is_scope_token("a!#[]~"));
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }
}
