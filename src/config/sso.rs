//! `[sso]`: upstream OpenID Connect providers people sign in with, and
//! whether local accounts stay available.

use serde::Deserialize;
use url::Url;

/// Single sign-on settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    /// Offer local accounts (user name and password) on `/login`.
    #[serde(default = "yes")]
    pub local_accounts: bool,
    /// Revoke every token of a user who is found disabled (upstream or by an admin).
    #[serde(default)]
    pub revoke_tokens_on_disable: bool,
    /// The providers, each a button on `/login`.
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
}

impl Default for SsoConfig {
    fn default() -> Self {
        SsoConfig {
            local_accounts: true,
            revoke_tokens_on_disable: false,
            providers: Vec::new(),
        }
    }
}

/// One OpenID Connect provider (Keycloak, Okta, Entra ID, Google, GitLab, Dex …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short id, in URLs and as the namespace of its users' subjects.
    pub id: String,
    /// Shown on the sign-in button.
    pub name: String,
    /// Its issuer; discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: Url,
    /// patgate's client id at the provider.
    pub client_id: String,
    /// patgate's client secret at the provider.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A file holding the client secret instead.
    #[serde(default)]
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Scopes to ask for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim that identifies a person (their patgate subject is `{id}:{value}`).
    #[serde(default = "sub")]
    pub subject_claim: String,
    /// The claim with the display name.
    #[serde(default = "name")]
    pub name_claim: String,
    /// The claim with the email address.
    #[serde(default = "email")]
    pub email_claim: String,
    /// The claim with the groups (from the ID token, else from userinfo).
    #[serde(default = "groups")]
    pub groups_claim: String,
    /// If set, only members of one of these groups may sign in; anyone else
    /// is refused and marked disabled.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
}

fn yes() -> bool {
    true
}
fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}
fn sub() -> String {
    "sub".into()
}
fn name() -> String {
    "name".into()
}
fn email() -> String {
    "email".into()
}
fn groups() -> String {
    "groups".into()
}

impl SsoConfig {
    /// A problem with the settings, if any.
    pub fn problem(&self) -> Option<String> {
        if !self.local_accounts && self.providers.is_empty() {
            return Some("with local_accounts = false, configure at least one provider".into());
        }
        for (i, p) in self.providers.iter().enumerate() {
            let ok_id = !p.id.is_empty()
                && p.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok_id {
                return Some(format!("providers[{i}].id must be letters, digits, - or _"));
            }
            if self.providers.iter().filter(|q| q.id == p.id).count() > 1 {
                return Some(format!("providers[{i}].id {:?} is used twice", p.id));
            }
            if !matches!(p.issuer.scheme(), "https" | "http") {
                return Some(format!("providers[{i}].issuer must be an http(s) URL"));
            }
            if !p.scopes.iter().any(|s| s == "openid") {
                return Some(format!("providers[{i}].scopes must include openid"));
            }
            if p.client_secret.is_some() && p.client_secret_file.is_some() {
                return Some(format!(
                    "providers[{i}]: give client_secret or client_secret_file, not both"
                ));
            }
        }
        None
    }
}

impl ProviderConfig {
    /// The client secret, from the file when one is named.
    pub fn secret(&self) -> std::io::Result<Option<String>> {
        match &self.client_secret_file {
            Some(path) => Ok(Some(std::fs::read_to_string(path)?.trim().to_string())),
            None => Ok(self.client_secret.clone()),
        }
    }
}
