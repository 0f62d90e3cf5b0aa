//! `[compat]`: the `@access-tokens/express`-compatible API and its paths.

use serde::Deserialize;

/// Where the compatible API lives (the `authPath` and `adminPath` options of
/// `@access-tokens/client`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompatConfig {
    /// Serve the compatible API.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Prefix of `POST {auth_path}/token`.
    #[serde(default = "auth_path")]
    pub auth_path: String,
    /// Prefix of `{admin_path}/tokens…`.
    #[serde(default = "admin_path")]
    pub admin_path: String,
}

fn enabled() -> bool {
    true
}

fn auth_path() -> String {
    "/auth".into()
}

fn admin_path() -> String {
    "/admin".into()
}

impl Default for CompatConfig {
    fn default() -> Self {
        CompatConfig {
            enabled: enabled(),
            auth_path: auth_path(),
            admin_path: admin_path(),
        }
    }
}

impl CompatConfig {
    /// A problem with the paths, if any.
    pub fn problem(&self) -> Option<&'static str> {
        let ok = |p: &str| {
            p.starts_with('/')
                && !p.ends_with('/')
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
        };
        (!ok(&self.auth_path) || !ok(&self.admin_path))
            .then_some("auth_path and admin_path are paths like /auth (leading /, no trailing /)")
    }
}
