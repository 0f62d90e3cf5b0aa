//! OAuth2 clients: the built-in `patgate-cli`, those in the configuration
//! file, and those registered with `patgate admin client add`.

use crate::app::Services;
use crate::error::InternalError;
use crate::store::authorization as store;
use crate::store::DbConnection;
use url::{Host, Url};

/// The built-in first-party public client of the patgate CLI.
pub const CLI_CLIENT_ID: &str = "patgate-cli";

/// A client as the authorization and token endpoints see it.
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Name shown on the consent page.
    pub name: String,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// argon2id PHC string of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// Scopes it may request; empty means any in the catalogue.
    pub scopes: Vec<String>,
    /// Operated by the same party as patgate.
    pub first_party: bool,
    /// Accepts any loopback redirect URI (the native CLI, RFC 8252 §7.3).
    pub any_loopback: bool,
}

/// Whether `uri` may be registered as a redirect URI: absolute, no fragment
/// (RFC 6749 §3.1.2).
pub fn is_registrable_redirect(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| u.fragment().is_none())
}

fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        }
}

impl Client {
    /// Whether `uri` may receive this client's answers: an exact match, or a
    /// loopback URI that differs only in its port (RFC 8252 §7.3).
    pub fn accepts_redirect(&self, uri: &str) -> bool {
        let Ok(url) = Url::parse(uri) else {
            return false;
        };
        if url.fragment().is_some() {
            return false;
        }
        if self.any_loopback && is_loopback_http(&url) {
            return true;
        }
        self.redirect_uris.iter().any(|registered| {
            if registered == uri {
                return true;
            }
            let Ok(mut reg) = Url::parse(registered) else {
                return false;
            };
            if !is_loopback_http(&reg) || !is_loopback_http(&url) {
                return false;
            }
            let _ = reg.set_port(url.port());
            reg == url
        })
    }

    /// Whether the client has no secret (must use PKCE, RFC 7636).
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Whether it may ask for `scope`.
    pub fn may_request(&self, scope: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == scope)
    }
}

fn built_in(svc: Option<&Services>, id: &str) -> Option<Client> {
    let base = Client {
        id: id.into(),
        name: String::new(),
        redirect_uris: vec![],
        secret_hash: None,
        scopes: vec![],
        first_party: true,
        any_loopback: false,
    };
    match id {
        CLI_CLIENT_ID => Some(Client {
            name: "patgate CLI".into(),
            any_loopback: true,
            ..base
        }),
        super::web_client::WEB_CLIENT_ID => Some(Client {
            name: "patgate (this site)".into(),
            redirect_uris: vec![svc?
                .config
                .url(super::web_client::CALLBACK_PATH)
                .to_string()],
            ..base
        }),
        _ => None,
    }
}

/// The client `id`: built-in, then the config file, then the database. Blocking.
pub fn find(
    svc: &Services,
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<Client>, InternalError> {
    if let Some(c) = built_in(Some(svc), id) {
        return Ok(Some(c));
    }
    if let Some(c) = svc.config.clients.iter().find(|c| c.id == id) {
        return Ok(Some(Client {
            id: c.id.clone(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.clone(),
            secret_hash: c.secret_hash.clone(),
            scopes: c.scopes.clone(),
            first_party: c.first_party,
            any_loopback: false,
        }));
    }
    Ok(store::find_client(conn, id)?.map(|row| Client {
        id: row.id,
        name: row.name,
        redirect_uris: row.redirect_uris.lines().map(str::to_string).collect(),
        secret_hash: row.secret_hash,
        scopes: row.scopes.split_whitespace().map(str::to_string).collect(),
        first_party: false,
        any_loopback: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(uris: &[&str]) -> Client {
        Client {
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            any_loopback: false,
            ..built_in(None, CLI_CLIENT_ID).unwrap()
        }
    }

    #[test]
    fn redirect_matching() {
        let cli = built_in(None, CLI_CLIENT_ID).unwrap();
        assert!(cli.accepts_redirect("http://127.0.0.1:53211/callback"));
        assert!(cli.accepts_redirect("http://[::1]:4000/"));
        assert!(!cli.accepts_redirect("http://localhost:4000/"));
        assert!(!cli.accepts_redirect("https://127.0.0.1:4000/"));
        assert!(!cli.accepts_redirect("http://127.0.0.1:4000/#frag"));
        assert!(!cli.accepts_redirect("http://evil.example/"));
        let web = client(&["https://app.example/cb", "http://127.0.0.1/native"]);
        assert!(web.accepts_redirect("https://app.example/cb"));
        assert!(!web.accepts_redirect("https://app.example/cb/"));
        assert!(!web.accepts_redirect("https://app.example/cb?x=1"));
        assert!(web.accepts_redirect("http://127.0.0.1:9999/native"));
        assert!(!web.accepts_redirect("http://127.0.0.1:9999/other"));
    }
}
