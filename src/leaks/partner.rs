//! Secret-scanning partner alerts, in GitHub's format: a JSON array of
//! `{token, type, url, source}` whose raw body is signed with ECDSA P-256
//! (SHA-256, ASN.1 DER signature, base64) by a key named in a header. The
//! keys come from `[leaks] partner_keys`, or from `partner_keys_url` on an
//! unknown key id (fetched at most once a minute), so a partner rotates its
//! key by publishing a new id. The answer labels each token
//! `true_positive` (genuine) or `false_positive`.

use crate::config::LeakConfig;
use openssl::pkey::{PKey, Public};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// The header naming the signing key.
pub const KEY_ID_HEADER: &str = "github-public-key-identifier";
/// The header carrying the base64 signature of the raw body.
pub const SIGNATURE_HEADER: &str = "github-public-key-signature";
/// Fetches of `partner_keys_url` are at least this far apart.
const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// One token in a partner alert.
#[derive(Debug, Clone, Deserialize)]
pub struct PartnerAlert {
    /// The token found.
    pub token: String,
    /// The partner's name for its kind.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Where it was found.
    #[serde(default)]
    pub url: Option<String>,
    /// What found it (`content`, `commit`, …).
    #[serde(default)]
    pub source: Option<String>,
}

/// The answer for one token of an alert.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerLabel {
    /// The token as reported.
    pub token_raw: String,
    /// The type as reported.
    pub token_type: String,
    /// `true_positive` or `false_positive`.
    pub label: &'static str,
}

pub use crate::secret::p256::{public_key as p256_key, signed_by};

#[derive(Deserialize)]
struct KeySet {
    public_keys: Vec<PublishedKey>,
}

#[derive(Deserialize)]
struct PublishedKey {
    key_identifier: String,
    key: String,
}

/// The partners' keys: configured ones, and those fetched from the URL.
#[derive(Debug)]
pub struct PartnerKeys {
    http: reqwest::Client,
    fetched: RwLock<HashMap<String, String>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl Default for PartnerKeys {
    fn default() -> Self {
        PartnerKeys {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client builds"),
            fetched: RwLock::default(),
            last_fetch: Mutex::default(),
        }
    }
}

impl PartnerKeys {
    /// The key `id`, from the configuration or the last fetch; on an
    /// unknown id, fetches the published keys (unless fetched within the
    /// last minute) and looks again.
    pub async fn key(&self, config: &LeakConfig, id: &str) -> Option<PKey<Public>> {
        let known = |keys: &PartnerKeys| {
            config
                .partner_keys
                .iter()
                .find(|k| k.id == id)
                .map(|k| k.pem.clone())
                .or_else(|| keys.fetched.read().ok()?.get(id).cloned())
        };
        if let Some(pem) = known(self) {
            return p256_key(&pem).ok();
        }
        let url = config.partner_keys_url.clone()?;
        {
            let mut last = self.last_fetch.lock().ok()?;
            if last.is_some_and(|t| t.elapsed() < REFETCH_AFTER) {
                return None;
            }
            *last = Some(Instant::now());
        }
        match fetch(&self.http, url).await {
            Ok(keys) => {
                if let Ok(mut cache) = self.fetched.write() {
                    *cache = keys;
                }
            }
            Err(e) => tracing::warn!(error = %e, "fetching the partners' public keys failed"),
        }
        known(self).and_then(|pem| p256_key(&pem).ok())
    }
}

async fn fetch(http: &reqwest::Client, url: url::Url) -> Result<HashMap<String, String>, String> {
    let res = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    let set: KeySet = res.json().await.map_err(|e| e.to_string())?;
    Ok(set
        .public_keys
        .into_iter()
        .map(|k| (k.key_identifier, k.key))
        .collect())
}
