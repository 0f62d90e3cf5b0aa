//! Sign-in through upstream OpenID Connect providers (OpenID Connect Core
//! 1.0 §3.1, authorization code flow with PKCE, `state` and `nonce`).
//!
//! The web layer runs the steps in order: [`SsoRegistry::discover`] (async,
//! cached), [`begin`] (blocking: stores the started sign-in so any instance
//! can finish it, bound to the browser that started it by the hash of a
//! cookie value, RFC 9700 §4.7.1), then on the callback [`take`] (blocking:
//! consumes it once, and only for that browser), [`redeem`] (async: code
//! exchange with the `oauth2` crate and ID token verification), and
//! [`admit`] (blocking: creates or updates the user).

mod id_token;
mod provider;

pub use id_token::IdTokenError;
pub use provider::{Discovery, SsoRegistry};

use crate::app::Services;
use crate::audit::{self, Event};
use crate::clock::random_alphanumeric;
use crate::config::ProviderConfig;
use crate::error::InternalError;
use crate::policy::{Origin, Principal};
use crate::secret::digest;
use crate::store::sso::{self as store, SsoLoginRow, SsoProfile};
use chrono::Duration;
use serde_json::{json, Map, Value};
use url::Url;

/// A started sign-in must finish within this.
pub const LOGIN_LIFETIME: Duration = Duration::minutes(10);

/// Why an SSO sign-in failed; every case ends on a page and signs no one in.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// No such provider.
    #[error("unknown sign-in provider")]
    UnknownProvider,
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider sent an error back (`?error=…`).
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// The `state` is unknown, used or expired, or another browser started it.
    #[error("this sign-in is unknown, expired, already used, or was started in another browser")]
    BadState,
    /// The code was refused at the provider's token endpoint.
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    /// The ID token failed a check.
    #[error("the identity token is not valid: {0}")]
    BadIdToken(#[from] IdTokenError),
    /// The person may not sign in (not in an allowed group, or disabled).
    #[error("this account may not sign in to patgate")]
    NotAllowed,
}

/// The provider `id` from the configuration.
pub fn provider<'a>(svc: &'a Services, id: &str) -> Result<&'a ProviderConfig, SsoError> {
    svc.config
        .sso
        .providers
        .iter()
        .find(|p| p.id == id)
        .ok_or(SsoError::UnknownProvider)
}

/// Where the provider sends the person back.
pub fn callback_url(svc: &Services, provider: &ProviderConfig) -> Url {
    let mut url = svc.config.url("/login/sso/");
    url.path_segments_mut()
        .expect("http URL")
        .pop_if_empty()
        .push(&provider.id)
        .push("callback");
    url
}

/// Starts a sign-in for the browser holding the cookie value `browser`:
/// stores state, nonce, PKCE verifier and the hash of `browser`, and returns
/// the provider's authorization URL. Blocking.
pub fn begin(
    svc: &Services,
    provider: &ProviderConfig,
    discovery: &Discovery,
    next: &str,
    browser: &str,
) -> Result<Url, InternalError> {
    let state = random_alphanumeric(svc.random.as_ref(), 32);
    let nonce = random_alphanumeric(svc.random.as_ref(), 32);
    let verifier = random_alphanumeric(svc.random.as_ref(), 64);
    let now = svc.now();
    let row = SsoLoginRow {
        state_hash: digest(&state),
        provider: provider.id.clone(),
        nonce: nonce.clone(),
        pkce_verifier: verifier.clone(),
        next_path: next.to_string(),
        created_at: now.naive_utc(),
        expires_at: (now + LOGIN_LIFETIME).naive_utc(),
        used: false,
        browser_hash: digest(browser),
    };
    svc.write(|tx| store::insert_login(tx.conn, &row))?;
    provider::authorization_url(svc, provider, discovery, &state, &nonce, &verifier)
}

/// Consumes the started sign-in `state` names, once, if the browser
/// presenting the cookie value `browser` started it; another browser's
/// attempt consumes nothing. Blocking.
pub fn take(
    svc: &Services,
    provider: &ProviderConfig,
    state: &str,
    browser: &str,
) -> Result<Option<SsoLoginRow>, InternalError> {
    if state.is_empty() || browser.is_empty() {
        return Ok(None);
    }
    let (state_hash, browser_hash, now) = (digest(state), digest(browser), svc.now());
    Ok(svc
        .write(|tx| store::consume_login(tx.conn, &state_hash, &browser_hash, &provider.id, now))?)
}

/// Exchanges the code and verifies the ID token; what the provider says of
/// the person.
pub async fn redeem(
    svc: &Services,
    registry: &SsoRegistry,
    provider: &ProviderConfig,
    discovery: &Discovery,
    login: &SsoLoginRow,
    code: &str,
) -> Result<SsoProfile, SsoError> {
    let tokens = provider::exchange_code(svc, registry, provider, discovery, login, code).await?;
    let mut claims = registry
        .verify_id_token(
            provider,
            discovery,
            &tokens.id_token,
            &login.nonce,
            svc.now(),
        )
        .await?;
    if !claims.contains_key(&provider.groups_claim) {
        if let Some(extra) = provider::userinfo(registry, discovery, &tokens.access_token).await {
            if extra.get("sub") == claims.get("sub") {
                for (k, v) in extra {
                    claims.entry(k).or_insert(v);
                }
            }
        }
    }
    profile(provider, &claims)
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The person as patgate records them: subject `{provider}:{subject claim}`.
fn profile(provider: &ProviderConfig, claims: &Map<String, Value>) -> Result<SsoProfile, SsoError> {
    let id = text(claims, &provider.subject_claim)
        .ok_or_else(|| IdTokenError::Claim(format!("no {} claim", provider.subject_claim)))?;
    let groups: Vec<String> = match claims.get(&provider.groups_claim) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|g| g.replace(' ', "_"))
            .collect(),
        Some(Value::String(s)) => s
            .split([',', ' '])
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Ok(SsoProfile {
        subject: format!("{}:{id}", provider.id),
        provider: provider.id.clone(),
        email: text(claims, &provider.email_claim),
        display_name: text(claims, &provider.name_claim),
        groups: groups.join(" "),
    })
}

/// Creates or updates the user and decides whether they may sign in: not
/// disabled, and in an allowed group when the provider lists any (else
/// they are marked disabled, and their tokens revoked when so configured).
/// Returns the subject. Blocking.
pub fn admit(
    svc: &Services,
    provider: &ProviderConfig,
    profile: &SsoProfile,
    from: &Origin,
) -> Result<Result<String, SsoError>, InternalError> {
    let now = svc.now();
    let person = Principal::session(&profile.subject, Default::default(), from.clone());
    let user = svc.write(|tx| store::upsert_user(tx.conn, profile, now))?;
    let allowed = provider.allowed_groups.is_empty()
        || user
            .group_list()
            .iter()
            .any(|g| provider.allowed_groups.contains(g));
    if !allowed && !user.disabled {
        let system = Principal::system("sso");
        let disabled =
            svc.write(|tx| crate::accounts::set_disabled(tx, &system, &user.subject, true));
        match disabled {
            Ok(()) => {}
            Err(crate::error::OpError::Internal(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not disable a user outside the allowed groups")
            }
        }
    }
    if !allowed || user.disabled {
        tracing::info!(subject = %user.subject, "SSO sign-in refused: disabled or not in an allowed group");
        let reason = if allowed {
            "disabled"
        } else {
            "not_in_allowed_group"
        };
        svc.write(|tx| {
            audit::count_sign_in_failure(tx, Some(&user.subject), &user.subject, reason, &person)
        })?;
        return Ok(Err(SsoError::NotAllowed));
    }
    svc.write(|tx| {
        let details = json!({ "method": "sso", "provider": provider.id });
        audit::record_about(tx, Some(&user.subject), Event::SignedIn, &person, details)
    })?;
    Ok(Ok(user.subject))
}
