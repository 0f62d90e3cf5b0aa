//! Human-readable lifetimes: `45s`, `10m`, `12h`, `30d`, or whole seconds.

use serde::{Deserialize, Deserializer};

/// A positive lifetime, stored in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(i64);

impl Ttl {
    /// `n` minutes.
    pub const fn minutes(n: i64) -> Self {
        Self(n * 60)
    }
    /// `n` days.
    pub const fn days(n: i64) -> Self {
        Self(n * 86_400)
    }
    /// `n` seconds.
    pub const fn from_seconds(n: i64) -> Self {
        Self(n)
    }
    /// The lifetime in seconds.
    pub fn seconds(self) -> i64 {
        self.0
    }
    /// The lifetime as a chrono duration.
    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::seconds(self.0)
    }
}

/// Parses `45s`, `10m`, `12h`, `30d`, `2w`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Ttl, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("expected a duration like 30d, 12h, 10m or 45s, got {text:?}"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "unknown duration unit {unit:?} in {text:?} (use s, m, h, d or w)"
            ))
        }
    };
    match n.checked_mul(factor) {
        Some(s) if s > 0 && s <= 100 * 365 * 86_400 => Ok(Ttl(s)),
        _ => Err(format!(
            "duration {text:?} must be positive and at most 100 years"
        )),
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => parse_duration(&n.to_string()),
            Raw::Str(s) => parse_duration(&s),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// The longest lifetime a PAT may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokenLifetime {
    /// Tokens may be issued without an expiry.
    Unlimited,
    /// Every token expires within this lifetime.
    Limited(Ttl),
}

impl MaxTokenLifetime {
    /// Whether tokens may be issued without an expiry.
    pub fn is_unlimited(self) -> bool {
        self == Self::Unlimited
    }
}

/// A duration, or `"never"` (`None`).
fn duration_or_never<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ttl>, D::Error> {
    let value = toml::Value::deserialize(d)?;
    match value {
        toml::Value::String(s) if s.trim() == "never" => Ok(None),
        toml::Value::String(s) => parse_duration(&s).map(Some),
        toml::Value::Integer(n) => parse_duration(&n.to_string()).map(Some),
        other => Err(format!("expected a duration or \"never\", got {other}")),
    }
    .map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for MaxTokenLifetime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(duration_or_never(d)?.map_or(Self::Unlimited, Self::Limited))
    }
}

/// How long something is kept: a duration, or `"never"` deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Kept for good.
    Forever,
    /// Deleted once older than this.
    For(Ttl),
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(duration_or_never(d)?.map_or(Self::Forever, Self::For))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_rejects_garbage() {
        assert_eq!(parse_duration("45s").unwrap().seconds(), 45);
        assert_eq!(parse_duration("10m").unwrap().seconds(), 600);
        assert_eq!(parse_duration("12h").unwrap().seconds(), 43_200);
        assert_eq!(parse_duration("30d").unwrap().seconds(), 2_592_000);
        assert_eq!(parse_duration("90").unwrap().seconds(), 90);
        for bad in ["", "d", "0m", "-5m", "5y", "1.5h", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }
}
