//! Configuration: a TOML file, overridden by `PATGATE_*` environment variables,
//! overridden by command-line flags. Unknown keys and bad values stop start-up
//! with a message that names the key.

mod access;
mod audit;
mod compat;
mod defaults;
mod durations;
mod hashing;
mod leaks;
mod limits;
mod reminders;
mod resources;
mod sso;
mod validate;

pub use access::{
    AccessConfig, Permission, ADMIN_ROLE, ADMIN_SCOPE, BUILT_IN_API_SCOPES, TOKENS_READ_SCOPE,
    TOKENS_REVOKE_SCOPE, TOKENS_WRITE_SCOPE,
};
pub use audit::AuditConfig;
pub use compat::CompatConfig;
pub use durations::{parse_duration, MaxTokenLifetime, Retention, Ttl};
pub use hashing::HashingConfig;
pub use leaks::{LeakConfig, PartnerKey};
pub use limits::LimitsConfig;
pub use reminders::{EmailConfig, ReminderConfig};
pub use resources::ResourceConfig;
pub use sso::{ProviderConfig, SsoConfig};

use crate::secret::SecretString;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

/// The settings patgate runs with. Every field has a default, so an empty file
/// (or none) gives the embedded default: SQLite under `./patgate-data`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds to.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the generated master key file.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://path`, a plain path, or `postgres://…`; default: SQLite in `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Largest number of pooled database connections.
    #[serde(default = "defaults::pool_size", deserialize_with = "lenient_u32")]
    pub database_pool_size: u32,
    /// How long a pooled connection may sit idle before it is closed (the
    /// pool keeps none open when idle; checked every 30 s).
    #[serde(default = "defaults::database_idle_timeout")]
    pub database_idle_timeout: Ttl,
    /// Whose clock decides expiry, grace and last use: `database` (on
    /// PostgreSQL, this machine's clock corrected by its measured offset
    /// from the server's, every minute) or `local`.
    #[serde(default)]
    pub database_clock: DatabaseClock,
    /// `transaction` when a pooler in transaction mode (PgBouncer before
    /// 1.21) sits between patgate and PostgreSQL: no server-side prepared
    /// statements and no session settings (see `store::PoolSettings`).
    #[serde(default)]
    pub database_pooler: DatabasePooler,
    /// On SQLite, `serve` checks every page of the file before it listens
    /// (`PRAGMA quick_check`) and refuses a damaged one; `false` skips it.
    #[serde(default = "defaults::yes")]
    pub database_check_at_start: bool,
    /// The `iss` of every JWT and the base of every published URL (RFC 8414 §2).
    #[serde(default = "defaults::issuer")]
    pub issuer: Url,
    /// The `aud` of access tokens (RFC 9068 §2.2); default: the issuer.
    #[serde(default)]
    pub audience: Option<String>,
    /// Lifetime of an access token (JWT); 1 minute to 24 hours.
    #[serde(default = "defaults::access_token_ttl")]
    pub access_token_ttl: Ttl,
    /// Lifetime of a PAT when none is asked for.
    #[serde(default = "defaults::token_default_ttl")]
    pub token_default_ttl: Ttl,
    /// Longest lifetime a PAT may have; `"never"` allows tokens without expiry.
    #[serde(default = "defaults::token_max_ttl")]
    pub token_max_ttl: MaxTokenLifetime,
    /// Algorithm of newly generated signing keys.
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
    /// Master key (base64 of 32 bytes) that encrypts signing keys at rest; give
    /// every instance on one database the same one (`PATGATE_MASTER_KEY`).
    #[serde(default)]
    pub master_key: Option<SecretKeyValue>,
    /// File holding the master key; generated (mode 0600) when missing.
    #[serde(default)]
    pub master_key_file: Option<PathBuf>,
    /// Cost of secret hashing and how much of it may run at once.
    #[serde(default)]
    pub hashing: HashingConfig,
    /// The scope catalogue: scope name → description shown on the consent page.
    #[serde(default = "defaults::scopes")]
    pub scopes: BTreeMap<String, String>,
    /// OAuth2 clients defined in the file (more with `patgate admin client add`).
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Expiry reminders sent to a webhook.
    #[serde(default)]
    pub reminders: ReminderConfig,
    /// Proxies whose `X-Forwarded-For` is believed (CIDR ranges).
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A browser session ends after this long without a request.
    #[serde(default = "defaults::session_idle_timeout")]
    pub session_idle_timeout: Ttl,
    /// A browser session ends this long after sign-in, whatever happens.
    #[serde(default = "defaults::session_max_age")]
    pub session_max_age: Ttl,
    /// A usable token not used for this long is flagged "unused" on the
    /// pages, with a suggestion to revoke it.
    #[serde(default = "defaults::unused_after")]
    pub unused_after: Ttl,
    /// Who may do what: permissions of everyone, of roles, and of upstream groups.
    #[serde(default)]
    pub access: AccessConfig,
    /// The `@access-tokens/express`-compatible API.
    #[serde(default)]
    pub compat: CompatConfig,
    /// Secret-scanning partners of the leaked-token endpoint.
    #[serde(default)]
    pub leaks: LeakConfig,
    /// Resource servers a token may be limited to (RFC 8707).
    #[serde(default)]
    pub resources: Vec<ResourceConfig>,
    /// Sign-in through upstream OpenID Connect providers.
    #[serde(default)]
    pub sso: SsoConfig,
    /// Rate limits, hashing queues and database timeouts.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Who may read `GET /metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// How the audit trail rolls up and how long it keeps what.
    #[serde(default)]
    pub audit: AuditConfig,
}

/// `GET /metrics`: from the same host only, or from anywhere with this
/// bearer token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// A bearer token that lets Prometheus scrape from another host
    /// (`Authorization: Bearer …`); without it only loopback peers may.
    pub token: Option<SecretKeyValue>,
}

/// An OAuth2 client defined in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `client_id`.
    pub id: String,
    /// Name shown on the consent page.
    pub name: String,
    /// Exact redirect URIs (a loopback `http://127.0.0.1/…` one matches any port, RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    /// argon2id PHC string of the client secret; absent for a public client.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// Scopes it may request; empty means any in the catalogue.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Shown as first-party on the consent page.
    #[serde(default)]
    pub first_party: bool,
}

/// Whose clock patgate's time decisions follow (see `database_clock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseClock {
    /// The database server's, through an offset measured every minute.
    #[default]
    Database,
    /// This machine's.
    Local,
}

/// What sits between patgate and PostgreSQL (see `database_pooler`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabasePooler {
    /// Nothing, or a pooler in session mode: each connection is a session.
    #[default]
    None,
    /// A pooler in transaction mode: only a transaction is one session.
    Transaction,
}

/// The JWS algorithm of generated signing keys (RFC 7518 §3.4, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    #[default]
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlgorithm {
    /// The `alg` value of the JWS header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// A secret configuration value; deserializes from a string.
#[derive(Debug, Clone)]
pub struct SecretKeyValue(pub SecretString);

impl<'de> Deserialize<'de> for SecretKeyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(SecretString::new(String::deserialize(d)?)))
    }
}

/// Accepts an integer or a string of digits (environment variables are strings).
fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Str(String),
    }
    match IntOrString::deserialize(d)? {
        IntOrString::Int(i) => u32::try_from(i).map_err(serde::de::Error::custom),
        IntOrString::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a whole number, got {s:?}"))),
    }
}

/// A configuration problem; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Environment variables that are not configuration keys.
const NON_KEY_VARIABLES: &[&str] = &["PATGATE_CONFIG", "PATGATE_LOG", "PATGATE_LOG_FORMAT"];

impl Config {
    /// Loads the file at `path` (if any), then applies `PATGATE_*` variables
    /// from `env`, then `overrides` (`key`, `value`) from flags, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(&str, String)],
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", p.display())))?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix("PATGATE_") else {
                continue;
            };
            if NON_KEY_VARIABLES.contains(&name.as_str()) {
                continue;
            }
            // `PATGATE_HASHING__MAX_CONCURRENT` sets `hashing.max_concurrent`.
            set_key(
                &mut table,
                &key.to_ascii_lowercase().replace("__", "."),
                value,
            );
        }
        for (key, value) in overrides {
            set_key(&mut table, key, value.clone());
        }
        Self::from_table(table)
    }

    /// Deserializes and validates an already merged table. Without an
    /// `issuer`, one follows `listen`, so `serve --listen 127.0.0.1:8095`
    /// alone publishes URLs (redirects, the device `verification_uri`, the
    /// JWT `iss`) on the port it serves.
    pub fn from_table(mut table: toml::Table) -> Result<Self, ConfigError> {
        if !table.contains_key("issuer") {
            let listen = table.get("listen").and_then(|v| v.as_str());
            if let Some(url) = listen.and_then(|l| l.parse().ok()).and_then(issuer_for) {
                table.insert("issuer".into(), toml::Value::String(url.into()));
            }
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path == "." {
                    ConfigError(inner.to_string())
                } else {
                    ConfigError(format!("key `{path}`: {inner}"))
                }
            })?;
        let config = config.with_api_scopes();
        config.validate()?;
        Ok(config)
    }

    /// Adds the scopes of patgate's own API to `[access.scopes]` and, with a
    /// description, to the scope catalogue.
    fn with_api_scopes(mut self) -> Self {
        self.access = self.access.with_built_in_scopes();
        for (name, grants) in &self.access.scopes {
            let built_in = BUILT_IN_API_SCOPES.iter().find(|(n, _, _)| n == name);
            let description = match built_in {
                Some((_, _, text)) => text.to_string(),
                None => {
                    let names: Vec<&str> = grants.iter().map(|p| p.as_str()).collect();
                    format!("patgate: {}", names.join(", "))
                }
            };
            self.scopes.entry(name.clone()).or_insert(description);
        }
        self
    }

    /// The database URL in effect: the configured one or SQLite in `data_dir`.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("patgate.db").display()),
        }
    }

    /// How the connection pool connects: `database_pool_size`, the
    /// database timeout, `database_idle_timeout` and `database_pooler`.
    pub fn pool_settings(&self) -> crate::store::PoolSettings {
        let seconds = |t: &Ttl| std::time::Duration::from_secs(t.seconds().unsigned_abs());
        crate::store::PoolSettings {
            size: self.database_pool_size,
            timeout: seconds(&self.limits.database_timeout),
            idle: seconds(&self.database_idle_timeout),
            transaction_pooler: self.database_pooler == DatabasePooler::Transaction,
        }
    }

    /// Whether this is the embedded default (no database configured).
    pub fn is_embedded_default(&self) -> bool {
        self.database_url.is_none()
    }

    /// The `aud` claim of access tokens.
    pub fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or_else(|| self.issuer_id())
    }

    /// The configured resource server whose audience is `audience`.
    pub fn resource(&self, audience: &str) -> Option<&ResourceConfig> {
        self.resources.iter().find(|r| r.audience == audience)
    }

    /// The `iss` claim: the issuer URL without a trailing slash (RFC 8414 §2).
    pub fn issuer_id(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// An absolute URL under the issuer.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.issuer.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url
    }
}

/// Sets a dotted `key` in `table` to the string `value`.
fn set_key(table: &mut toml::Table, key: &str, value: String) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), toml::Value::String(value));
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_key(inner, rest, value);
            }
        }
    }
}

/// The issuer a server listening on `listen` is reached at from this host:
/// `http://` with the address (loopback for a wildcard one); `None` for
/// port 0 (the default issuer stays, as the port is not known yet).
fn issuer_for(listen: SocketAddr) -> Option<Url> {
    if listen.port() == 0 {
        return None;
    }
    let ip = match listen.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let mut url = Url::parse("http://localhost/").ok()?;
    url.set_ip_host(ip).ok()?;
    url.set_port(Some(listen.port())).ok()?;
    Some(url)
}
