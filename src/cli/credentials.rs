//! The CLI's stored PATs: one entry per server in a TOML file readable only
//! by its owner (mode 0600), at `$PATGATE_CREDENTIALS`, else
//! `$XDG_CONFIG_HOME/patgate/credentials.toml`, else
//! `~/.config/patgate/credentials.toml`.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use url::Url;

/// One server's stored token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredToken {
    /// The PAT.
    pub token: String,
    /// Who it acts as.
    #[serde(default)]
    pub user: String,
    /// When it was stored (RFC 3339).
    #[serde(default)]
    pub stored_at: String,
}

/// The whole file: server URL → token.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// Entries by server URL (without a trailing slash).
    #[serde(default)]
    pub servers: BTreeMap<String, StoredToken>,
}

/// Where the file is.
pub fn path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("PATGATE_CREDENTIALS") {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".config"),
    };
    Ok(base.join("patgate").join("credentials.toml"))
}

/// The key of `server`: its URL without a trailing slash.
pub fn key(server: &str) -> String {
    server.trim_end_matches('/').to_string()
}

/// The server URL `given` names: as is with a scheme; without one,
/// `http://` for this host (`localhost`, `127.x`, `[::1]`) and `https://`
/// for any other, so `--server 127.0.0.1:8095` works.
pub fn server_url(given: &str) -> anyhow::Result<Url> {
    let given = given.trim();
    let with_scheme = if given.contains("://") {
        given.to_string()
    } else {
        let host = given.split(['/', ':']).next().unwrap_or_default();
        let local = host == "localhost" || host.starts_with("127.") || given.starts_with("[::1]");
        format!("{}://{given}", if local { "http" } else { "https" })
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        anyhow::anyhow!("--server {given:?} is not a URL ({e}); e.g. https://patgate.example.com")
    })?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host().is_some(),
        "--server {given:?}: use an http:// or https:// URL, e.g. https://patgate.example.com"
    );
    Ok(url)
}

impl Credentials {
    /// Reads the file (empty when it does not exist).
    pub fn load() -> anyhow::Result<Self> {
        let path = path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file with mode 0600 (replacing it in one rename).
    pub fn save(&self) -> anyhow::Result<()> {
        let path = path()?;
        let dir = path
            .parent()
            .context("the credentials path has no directory")?;
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("toml.tmp");
        let text = toml::to_string(self)?;
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// The server to use: `given`, else `$PATGATE_SERVER`, else the only stored one.
    pub fn server(&self, given: Option<&str>) -> anyhow::Result<String> {
        if let Some(s) = given
            .map(str::to_string)
            .or_else(|| std::env::var("PATGATE_SERVER").ok())
        {
            return Ok(key(server_url(&s)?.as_str()));
        }
        match self.servers.keys().collect::<Vec<_>>().as_slice() {
            [only] => Ok((*only).clone()),
            [] => bail!("not logged in: run `patgate login --server <url>`"),
            _ => bail!("logged in to several servers: pass --server <url>"),
        }
    }

    /// The stored token for `server`.
    pub fn token(&self, server: &str) -> anyhow::Result<&StoredToken> {
        self.servers.get(&key(server)).with_context(|| {
            format!("not logged in to {server}: run `patgate login --server {server}`")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_a_scheme_is_understood() {
        let url = |s: &str| server_url(s).map(|u| u.to_string());
        assert_eq!(url("127.0.0.1:8095").unwrap(), "http://127.0.0.1:8095/");
        assert_eq!(url("localhost:8080").unwrap(), "http://localhost:8080/");
        assert_eq!(
            url("auth.example.com").unwrap(),
            "https://auth.example.com/"
        );
        assert_eq!(url("https://a.example/x").unwrap(), "https://a.example/x");
        assert!(url("ftp://a.example")
            .unwrap_err()
            .to_string()
            .contains("http://"));
        assert!(url("").is_err());
    }
}
