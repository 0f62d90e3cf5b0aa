//! Talking to a provider: discovery (OpenID Connect Discovery 1.0 §4,
//! cached), the authorization URL and the code exchange (with the `oauth2`
//! crate), and userinfo.

use super::SsoError;
use crate::app::Services;
use crate::config::ProviderConfig;
use crate::error::InternalError;
use crate::store::sso::SsoLoginRow;
use josekit::jwk::Jwk;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use url::Url;

/// Discovery documents are fetched again after this.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// What patgate needs from a provider's discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// Must equal the configured issuer (Discovery §4.3).
    pub issuer: String,
    /// Where the person signs in.
    pub authorization_endpoint: Url,
    /// Where the code is redeemed.
    pub token_endpoint: Url,
    /// The provider's signing keys.
    pub jwks_uri: Url,
    /// Extra claims (groups) when the ID token lacks them.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
}

/// Per-provider caches: discovery documents and signing keys.
pub struct SsoRegistry {
    pub(super) http: reqwest::Client,
    discovery: RwLock<HashMap<String, (Discovery, Instant)>>,
    pub(super) keys: RwLock<HashMap<String, HashMap<String, Jwk>>>,
}

impl Default for SsoRegistry {
    fn default() -> Self {
        SsoRegistry {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(15))
                .build()
                .expect("an HTTP client builds"),
            discovery: RwLock::new(HashMap::new()),
            keys: RwLock::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for SsoRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoRegistry").finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> SsoError {
    SsoError::Unavailable(e.to_string())
}

impl SsoRegistry {
    /// The provider's discovery document (cached for an hour).
    pub async fn discover(&self, provider: &ProviderConfig) -> Result<Discovery, SsoError> {
        if let Some((d, at)) = self.discovery.read().await.get(&provider.id) {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(d.clone());
            }
        }
        let issuer = provider.issuer.as_str().trim_end_matches('/');
        let mut url = provider.issuer.clone();
        url.path_segments_mut()
            .map_err(|_| unavailable("the issuer cannot be a base URL"))?
            .pop_if_empty()
            .extend([".well-known", "openid-configuration"]);
        let doc: Discovery = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        if doc.issuer.trim_end_matches('/') != issuer {
            return Err(SsoError::Unavailable(format!(
                "the discovery document names issuer {}",
                doc.issuer
            )));
        }
        self.discovery
            .write()
            .await
            .insert(provider.id.clone(), (doc.clone(), Instant::now()));
        Ok(doc)
    }

    /// Fetches the provider's JWKS into the cache.
    pub(super) async fn fetch_keys(
        &self,
        provider: &ProviderConfig,
        discovery: &Discovery,
    ) -> Result<(), SsoError> {
        let jwks: Value = self
            .http
            .get(discovery.jwks_uri.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for key in jwks["keys"].as_array().into_iter().flatten() {
            if let (Some(kid), Some(map)) = (key["kid"].as_str(), key.as_object()) {
                if let Ok(jwk) = Jwk::from_map(map.clone()) {
                    keys.insert(kid.to_string(), jwk);
                }
            }
        }
        self.keys.write().await.insert(provider.id.clone(), keys);
        Ok(())
    }
}

/// The `id_token` field of the token response (OpenID Connect Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    /// The ID token.
    #[serde(default)]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type OidcClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(
    svc: &Services,
    provider: &ProviderConfig,
    discovery: &Discovery,
) -> Result<OidcClient, InternalError> {
    let secret = provider
        .secret()
        .map_err(|e| InternalError::ConfiguredFile(format!("client_secret_file: {e}")))?;
    let mut c = oauth2::Client::new(ClientId::new(provider.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(discovery.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(discovery.token_endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(super::callback_url(svc, provider)));
    if let Some(s) = secret {
        c = c.set_client_secret(ClientSecret::new(s));
    }
    Ok(c)
}

/// The URL that sends the person to the provider.
pub(super) fn authorization_url(
    svc: &Services,
    provider: &ProviderConfig,
    discovery: &Discovery,
    state: &str,
    nonce: &str,
    verifier: &str,
) -> Result<Url, InternalError> {
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_string()));
    let state = state.to_string();
    let (url, _) = client(svc, provider, discovery)?
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(provider.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce)
        .url();
    Ok(url)
}

/// The tokens the provider answers with.
pub(super) struct ProviderTokens {
    pub id_token: String,
    pub access_token: String,
}

/// Redeems the code at the provider's token endpoint.
pub(super) async fn exchange_code(
    svc: &Services,
    registry: &SsoRegistry,
    provider: &ProviderConfig,
    discovery: &Discovery,
    login: &SsoLoginRow,
    code: &str,
) -> Result<ProviderTokens, SsoError> {
    let client = client(svc, provider, discovery).map_err(unavailable)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(&registry.http)
        .await
        .map_err(|e| {
            SsoError::CodeRefused(match e {
                oauth2::RequestTokenError::ServerResponse(r) => r.error().to_string(),
                other => other.to_string(),
            })
        })?;
    let id_token = response.extra_fields().id_token.clone().ok_or_else(|| {
        SsoError::CodeRefused("no id_token in the answer (is the openid scope allowed?)".into())
    })?;
    Ok(ProviderTokens {
        id_token,
        access_token: response.access_token().secret().clone(),
    })
}

/// Userinfo claims (OpenID Connect Core §5.3), if the provider has the endpoint.
pub(super) async fn userinfo(
    registry: &SsoRegistry,
    discovery: &Discovery,
    access_token: &str,
) -> Option<Map<String, Value>> {
    let url = discovery.userinfo_endpoint.clone()?;
    let res = registry
        .http
        .get(url)
        .bearer_auth(access_token)
        .send()
        .await
        .ok()?;
    res.error_for_status().ok()?.json().await.ok()
}
