//! The OAuth endpoints clients and resource servers call: token (RFC 6749
//! §3.2), authorization (§3.1), device authorization (RFC 8628), revocation
//! (RFC 7009), introspection (RFC 7662), discovery (RFC 8414), and the
//! `@access-tokens`-compatible token endpoint. Errors are RFC 6749 §5.2 JSON.

pub mod authorize;
pub mod compat_token;
pub mod device_authorization;
pub mod revoke_introspect;
pub mod token;
pub mod well_known;
