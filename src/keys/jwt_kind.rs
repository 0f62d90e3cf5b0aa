//! The kinds of JWT patgate signs, told apart by construction (RFC 8725
//! §3.11–3.12): the JWS header `typ` and the claims each kind must and must
//! not carry. Every place that accepts a patgate-signed JWT classifies it
//! here first (the API doors in `credential`, introspection).

use super::JwtType;
use josekit::jws::JwsHeader;
use josekit::jwt::JwtPayload;

/// A JWT patgate signed, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtKind {
    /// patgate's access token for its own audience (RFC 9068), unbound.
    Access,
    /// patgate's access token bound to a key (`cnf.jkt`, RFC 9449 §6.1).
    BoundAccess,
    /// patgate's access token for a resource server's audience (RFC 8707).
    Resource,
    /// The `@access-tokens`-compatible JWT (`POST {auth}/token`).
    Compat,
}

/// What a JWT signed by one of patgate's keys is, from its header and
/// claims alone; `None`: none of patgate's kinds.
pub fn classify(header: &JwsHeader, payload: &JwtPayload, audience: &str) -> Option<JwtKind> {
    let has = |name: &str| payload.claim(name).is_some();
    match header.token_type()? {
        t if t == JwtType::AccessToken.as_str() => {
            if !has("token_id") {
                return None;
            }
            let ours = payload
                .audience()
                .is_some_and(|aud| aud.contains(&audience));
            Some(match (ours, has("cnf")) {
                (true, false) => JwtKind::Access,
                (true, true) => JwtKind::BoundAccess,
                (false, _) => JwtKind::Resource,
            })
        }
        t if t == JwtType::Jwt.as_str() => {
            let compat = payload.claim("owner").is_some_and(|o| o.is_string())
                && payload.claim("admin").is_some_and(|a| a.is_boolean())
                && !["aud", "scope", "token_id", "cnf", "client_id"]
                    .iter()
                    .any(|c| has(c));
            compat.then_some(JwtKind::Compat)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(typ: &str, claims: serde_json::Value) -> Option<JwtKind> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        let map = claims.as_object().unwrap().clone();
        let payload = JwtPayload::from_map(map).unwrap();
        classify(&header, &payload, "patgate")
    }

    #[test]
    fn each_kind_is_told_apart_by_typ_and_claims() {
        let at = |extra: serde_json::Value| {
            let mut c = json!({"sub": "alice", "token_id": "x", "aud": "patgate"});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            c
        };
        assert_eq!(kind("at+jwt", at(json!({}))), Some(JwtKind::Access));
        let bound = at(json!({"cnf": {"jkt": "k"}}));
        assert_eq!(kind("at+jwt", bound), Some(JwtKind::BoundAccess));
        let resource = at(json!({"aud": "https://billing"}));
        assert_eq!(kind("at+jwt", resource), Some(JwtKind::Resource));
        let compat = json!({"sub": "x", "owner": "o", "admin": true, "roles": []});
        assert_eq!(kind("JWT", compat), Some(JwtKind::Compat));
        // An access token's claims under the other typ, and the reverse.
        assert_eq!(kind("JWT", at(json!({"owner": "o", "admin": true}))), None);
        let no_token = json!({"sub": "x", "owner": "o", "admin": true, "aud": "patgate"});
        assert_eq!(kind("at+jwt", no_token), None);
        // An ID token (RFC 9068 §2.1 says an access token is never one).
        assert_eq!(
            kind("JWT", json!({"sub": "alice", "aud": "c", "nonce": "n"})),
            None
        );
        assert_eq!(kind("dpop+jwt", json!({"jti": "j"})), None);
    }
}
