//! A client library for patgate: give it a server URL and a PAT; it
//! exchanges the PAT for an access token, caches the JWT until 30 s before
//! it expires, renews it, and retries 408/429/500/502/503/504 with
//! exponential backoff (1 s, doubling, 30 s cap, 3 retries) honouring
//! `Retry-After`. [`JwtVerifier`] is the resource-server side. The `patgate`
//! CLI uses both.

mod dpop_key;
mod retry;
mod verifier;

pub use dpop_key::DpopKey;
pub(crate) use retry::with_causes;
pub use retry::RetryPolicy;
pub use verifier::{JwtVerifier, VerifyError};

use crate::secret::SecretString;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// A JWT is renewed this long before it expires.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30);

/// What went wrong, typed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the answer was cut off.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What failed.
        message: String,
    },
    /// The PAT was refused: unknown, wrong, revoked, expired, or not from this address.
    #[error("the token was refused ({error}): it may be expired or revoked")]
    TokenRefused {
        /// The OAuth2 `error` code.
        error: String,
        /// Its description.
        description: String,
    },
    /// The server answered an API call with an error (`{"error":{"message","code"}}`).
    #[error("{status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The message.
        message: String,
        /// The code, if any.
        code: Option<String>,
    },
    /// The answer was not what patgate sends.
    #[error("unexpected answer from the server: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

struct CachedJwt {
    token: String,
    renew_at: Instant,
}

/// A patgate client acting with one PAT.
pub struct PatClient {
    server: Url,
    pat: SecretString,
    http: reqwest::Client,
    retry: RetryPolicy,
    cached: Mutex<Option<CachedJwt>>,
    dpop: Option<DpopKey>,
}

impl std::fmt::Debug for PatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatClient")
            .field("server", &self.server.as_str())
            .finish_non_exhaustive()
    }
}

impl PatClient {
    /// A client for the patgate at `server` acting with `pat`.
    pub fn new(server: Url, pat: SecretString) -> Self {
        Self::with_retry(server, pat, RetryPolicy::default())
    }

    /// [`Self::new`] with another retry policy.
    pub fn with_retry(server: Url, pat: SecretString, retry: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("patgate-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds");
        PatClient {
            server,
            pat,
            http,
            retry,
            cached: Mutex::new(None),
            dpop: None,
        }
    }

    /// Proves `key` with every request (DPoP, RFC 9449): the JWTs it gets
    /// are bound to the key, and a PAT bound to it works only so.
    pub fn with_dpop_key(mut self, key: DpopKey) -> Self {
        self.dpop = Some(key);
        self
    }

    /// A `DPoP` header value for `method url` (with `ath` of `access_token`).
    fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<Option<String>, ClientError> {
        self.dpop
            .as_ref()
            .map(|k| k.proof(method, url, access_token))
            .transpose()
            .map_err(ClientError::Unexpected)
    }

    /// The server's URL for `path`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.server.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// A current access token: the cached one, or a new one from the token
    /// endpoint (refresh grant, RFC 6749 §6).
    pub async fn access_token(&self) -> Result<String, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.renew_at) {
            return Ok(c.token.clone());
        }
        let url = self.url(crate::oauth::paths::TOKEN_PATH);
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", self.pat.expose()),
        ];
        let res = self
            .retry
            .send(|| {
                let req = self.http.post(url.clone()).form(&form);
                match self.proof("POST", &url, None) {
                    Ok(Some(p)) => req.header("DPoP", p),
                    _ => req,
                }
            })
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(ClientError::Api {
                status: status.as_u16(),
                message: body["error_description"]
                    .as_str()
                    .unwrap_or("the server is unavailable")
                    .to_string(),
                code: body["error"].as_str().map(str::to_string),
            });
        }
        if status != StatusCode::OK {
            return Err(ClientError::TokenRefused {
                error: body["error"].as_str().unwrap_or("unknown").to_string(),
                description: body["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| ClientError::Unexpected("no access_token".into()))?;
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(0));
        *cached = Some(CachedJwt {
            token: token.to_string(),
            renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE),
        });
        Ok(token.to_string())
    }

    /// Calls `method path` with the access token and an optional JSON body;
    /// the JSON answer (`Null` for 204), or the error the server gave.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let jwt = self.access_token().await?;
        let url = self.url(path);
        let res = self
            .retry
            .send(|| {
                let req = self.http.request(method.clone(), url.clone());
                let req = match self.proof(method.as_str(), &url, Some(&jwt)) {
                    Ok(Some(p)) => req
                        .header(reqwest::header::AUTHORIZATION, format!("DPoP {jwt}"))
                        .header("DPoP", p),
                    _ => req.bearer_auth(&jwt),
                };
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await?;
        answer(res).await
    }
}

/// The JSON of a successful answer, or a typed error.
async fn answer(res: Response) -> Result<Value, ClientError> {
    let status = res.status();
    if status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    Err(ClientError::Api {
        status: status.as_u16(),
        message: body["error"]["message"]
            .as_str()
            .unwrap_or(status.canonical_reason().unwrap_or("error"))
            .to_string(),
        code: body["error"]["code"].as_str().map(str::to_string),
    })
}
