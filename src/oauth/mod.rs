//! The OAuth2 side: the token endpoint's grants, RFC 9068 access tokens, and
//! server metadata. Free of the web framework.

pub mod access_token;
pub mod authorize;
pub mod clients;
pub mod code_grant;
pub mod consent;
pub mod device;
pub mod dpop;
pub mod error;
pub mod exchange_denial;
pub mod introspection;
pub mod metadata;
pub mod paths;
pub mod refresh_grant;
pub mod revocation;
pub mod token_check;
pub mod token_request;
pub mod web_client;

pub use error::{GrantError, OAuthError, OAuthErrorCode};
