//! The client's DPoP key (RFC 9449): an ES256 key pair whose proofs bind
//! the JWTs it obtains, and make a PAT bound to it useless without it.

use crate::oauth::dpop::{access_token_hash, thumbprint};
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, ES256};
use serde_json::{json, Map, Value};
use url::Url;

/// An ES256 key that signs DPoP proofs. Its `Debug` shows only the
/// thumbprint.
pub struct DpopKey {
    private: Jwk,
    public: Map<String, Value>,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A new random key.
    pub fn generate() -> Result<Self, String> {
        let pair = EcKeyPair::generate(EcCurve::P256).map_err(|e| e.to_string())?;
        Self::from_private(pair.to_jwk_key_pair())
    }

    /// The key in a private JWK (EC P-256), as [`Self::to_private_jwk`] writes it.
    pub fn from_jwk(text: &str) -> Result<Self, String> {
        let jwk = Jwk::from_bytes(text.trim().as_bytes()).map_err(|_| "not a JWK".to_string())?;
        if jwk.parameter("d").is_none()
            || jwk.parameter("crv").and_then(Value::as_str) != Some("P-256")
        {
            return Err("not a private EC P-256 JWK".into());
        }
        Self::from_private(jwk)
    }

    fn from_private(private: Jwk) -> Result<Self, String> {
        let all = match serde_json::to_value(&private) {
            Ok(Value::Object(m)) => m,
            _ => return Err("not a JWK".into()),
        };
        let public: Map<String, Value> = all
            .into_iter()
            .filter(|(k, _)| ["kty", "crv", "x", "y"].contains(&k.as_str()))
            .collect();
        let thumbprint = thumbprint(&public).ok_or("not an EC key")?;
        Ok(DpopKey {
            private,
            public,
            thumbprint,
        })
    }

    /// The private JWK, to store (keep it secret: it proves the key).
    pub fn to_private_jwk(&self) -> String {
        self.private.to_string()
    }

    /// The RFC 7638 thumbprint (what a bound token records, `cnf.jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A fresh proof for `method url`, with `ath` when it accompanies
    /// `access_token` at a resource (RFC 9449 §4.2).
    pub fn proof(
        &self,
        method: &str,
        url: &Url,
        access_token: Option<&str>,
    ) -> Result<String, String> {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header
            .set_claim("jwk", Some(Value::Object(self.public.clone())))
            .map_err(|e| e.to_string())?;
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| e.to_string())?;
        let mut claims = json!({
            "htm": method,
            "htu": htu.as_str(),
            "iat": chrono::Utc::now().timestamp(),
            "jti": uuid::Builder::from_random_bytes(jti).into_uuid().to_string(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(access_token_hash(token));
        }
        let signer = ES256
            .signer_from_jwk(&self.private)
            .map_err(|e| e.to_string())?;
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_pass_the_servers_checks() {
        let key = DpopKey::generate().unwrap();
        let again = DpopKey::from_jwk(&key.to_private_jwk()).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
        assert!(
            format!("{key:?}").contains(key.thumbprint()) && !format!("{key:?}").contains("\"d\"")
        );
        let url = Url::parse("https://patgate.example/api/auth/v1/token?x=1").unwrap();
        let proof = key.proof("POST", &url, None).unwrap();
        let checked = crate::oauth::dpop::check(&proof, "POST", &url, chrono::Utc::now()).unwrap();
        assert_eq!(checked.jkt, key.thumbprint());
        assert!(DpopKey::from_jwk("{\"kty\":\"EC\"}").is_err());
    }
}
