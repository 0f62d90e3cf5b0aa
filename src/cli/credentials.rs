//! The CLI's stored PATs: one entry per server in a TOML file readable only
//! by its owner (mode 0600), at `$PATGATE_CREDENTIALS`, else
//! `$XDG_CONFIG_HOME/patgate/credentials.toml`, else
//! `~/.config/patgate/credentials.toml`.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
            return Ok(key(&s));
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
