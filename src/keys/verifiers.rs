//! The one place that turns a JWK into a signature verifier, for patgate's
//! own tokens, the client library's verifier and providers' ID tokens.

use josekit::jwk::Jwk;
use josekit::jws::{EdDSA, JwsVerifier, ES256, ES384, PS256, RS256, RS384, RS512};

/// A verifier for JWS algorithm `alg` (RFC 7518 §3.1, RFC 8037 §3.1) with
/// `jwk`; `None` for another algorithm (never `none` or an HMAC) or a key
/// that does not fit it.
pub fn verifier_for(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    fn boxed<V: JwsVerifier + 'static>(
        v: Result<V, josekit::JoseError>,
    ) -> Option<Box<dyn JwsVerifier>> {
        v.ok().map(|v| Box::new(v) as Box<dyn JwsVerifier>)
    }
    match alg {
        "ES256" => boxed(ES256.verifier_from_jwk(jwk)),
        "ES384" => boxed(ES384.verifier_from_jwk(jwk)),
        "EdDSA" => boxed(EdDSA.verifier_from_jwk(jwk)),
        "RS256" => boxed(RS256.verifier_from_jwk(jwk)),
        "RS384" => boxed(RS384.verifier_from_jwk(jwk)),
        "RS512" => boxed(RS512.verifier_from_jwk(jwk)),
        "PS256" => boxed(PS256.verifier_from_jwk(jwk)),
        _ => None,
    }
}
