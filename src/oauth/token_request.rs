//! Parameters of a token request: form-encoded as RFC 6749 §3.2 says, or a
//! JSON object. Repeated parameters are refused (§3.2); empty ones count as
//! absent (§3.1).

use super::OAuthError;
use std::collections::HashMap;

/// The largest token request body (or authorization query) accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// The parameters of one token request.
#[derive(Default)]
pub struct TokenParams(HashMap<String, String>);

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets; show only the names.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl TokenParams {
    /// Parses `body` by its `content_type` (form when none is given).
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        let mime = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match mime.as_deref() {
            None | Some("") | Some("application/x-www-form-urlencoded") => Self::from_pairs(
                form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
            ),
            Some("application/json") => {
                let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
                    .map_err(|_| OAuthError::invalid_request("the body is not a JSON object"))?;
                if map.len() > MAX_PARAMS {
                    return Err(OAuthError::invalid_request("too many parameters"));
                }
                let mut out = HashMap::new();
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) => {
                            if !s.is_empty() {
                                out.insert(k, s);
                            }
                        }
                        serde_json::Value::Null => {}
                        _ => {
                            return Err(OAuthError::invalid_request(format!(
                                "parameter {k} must be a string"
                            )))
                        }
                    }
                }
                Ok(Self(out))
            }
            Some(other) => Err(OAuthError::invalid_request(format!(
                "unsupported content type {other}; use application/x-www-form-urlencoded"
            ))),
        }
    }

    /// Parses a URL query string (the authorization endpoint's GET form).
    pub fn from_query(query: &str) -> Result<Self, OAuthError> {
        if query.len() > MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("the query is too long"));
        }
        Self::from_pairs(
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        )
    }

    pub(crate) fn from_pairs(
        pairs: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut out = HashMap::new();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if out.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            if out.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} is repeated"
                )));
            }
        }
        Ok(Self(out))
    }

    /// The value of `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_json_duplicates_and_types() {
        let p = TokenParams::parse(None, b"grant_type=refresh_token&scope=&x=%20y").unwrap();
        assert_eq!(p.get("grant_type"), Some("refresh_token"));
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some(" y"));
        assert!(TokenParams::parse(None, b"a=1&a=2").is_err());
        let j = TokenParams::parse(
            Some("application/json; charset=utf-8"),
            br#"{"a":"1","b":null}"#,
        )
        .unwrap();
        assert_eq!((j.get("a"), j.get("b")), (Some("1"), None));
        assert!(TokenParams::parse(Some("application/json"), b"{").is_err());
        assert!(TokenParams::parse(Some("application/json"), br#"{"a":1}"#).is_err());
        assert!(TokenParams::parse(Some("text/plain"), b"a=1").is_err());
        assert!(!format!(
            "{:?}",
            TokenParams::parse(None, b"refresh_token=SECRET").unwrap()
        )
        .contains("SECRET"));
    }
}
