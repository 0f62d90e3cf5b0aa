//! The bodies the web layer reads and writes, as a leaf module: the
//! handlers and the error mapping serialize these types, and the OpenAPI
//! document (`web::openapi`) describes the same types, so what is
//! documented is what is sent.

use serde::Serialize;
use utoipa::ToSchema;

/// The token endpoint's form (RFC 6749 §4.1.3, §6; RFC 8628 §3.4; RFC
/// 8693 §2.1; RFC 8707 §2): every parameter the endpoint reads.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `refresh_token` (exchange a PAT), `authorization_code`,
    /// `urn:ietf:params:oauth:grant-type:device_code` or
    /// `urn:ietf:params:oauth:grant-type:token-exchange`.
    grant_type: String,
    /// The PAT, for `refresh_token`.
    refresh_token: Option<String>,
    /// Narrower scopes than the PAT's, space-separated (RFC 6749 §6).
    scope: Option<String>,
    /// The code, for `authorization_code`.
    code: Option<String>,
    /// For `authorization_code`: as in the authorization request.
    redirect_uri: Option<String>,
    /// PKCE verifier (RFC 7636 §4.5).
    code_verifier: Option<String>,
    /// For `device_code`.
    device_code: Option<String>,
    /// The client, when not authenticated with HTTP Basic.
    client_id: Option<String>,
    /// A confidential client's secret (`client_secret_post`).
    client_secret: Option<String>,
    /// The resource server the JWT is for (RFC 8707 §2): its `aud`.
    resource: Option<String>,
    /// For `token-exchange`: the PAT (RFC 8693 §2.1).
    subject_token: Option<String>,
    /// For `token-exchange`: `urn:ietf:params:oauth:token-type:refresh_token`.
    subject_token_type: Option<String>,
    /// For `token-exchange`: `urn:ietf:params:oauth:token-type:access_token`
    /// or `urn:ietf:params:oauth:token-type:jwt`, when given.
    requested_token_type: Option<String>,
}

/// The revocation and introspection endpoints' form (RFC 7009 §2.1, RFC 7662 §2.1).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenHintForm {
    /// A PAT (or, for introspection, an access token too).
    token: String,
    /// `refresh_token` or `access_token`; a hint only.
    token_type_hint: Option<String>,
    /// The client, when not authenticated with HTTP Basic.
    client_id: Option<String>,
    /// A confidential client's secret (`client_secret_post`).
    client_secret: Option<String>,
}

/// The device authorization endpoint's form (RFC 8628 §3.1).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeviceForm {
    /// The client (`patgate-cli` for the CLI).
    client_id: String,
    /// Requested scopes, space-separated.
    scope: Option<String>,
}

/// An OAuth error (RFC 6749 §5.2), as the OAuth endpoints serialize it.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody<'a> {
    /// `invalid_grant`, `invalid_client`, `invalid_request`, …
    pub error: &'a str,
    /// A sentence for the developer.
    pub error_description: &'a str,
}

/// An error of the JSON APIs, as they serialize it.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody<'a> {
    /// What went wrong.
    pub error: ApiErrorDetail<'a>,
}

/// The error's message and code.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorDetail<'a> {
    /// A sentence for the developer.
    pub message: &'a str,
    /// A stable code (`insufficient_scope`, `forbidden`, …).
    pub code: &'a str,
}

/// A page of tokens.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// Tokens, newest first.
    pub tokens: Vec<crate::tokens::view::TokenView>,
    /// Where the next page starts: pass it as `cursor`; `null` on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

/// A token just issued or rotated; `rawToken` is shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The token.
    pub token: crate::tokens::view::TokenView,
    /// The secret token to hand to its holder.
    pub raw_token: String,
}
