//! OAuth2 clients: the built-in `patgate-cli` and `patgate-web`, those in
//! the configuration file, and those registered with `patgate admin client
//! add`; and client authentication (RFC 6749 §2.3.1).

use super::paths::WEB_CALLBACK_PATH;
use super::token_request::TokenParams;
use super::{GrantError, OAuthError, OAuthErrorCode};
use crate::app::{Services, Tx};
use crate::error::InternalError;
use crate::secret::SecretString;
use crate::store::authorization as store;
use crate::store::DbConnection;
use url::{Host, Url};

/// The built-in first-party public client of the patgate CLI.
pub const CLI_CLIENT_ID: &str = "patgate-cli";
/// The built-in first-party public client of the settings page.
pub const WEB_CLIENT_ID: &str = "patgate-web";

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
        WEB_CLIENT_ID => Some(Client {
            name: "patgate (this site)".into(),
            redirect_uris: vec![svc?.config.url(WEB_CALLBACK_PATH).to_string()],
            ..base
        }),
        _ => None,
    }
}

/// The clients patgate brings itself: the CLI's and its own web pages'.
pub fn built_ins(svc: &Services) -> Vec<Client> {
    [CLI_CLIENT_ID, WEB_CLIENT_ID]
        .into_iter()
        .filter_map(|id| built_in(Some(svc), id))
        .collect()
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

/// Client credentials as presented: HTTP Basic (RFC 6749 §2.3.1) or the body.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    /// From the `Authorization: Basic` header, if any: (id, secret).
    pub basic: Option<(String, SecretString)>,
}

impl ClientCredentials {
    /// Whether the request carries a client secret (Basic or `client_secret`).
    pub fn present(&self, params: &TokenParams) -> bool {
        self.basic.is_some() || params.get("client_secret").is_some()
    }
}

/// The error of a failed client authentication (RFC 6749 §5.2).
pub fn invalid_client() -> OAuthError {
    OAuthError::new(
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    )
}

/// Identifies and, for confidential clients, authenticates the caller
/// (RFC 6749 §2.3.1). A confidential client's verified secret is cached
/// like a token's, so a bound PAT's exchanges stay cheap. Blocking (argon2
/// on a cache miss).
pub fn authenticate(
    tx: &mut Tx<'_>,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<Client, GrantError> {
    let (id, secret) = match (&creds.basic, params.get("client_id")) {
        (Some((id, secret)), None) => (id.clone(), Some(secret.expose().to_string())),
        (Some((id, secret)), Some(body_id)) if body_id == id => {
            (id.clone(), Some(secret.expose().to_string()))
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            )
            .into())
        }
        (None, Some(id)) => (
            id.to_string(),
            params.get("client_secret").map(str::to_string),
        ),
        (None, None) => {
            return Err(OAuthError::invalid_request("missing parameter client_id").into())
        }
    };
    let svc = tx.svc;
    let Some(client) = find(svc, tx.conn, &id)? else {
        return Err(invalid_client().into());
    };
    let verified = |hash: &str, secret: &str| {
        let key = format!("client:{}", client.id);
        svc.verified.contains(&key, hash, secret)
            || (svc.hasher.verify(secret, hash) && {
                svc.verified.insert(&key, hash, secret);
                true
            })
    };
    match (&client.secret_hash, secret) {
        (None, _) => Ok(client),
        (Some(hash), Some(secret)) if verified(hash, &secret) => Ok(client),
        (Some(_), _) => Err(invalid_client().into()),
    }
}

/// Whether the request authenticates as the confidential client `bound`,
/// which a PAT issued through it requires (RFC 6749 §6, RFC 7009 §2.1): a
/// missing or wrong authentication is `invalid_client`, another client's
/// `invalid_grant` (the token was not issued to it). Blocking.
pub fn authenticate_bound(
    tx: &mut Tx<'_>,
    bound: &str,
    params: &TokenParams,
    creds: &ClientCredentials,
) -> Result<(), GrantError> {
    if !creds.present(params) {
        return Err(invalid_client().into());
    }
    let client = authenticate(tx, params, creds)?;
    is_bound_client(Some(&client), bound)
}

/// Whether `client` (already authenticated, if any) is the confidential
/// client `bound` a token was issued to (RFC 6749 §6).
pub fn is_bound_client(client: Option<&Client>, bound: &str) -> Result<(), GrantError> {
    match client {
        None => Err(invalid_client().into()),
        Some(c) if c.id == bound && !c.is_public() => Ok(()),
        Some(_) => Err(OAuthError::new(
            OAuthErrorCode::InvalidGrant,
            "the token was issued to another client",
        )
        .into()),
    }
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
