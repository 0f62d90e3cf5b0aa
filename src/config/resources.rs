//! `[[resources]]`: the resource servers (APIs) a token may be limited to
//! (RFC 8707 resource indicators), each with its audience and the scopes
//! it accepts.

use serde::Deserialize;

/// One resource server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// Its identifier and the JWT's `aud`: an absolute URI without a
    /// fragment (RFC 8707 §2), e.g. `https://orders.example.com`.
    pub audience: String,
    /// What it is, in words, for the consent screen and listings.
    pub description: String,
    /// The scopes it accepts (JWTs for it carry only these); empty: any.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Why the resource catalogue is not usable, if it is not.
pub fn problem(resources: &[ResourceConfig], scopes: &[&String]) -> Option<String> {
    for (i, r) in resources.iter().enumerate() {
        let valid = url::Url::parse(&r.audience).is_ok_and(|u| u.fragment().is_none());
        if !valid {
            return Some(format!(
                "resources[{i}]: audience must be an absolute URI without a fragment"
            ));
        }
        if resources[..i].iter().any(|o| o.audience == r.audience) {
            return Some(format!(
                "resources[{i}]: audience {} appears twice",
                r.audience
            ));
        }
        if let Some(s) = r.scopes.iter().find(|s| !scopes.contains(s)) {
            return Some(format!(
                "resources[{i}]: scope {s:?} is not in the scope catalogue"
            ));
        }
    }
    None
}
