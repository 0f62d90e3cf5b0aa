//! `[leaks]`: the leaked-token endpoint's trusted secret-scanning partners.

use serde::Deserialize;
use url::Url;

/// Who may send signed secret-scanning alerts to `POST /api/leaked-tokens`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakConfig {
    /// Public keys (ECDSA P-256, PEM) by key id that sign partner alerts.
    #[serde(default)]
    pub partner_keys: Vec<PartnerKey>,
    /// Where to fetch more keys (`{"public_keys": [{"key_identifier", "key"}]}`,
    /// GitHub's format), on an alert signed by an unknown key id.
    #[serde(default)]
    pub partner_keys_url: Option<Url>,
}

/// One partner signing key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerKey {
    /// The key id sent with each alert.
    pub id: String,
    /// The public key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub pem: String,
}
