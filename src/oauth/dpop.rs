//! DPoP proofs (RFC 9449): a client proves it holds a private key by
//! sending, with each token request, a fresh JWT signed by that key. The
//! checks here are RFC 9449 §4.3's, except replay, which the exchange does
//! in the database (so every instance sees every proof).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use url::Url;

/// The `DPoP` request header (RFC 9449 §4.1).
pub const HEADER: &str = "dpop";
/// Algorithms accepted for proofs (advertised as
/// `dpop_signing_alg_values_supported`, RFC 9449 §5.1).
pub const ALGORITHMS: [&str; 3] = ["ES256", "EdDSA", "RS256"];
/// A proof's `iat` may be this many seconds in the past…
pub const MAX_AGE_SECONDS: i64 = 60;
/// …or this many in the future (clock skew).
pub const MAX_SKEW_SECONDS: i64 = 10;
/// The longest proof read.
const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Private-key members a JWK in a proof must not carry (RFC 7517 §6, RFC 8037).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A checked proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// The RFC 7638 thumbprint of its key (`cnf.jkt`, RFC 9449 §6.1).
    pub jkt: String,
    /// Its unique id.
    pub jti: String,
    /// When it was made (Unix seconds).
    pub iat: i64,
}

impl DpopProof {
    /// The key under which its use is remembered: a digest of key and `jti`.
    pub fn replay_key(&self) -> String {
        let digest = Sha256::digest(format!("{}.{}", self.jkt, self.jti));
        URL_SAFE_NO_PAD.encode(digest)
    }

    /// Until when it must be remembered: after that its `iat` is too old.
    pub fn remember_until(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.iat + MAX_AGE_SECONDS + MAX_SKEW_SECONDS, 0)
            .unwrap_or_default()
    }
}

/// Why a proof was refused (the `error_description` of `invalid_dpop_proof`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofError(pub &'static str);

fn decode_json(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required
/// members in lexicographic order, base64url. `None` for other key types.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = BTreeMap::new();
    for m in members {
        canonical.insert(*m, jwk.get(*m)?.as_str()?);
    }
    let text = serde_json::to_string(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(text)))
}

/// Whether `proof` satisfies a binding to the key with thumbprint `bound`:
/// no binding, or a proof by that key.
pub fn satisfies(bound: Option<&str>, proof: Option<&DpopProof>) -> bool {
    bound.is_none_or(|jkt| proof.is_some_and(|p| p.jkt == jkt))
}

/// Whether `text` looks like a thumbprint (43 base64url characters).
pub fn is_thumbprint(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `uri` without query and fragment, for comparing `htu` (RFC 9449 §4.3 9).
fn without_query(mut uri: Url) -> Url {
    uri.set_query(None);
    uri.set_fragment(None);
    uri
}

/// Checks `proof` for a `method` request to `uri` at `now` (RFC 9449 §4.3
/// 1–10: one well-formed JWT, `typ` `dpop+jwt`, an accepted asymmetric
/// `alg`, a public `jwk` that verifies the signature, `htm`, `htu`, a
/// fresh `iat`, a `jti`).
pub fn check(
    proof: &str,
    method: &str,
    uri: &Url,
    now: DateTime<Utc>,
) -> Result<DpopProof, ProofError> {
    check_for(proof, method, uri, now, None)
}

/// The `ath` of `access_token`: base64url of its SHA-256 (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// How a request to a resource presented its access token.
#[derive(Debug, Clone, Copy)]
pub struct Presentation<'a> {
    /// `Authorization: DPoP …` rather than `Bearer …` (RFC 9449 §7.1).
    pub dpop_scheme: bool,
    /// The `DPoP` header.
    pub proof: Option<&'a str>,
    /// The request's method.
    pub method: &'a str,
    /// The request's URL as the client addressed it.
    pub url: &'a Url,
}

/// For a resource (RFC 9449 §7.1): the proof of a request made with the
/// key-bound access token `jwt` whose `cnf.jkt` is `jkt`: the `DPoP`
/// scheme, a valid proof for this method and URL, with `ath` of this
/// token, by the bound key. The checked proof (for the replay check), or why not.
pub fn check_presentation(
    jwt: &str,
    jkt: &str,
    how: &Presentation<'_>,
    now: DateTime<Utc>,
) -> Result<DpopProof, ProofError> {
    if !how.dpop_scheme {
        return Err(ProofError(
            "a key-bound token must be sent with the DPoP scheme",
        ));
    }
    let proof = how
        .proof
        .ok_or(ProofError("a key-bound token needs a DPoP proof"))?;
    let checked = check_for(
        proof,
        how.method,
        how.url,
        now,
        Some(&access_token_hash(jwt)),
    )?;
    if checked.jkt != jkt {
        return Err(ProofError("the DPoP proof is not by the token's key"));
    }
    Ok(checked)
}

fn check_for(
    proof: &str,
    method: &str,
    uri: &Url,
    now: DateTime<Utc>,
    ath: Option<&str>,
) -> Result<DpopProof, ProofError> {
    let malformed = ProofError("the DPoP proof is not a well-formed JWT");
    if proof.len() > MAX_PROOF_BYTES || proof.split('.').count() != 3 {
        return Err(malformed);
    }
    let header = proof
        .split('.')
        .next()
        .and_then(decode_json)
        .ok_or(malformed.clone())?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(ProofError("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGORITHMS.contains(&alg) {
        return Err(ProofError("the DPoP proof's alg is not supported"));
    }
    let Some(Value::Object(jwk_members)) = header.get("jwk") else {
        return Err(ProofError("the DPoP proof carries no jwk"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk_members.contains_key(*m)) {
        return Err(ProofError("the DPoP proof's jwk must be a public key"));
    }
    let jkt = thumbprint(jwk_members).ok_or(ProofError("the DPoP proof's jwk is not usable"))?;
    let jwk = josekit::jwk::Jwk::from_map(jwk_members.clone()).map_err(|_| malformed.clone())?;
    let verifier: Box<dyn JwsVerifier> = match alg {
        "ES256" => ES256
            .verifier_from_jwk(&jwk)
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        "EdDSA" => EdDSA
            .verifier_from_jwk(&jwk)
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
        _ => RS256
            .verifier_from_jwk(&jwk)
            .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
    }
    .map_err(|_| ProofError("the DPoP proof's jwk does not fit its alg"))?;
    let (payload, _) = josekit::jws::deserialize_compact(proof, &*verifier)
        .map_err(|_| ProofError("the DPoP proof's signature does not verify"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| malformed.clone())?;
    if claims.get("htm").and_then(Value::as_str) != Some(method) {
        return Err(ProofError(
            "the DPoP proof's htm does not match the request",
        ));
    }
    let htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
        .map(without_query);
    if htu.as_ref() != Some(&without_query(uri.clone())) {
        return Err(ProofError(
            "the DPoP proof's htu does not match the request",
        ));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(ProofError("the DPoP proof has no iat"))?;
    let age = now.timestamp() - iat;
    if !(-MAX_SKEW_SECONDS..=MAX_AGE_SECONDS).contains(&age) {
        return Err(ProofError("the DPoP proof is too old or from the future"));
    }
    if let Some(expected) = ath {
        if claims.get("ath").and_then(Value::as_str) != Some(expected) {
            return Err(ProofError(
                "the DPoP proof's ath does not match the access token",
            ));
        }
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(ProofError("the DPoP proof has no usable jti"))?;
    Ok(DpopProof {
        jkt,
        jti: jti.to_string(),
        iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_of_rfc_7638_example() {
        // RFC 7638 §3.1's RSA key and thumbprint.
        let jwk: Map<String, Value> = serde_json::from_str(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert!(is_thumbprint("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        assert!(!is_thumbprint(
            "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs"
        ));
    }
}
