//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3): validates a
//! request and stores an authorization session for the consent page.

use super::clients::{self, Client};
use super::token_request::TokenParams;
use crate::app::{Services, Tx};
use crate::clock::random_alphanumeric;
use crate::error::InternalError;
use crate::store::authorization::{self as store, AuthSessionRow};
use crate::store::{SessionMode, SessionStatus, StoreError};
use chrono::Duration;
use url::Url;

/// How long a person has to approve a request.
pub const SESSION_LIFETIME: Duration = Duration::minutes(10);

/// What the endpoint answers.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// The client or redirect URI cannot be trusted: show this message and
    /// never redirect (RFC 6749 §4.1.2.1).
    ErrorPage(String),
    /// Send the browser back to the client with an error.
    RedirectError(Url),
    /// Stored; continue at `/oauth2/authorize/{id}`.
    Created(String),
}

/// The longest `state` accepted (RFC 6749 §4.1.1 sets none; a client needs
/// a few dozen characters, and each is stored until the session ends).
pub const MAX_STATE_CHARS: usize = 1024;

/// Builds `redirect_uri?error=…&error_description=…&state=…&iss=…` (RFC 9207 §2).
fn error_redirect(
    issuer: &str,
    redirect_uri: &str,
    code: &str,
    description: &str,
    state: Option<&str>,
) -> AuthorizeOutcome {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("error", code)
                    .append_pair("error_description", description);
                if let Some(state) = state {
                    q.append_pair("state", state);
                }
                q.append_pair("iss", issuer);
            }
            AuthorizeOutcome::RedirectError(url)
        }
        Err(_) => AuthorizeOutcome::ErrorPage("the redirect URI is not a URL".into()),
    }
}

/// Whether `s` is a PKCE S256 challenge: 43 base64url characters (RFC 7636 §4.2).
fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Validates an authorization request and stores its session. Blocking.
pub fn start(svc: &Services, params: &TokenParams) -> Result<AuthorizeOutcome, InternalError> {
    svc.write(|tx| start_in(tx, params))
}

fn start_in(tx: &mut Tx<'_>, params: &TokenParams) -> Result<AuthorizeOutcome, InternalError> {
    let svc = tx.svc;
    let client: Client = match params.get("client_id") {
        None => {
            return Ok(AuthorizeOutcome::ErrorPage(
                "the request names no client (client_id)".into(),
            ))
        }
        Some(id) => match clients::find(svc, tx.conn, id)? {
            Some(c) => c,
            None => {
                return Ok(AuthorizeOutcome::ErrorPage(
                    "the client is not registered with patgate".into(),
                ))
            }
        },
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|u| client.accepts_redirect(u))
    else {
        return Ok(AuthorizeOutcome::ErrorPage(
            "the redirect URI is missing or not registered for this client".into(),
        ));
    };
    let issuer = svc.config.issuer_id();
    let state = params.get("state");
    if state.is_some_and(|s| s.chars().count() > MAX_STATE_CHARS) {
        // Not echoed: the client sent something no client needs.
        let why = format!("state must be at most {MAX_STATE_CHARS} characters");
        return Ok(error_redirect(
            issuer,
            redirect_uri,
            "invalid_request",
            &why,
            None,
        ));
    }
    let fail = |code: &str, description: &str| {
        Ok(error_redirect(
            issuer,
            redirect_uri,
            code,
            description,
            state,
        ))
    };
    if params.get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let Some(challenge) = params.get("code_challenge") else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if params.get("code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain is refused)",
        );
    }
    if !is_s256_challenge(challenge) {
        return fail("invalid_request", "code_challenge is not an S256 challenge");
    }
    let scopes = match requested_scopes(svc, &client, params.get("scope")) {
        Ok(s) => s,
        Err(why) => return fail("invalid_scope", &why),
    };
    let dpop_jkt = params.get("dpop_jkt");
    if dpop_jkt.is_some_and(|j| !crate::oauth::dpop::is_thumbprint(j)) {
        return fail(
            "invalid_request",
            "dpop_jkt is not a key thumbprint (RFC 9449 §10)",
        );
    }
    let resource = params.get("resource");
    if resource.is_some_and(|r| svc.config.resource(r).is_none()) {
        return fail(
            "invalid_target",
            "resource is not a resource server patgate knows (RFC 8707)",
        );
    }
    let id = new_session(
        tx,
        &NewSession {
            client: &client,
            mode: SessionMode::Redirect,
            redirect_uri,
            state,
            challenge,
            scopes: &scopes,
            name_hint: params.get("token_name"),
            dpop_jkt,
            resource,
        },
    )?;
    Ok(AuthorizeOutcome::Created(id))
}

/// The scopes a client asks for, each in the catalogue and allowed for it,
/// without repeats (RFC 6749 §3.3). Without `scope`: every catalogue scope
/// it may have except those of patgate's own API, which a client must ask
/// for by name.
pub fn requested_scopes(
    svc: &Services,
    client: &Client,
    scope: Option<&str>,
) -> Result<Vec<String>, String> {
    let requested: Vec<String> = match scope {
        Some(scope) => scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        None => svc
            .config
            .scopes
            .keys()
            .filter(|s| client.may_request(s) && svc.config.access.scope_grants(s).is_none())
            .cloned()
            .collect(),
    };
    if let Some(bad) = requested
        .iter()
        .find(|s| !svc.config.scopes.contains_key(*s) || !client.may_request(s))
    {
        return Err(format!(
            "scope {bad} is unknown or not allowed for this client"
        ));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in requested {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    Ok(scopes)
}

/// A pending authorization session to store.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// The requesting client.
    pub client: &'a Client,
    /// How the answer goes back.
    pub mode: SessionMode,
    /// Where the answer goes (redirect mode).
    pub redirect_uri: &'a str,
    /// The client's `state`.
    pub state: Option<&'a str>,
    /// PKCE S256 challenge.
    pub challenge: &'a str,
    /// Requested scopes.
    pub scopes: &'a [String],
    /// Suggested token name.
    pub name_hint: Option<&'a str>,
    /// The key to bind the token to (RFC 9449 §10 `dpop_jkt`).
    pub dpop_jkt: Option<&'a str>,
    /// The resource server to limit the token to (RFC 8707 `resource`).
    pub resource: Option<&'a str>,
}

/// Stores a pending authorization session (the consent screen's) and returns its id.
pub fn new_session(tx: &mut Tx<'_>, new: &NewSession<'_>) -> Result<String, StoreError> {
    let now = tx.now();
    let id = random_alphanumeric(tx.svc.random.as_ref(), 32);
    store::insert_session(
        tx.conn,
        &AuthSessionRow {
            id: id.clone(),
            client_id: new.client.id.clone(),
            redirect_uri: new.redirect_uri.to_string(),
            state: new.state.map(str::to_string),
            code_challenge: new.challenge.to_string(),
            scopes: new.scopes.join(" "),
            token_name_hint: new.name_hint.map(|n| n.chars().take(100).collect()),
            subject: None,
            status: SessionStatus::Pending,
            created_at: now.naive_utc(),
            expires_at: (now + SESSION_LIFETIME).naive_utc(),
            code_hash: None,
            code_expires_at: None,
            token_name: None,
            token_scopes: None,
            token_expires_at: None,
            token_id: None,
            mode: new.mode,
            dpop_jkt: new.dpop_jkt.map(str::to_string),
            resources: new.resource.unwrap_or_default().to_string(),
        },
    )?;
    Ok(id)
}
