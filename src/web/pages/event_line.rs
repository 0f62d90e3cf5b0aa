//! Audit events as people read them: details as labelled fields rather
//! than JSON, and user agents shortened to "Firefox 133 on Linux" with the
//! full string kept for the hover title.

use crate::audit::AuditView;
use serde_json::Value;

/// An audit event as the detail page shows it.
#[derive(Debug)]
pub struct EventLine {
    /// When.
    pub occurred: String,
    /// What, in words ("exchange denied").
    pub event: String,
    /// Who, or "—".
    pub actor: String,
    /// From which address, or "—".
    pub ip: String,
    /// The user agent shortened, or "—".
    pub agent: String,
    /// The whole user agent (hover title), or "".
    pub agent_full: String,
    /// How many times (coalesced exchanges).
    pub count: i32,
    /// Details as (label, value) pairs.
    pub details: Vec<(String, String)>,
}

impl From<AuditView> for EventLine {
    fn from(e: AuditView) -> Self {
        let agent_full = e.user_agent.unwrap_or_default();
        EventLine {
            occurred: e.occurred_at.replace('T', " ").replace('Z', " UTC"),
            event: e.event.replace('_', " "),
            actor: e.actor.unwrap_or_else(|| "—".into()),
            ip: e.ip.unwrap_or_else(|| "—".into()),
            agent: if agent_full.is_empty() {
                "—".into()
            } else {
                short_user_agent(&agent_full)
            },
            agent_full,
            count: e.count,
            details: readable_details(&e.details),
        }
    }
}

/// The fields of an event's details, each labelled in words
/// (`clientId` → "client id") with its value as text.
pub fn readable_details(details: &Value) -> Vec<(String, String)> {
    let Value::Object(fields) = details else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (label(k), text(v)))
        .collect()
}

fn label(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(_) => readable_details(v)
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// A user agent in a few words: browser, major version and system for
/// browsers ("Chrome 131 on Windows"); the first product token, cut to
/// 40 characters, for everything else ("curl/8.5.0", "patgate-cli/0.1.0").
pub fn short_user_agent(ua: &str) -> String {
    let version = |marker: &str| {
        ua.split(marker)
            .nth(1)
            .map(|rest| rest.split(['.', ' ', ';', ')']).next().unwrap_or_default())
            .filter(|v| !v.is_empty())
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .into_iter()
    .find_map(|(marker, name)| version(marker).map(|v| format!("{name} {v}")));
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (ua.starts_with("Mozilla/"), browser, system) {
        (true, Some(b), Some(s)) => format!("{b} on {s}"),
        (true, Some(b), None) => b,
        _ => {
            let first = ua.split_whitespace().next().unwrap_or_default();
            let mut short: String = first.chars().take(40).collect();
            if short.len() < first.len() || first.len() < ua.trim().len() {
                short.push('…');
            }
            short
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_agents_are_shortened() {
        for (ua, short) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari 18 on macOS",
            ),
            ("curl/8.5.0", "curl/8.5.0"),
            ("patgate-cli/0.1.0 (linux)", "patgate-cli/0.1.0…"),
            (&"x".repeat(300), &format!("{}…", "x".repeat(40))),
        ] {
            assert_eq!(short_user_agent(ua), short, "{ua}");
        }
    }

    #[test]
    fn details_are_labelled_fields() {
        let details = json!({
            "clientId": "deploy-bot", "confidential": false, "scopes": ["read", "write"],
            "roles": [], "reason": "wrong_password", "nothing": null,
            "changes": {"expiresAt": "2027-01-01T00:00:00Z"}
        });
        let mut got = readable_details(&details);
        got.sort();
        let want: Vec<(String, String)> = [
            ("changes", "expires at: 2027-01-01T00:00:00Z"),
            ("client id", "deploy-bot"),
            ("confidential", "no"),
            ("reason", "wrong_password"),
            ("roles", "none"),
            ("scopes", "read, write"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        assert!(readable_details(&json!(null)).is_empty());
    }
}
