//! A small OpenID Connect provider for the SSO tests: discovery, JWKS,
//! an authorization endpoint that approves at once, a token endpoint that
//! checks PKCE and the client secret and issues RS256-signed ID tokens, and
//! userinfo. The test decides who signs in next and how the ID token is
//! spoiled, and can rotate the signing key.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The client patgate is at this provider.
pub const CLIENT_ID: &str = "patgate";
/// Its secret.
pub const CLIENT_SECRET: &str = "provider-client-secret";

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spoil {
    /// A valid token.
    #[default]
    Nothing,
    /// Signed with a key the provider does not publish (same kid).
    Signature,
    /// For another client.
    Audience,
    /// Expired ten minutes ago.
    Expired,
    /// Another nonce.
    Nonce,
}

struct Pending {
    nonce: String,
    challenge: String,
}

struct State {
    issuer: String,
    keys: Vec<(String, RsaKeyPair)>,
    codes: HashMap<String, Pending>,
    next_claims: Map<String, Value>,
    spoil: Spoil,
}

/// A running provider.
pub struct TestProvider {
    /// Its issuer URL (`http://127.0.0.1:port`).
    pub issuer: url::Url,
    state: Arc<Mutex<State>>,
}

fn key(n: usize) -> (String, RsaKeyPair) {
    (format!("key-{n}"), RS256.generate_key_pair(2048).unwrap())
}

impl TestProvider {
    /// Starts a provider on a loopback port.
    pub fn start() -> TestProvider {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            issuer: issuer.clone(),
            keys: vec![key(1)],
            codes: HashMap::new(),
            next_claims: Map::new(),
            spoil: Spoil::Nothing,
        }));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .listen(listener)
        .unwrap()
        .workers(1)
        .run();
        actix_web::rt::spawn(server);
        TestProvider {
            issuer: url::Url::parse(&issuer).unwrap(),
            state,
        }
    }

    /// The next person to sign in: `sub` plus other claims.
    pub fn next_person(&self, sub: &str, extra: Value) {
        let mut claims = extra.as_object().cloned().unwrap_or_default();
        claims.insert("sub".into(), json!(sub));
        self.state.lock().unwrap().next_claims = claims;
    }

    /// Spoils the next ID tokens.
    pub fn spoil(&self, how: Spoil) {
        self.state.lock().unwrap().spoil = how;
    }

    /// Signs with a new key from now on (both stay published).
    pub fn rotate_key(&self) -> String {
        let mut s = self.state.lock().unwrap();
        let n = s.keys.len() + 1;
        s.keys.push(key(n));
        s.keys.last().unwrap().0.clone()
    }

    /// The `[[sso.providers]]` entry for patgate's configuration.
    pub fn config(&self, id: &str) -> toml::Table {
        toml::from_str(&format!(
            "id = \"{id}\"\nname = \"Test IdP\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"",
            self.issuer.as_str().trim_end_matches('/')
        ))
        .unwrap()
    }
}

async fn discovery(state: web::Data<Mutex<State>>) -> HttpResponse {
    let issuer = state.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(state: web::Data<Mutex<State>>) -> HttpResponse {
    let s = state.lock().unwrap();
    let keys: Vec<Value> = s
        .keys
        .iter()
        .map(|(kid, pair)| {
            let mut jwk = pair.to_jwk_public_key();
            jwk.set_key_id(kid);
            jwk.set_algorithm("RS256");
            Value::Object(jwk.as_ref().clone())
        })
        .collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

async fn authorize(req: HttpRequest, state: web::Data<Mutex<State>>) -> HttpResponse {
    let q: HashMap<String, String> = web::Query::from_query(req.query_string())
        .map(|q: web::Query<HashMap<String, String>>| q.into_inner())
        .unwrap_or_default();
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let code = uuid::Uuid::new_v4().simple().to_string();
    state.lock().unwrap().codes.insert(
        code.clone(),
        Pending {
            nonce: q["nonce"].clone(),
            challenge: q["code_challenge"].clone(),
        },
    );
    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q["state"]);
    HttpResponse::Found()
        .insert_header(("location", back.as_str()))
        .finish()
}

async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<Mutex<State>>) -> HttpResponse {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let mut s = state.lock().unwrap();
    let Some(pending) = s
        .codes
        .remove(form.get("code").map(String::as_str).unwrap_or_default())
    else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != pending.challenge {
        return HttpResponse::BadRequest()
            .json(json!({"error": "invalid_grant", "error_description": "PKCE"}));
    }
    let now = chrono::Utc::now().timestamp();
    let mut payload = JwtPayload::new();
    for (k, v) in &s.next_claims {
        payload.set_claim(k, Some(v.clone())).unwrap();
    }
    let spoil = s.spoil;
    let aud = if spoil == Spoil::Audience {
        "someone-else"
    } else {
        CLIENT_ID
    };
    let exp = if spoil == Spoil::Expired {
        now - 600
    } else {
        now + 300
    };
    let nonce = if spoil == Spoil::Nonce {
        "another-nonce".to_string()
    } else {
        pending.nonce
    };
    for (k, v) in [
        ("iss", json!(s.issuer)),
        ("aud", json!(aud)),
        ("exp", json!(exp)),
        ("iat", json!(now)),
        ("nonce", json!(nonce)),
    ] {
        payload.set_claim(k, Some(v)).unwrap();
    }
    let (kid, pair) = s.keys.last().unwrap();
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    let stranger;
    let signing_pair = if spoil == Spoil::Signature {
        stranger = RS256.generate_key_pair(2048).unwrap();
        &stranger
    } else {
        pair
    };
    let signer = RS256
        .signer_from_der(signing_pair.to_der_private_key())
        .unwrap();
    let id_token = josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": uuid::Uuid::new_v4().to_string(),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
}
