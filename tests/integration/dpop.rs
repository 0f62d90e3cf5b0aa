//! DPoP (RFC 9449): a proof makes the JWT key-bound (`cnf.jkt`,
//! `token_type` DPoP); a PAT bound to a key exchanges only with a fresh,
//! unreplayed proof by that key for this endpoint; bad proofs are
//! `invalid_dpop_proof`. An independent client (npm `dpop`) and verifier
//! (npm `jose`) agree.

use crate::both_backends;
use crate::support::{assert_oauth_error, TestApp, TestDb, TOKEN_API_SCOPES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jws::{JwsHeader, ES256};
use patgate::tokens::format::TokenKind;
use patgate::tokens::{IssueRequest, RequestedLifetime};
use serde_json::{json, Value};
use sha2::Digest;

both_backends!(
    a_proof_binds_the_jwt_to_the_key,
    a_bound_pat_needs_a_good_proof_by_its_key,
    tokens_are_bound_through_the_api,
);

/// A client's DPoP key.
pub(crate) struct Key(EcKeyPair);

impl Key {
    pub(crate) fn new() -> Key {
        Key(ES256.generate_key_pair().unwrap())
    }

    fn public(&self) -> Value {
        serde_json::to_value(self.0.to_jwk_public_key()).unwrap()
    }

    /// RFC 7638, computed here independently of patgate.
    pub(crate) fn thumbprint(&self) -> String {
        let p = self.public();
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            p["crv"].as_str().unwrap(),
            p["x"].as_str().unwrap(),
            p["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical))
    }

    fn proof_with(&self, typ: &str, jwk: Value, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_claim("jwk", Some(jwk)).unwrap();
        let signer = ES256.signer_from_jwk(&self.0.to_jwk_private_key()).unwrap();
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap()
    }

    /// A proof for a resource request made with `jwt` (`ath`, RFC 9449 §4.2).
    pub(crate) fn resource_proof(&self, app: &TestApp, htm: &str, htu: &str, jwt: &str) -> String {
        let ath = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(jwt.as_bytes()));
        let iat = app.svc.now().timestamp();
        let claims = json!({"htm": htm, "htu": htu, "iat": iat, "jti": random_jti(), "ath": ath});
        self.proof_with("dpop+jwt", self.public(), claims)
    }

    pub(crate) fn proof(
        &self,
        app: &TestApp,
        htm: &str,
        htu: &str,
        iat_offset: i64,
        jti: &str,
    ) -> String {
        let iat = app.svc.now().timestamp() + iat_offset;
        self.proof_with(
            "dpop+jwt",
            self.public(),
            json!({"htm": htm, "htu": htu, "iat": iat, "jti": jti}),
        )
    }
}

pub(crate) fn token_url(app: &TestApp) -> String {
    app.url("/api/auth/v1/token").to_string()
}

pub(crate) fn random_jti() -> String {
    patgate::clock::random_alphanumeric(&patgate::clock::OsRandom, 16)
}

async fn exchange_with(app: &TestApp, pat: &str, proof: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", pat)]);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

use crate::support::jwt_claims as claims_of;

async fn a_proof_binds_the_jwt_to_the_key(db: TestDb) {
    let app = TestApp::start(&db).await;
    let metadata: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
    let pat = app
        .issue("alice", "ci", &["read"], RequestedLifetime::Default)
        .await;
    let key = Key::new();
    let proof = key.proof(&app, "POST", &token_url(&app), 0, &random_jti());
    let res = exchange_with(&app, &pat, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(
        claims["cnf"]["jkt"],
        key.thumbprint(),
        "cnf.jkt is the RFC 7638 thumbprint"
    );
    let plain: Value = exchange_with(&app, &pat, None).await.json().await.unwrap();
    assert_eq!(
        plain["token_type"], "Bearer",
        "an unbound PAT may still exchange without a proof"
    );
    assert!(claims_of(plain["access_token"].as_str().unwrap())
        .get("cnf")
        .is_none());

    independent_client(&app, &pat).await;
}

async fn a_bound_pat_needs_a_good_proof_by_its_key(db: TestDb) {
    // Each refusal here comes before the secret is ever verified, so each
    // is a cold exchange; the default budget per token would answer 429.
    let app = TestApp::start_with(&db, |t| {
        let limits: toml::Table = toml::from_str("cold_exchanges_per_token = 1000").unwrap();
        t.insert("limits".into(), limits.into());
    })
    .await;
    let key = Key::new();
    let pat = app
        .issue_request(IssueRequest {
            dpop_jkt: Some(key.thumbprint()),
            ..IssueRequest::new(TokenKind::Service, "ci", "deploy", vec!["read".into()])
        })
        .await;
    let url = token_url(&app);
    let grant = |res| assert_oauth_error(res, 400, "invalid_grant");
    let bad_proof = |res| assert_oauth_error(res, 400, "invalid_dpop_proof");

    grant(exchange_with(&app, &pat, None).await).await;
    let other = Key::new().proof(&app, "POST", &url, 0, &random_jti());
    grant(exchange_with(&app, &pat, Some(&other)).await).await;
    let wrong_htu = key.proof(
        &app,
        "POST",
        "https://elsewhere.example/api/auth/v1/token",
        0,
        &random_jti(),
    );
    bad_proof(exchange_with(&app, &pat, Some(&wrong_htu)).await).await;
    let wrong_htm = key.proof(&app, "GET", &url, 0, &random_jti());
    bad_proof(exchange_with(&app, &pat, Some(&wrong_htm)).await).await;
    let stale = key.proof(&app, "POST", &url, -120, &random_jti());
    bad_proof(exchange_with(&app, &pat, Some(&stale)).await).await;
    let future = key.proof(&app, "POST", &url, 120, &random_jti());
    bad_proof(exchange_with(&app, &pat, Some(&future)).await).await;
    let claims =
        json!({"htm": "POST", "htu": url, "iat": app.svc.now().timestamp(), "jti": random_jti()});
    let wrong_typ = key.proof_with("JWT", key.public(), claims.clone());
    bad_proof(exchange_with(&app, &pat, Some(&wrong_typ)).await).await;
    let private = serde_json::to_value(key.0.to_jwk_private_key()).unwrap();
    let with_private = key.proof_with("dpop+jwt", private, claims.clone());
    bad_proof(exchange_with(&app, &pat, Some(&with_private)).await).await;
    let mut forged = key.proof_with("dpop+jwt", key.public(), claims);
    forged.push('A');
    bad_proof(exchange_with(&app, &pat, Some(&forged)).await).await;

    let with_query = format!("{url}?x=1");
    let good = key.proof(&app, "POST", &with_query, 0, "one-use");
    let res = exchange_with(&app, &pat, Some(&good)).await;
    assert_eq!(
        res.status(),
        200,
        "query and fragment are ignored (RFC 9449 §4.3)"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.thumbprint()
    );
    bad_proof(exchange_with(&app, &pat, Some(&good)).await).await; // replayed jti
    let again = key.proof(&app, "POST", &url, 0, &random_jti());
    assert_eq!(exchange_with(&app, &pat, Some(&again)).await.status(), 200);
    let compat = app
        .http
        .post(app.url("/auth/token"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(
        compat.status(),
        401,
        "the compatible exchange cannot carry a proof"
    );
}

async fn tokens_are_bound_through_the_api(db: TestDb) {
    let app = TestApp::start(&db).await;
    let manager = app
        .issue(
            "alice",
            "cli",
            &TOKEN_API_SCOPES,
            RequestedLifetime::Default,
        )
        .await;
    let jwt = app.jwt_for(&manager).await;
    let key = Key::new();
    let create = |body: Value| {
        app.http
            .post(app.url("/api/access-tokens/personal"))
            .bearer_auth(&jwt)
            .json(&body)
            .send()
    };
    let res = create(json!({"name": "bad", "dpopJkt": "not-a-thumbprint"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = create(
        json!({"name": "bound", "scopes": ["patgate:tokens:read"], "dpopJkt": key.thumbprint()}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["token"]["dpopJkt"], key.thumbprint());
    let pat = created["rawToken"].as_str().unwrap();
    assert_eq!(exchange_with(&app, pat, None).await.status(), 400);
    let proof = key.proof(&app, "POST", &token_url(&app), 0, &random_jti());
    assert_eq!(exchange_with(&app, pat, Some(&proof)).await.status(), 200);

    // patgate's own API, as a resource server, wants the key too (§7.1).
    let bound_manager = app
        .issue_request(IssueRequest {
            dpop_jkt: Some(key.thumbprint()),
            ..IssueRequest::new(
                TokenKind::Personal,
                "alice",
                "bound cli",
                TOKEN_API_SCOPES.iter().map(|s| s.to_string()).collect(),
            )
        })
        .await;
    let proof = key.proof(&app, "POST", &token_url(&app), 0, &random_jti());
    let body: Value = exchange_with(&app, &bound_manager, Some(&proof))
        .await
        .json()
        .await
        .unwrap();
    let bound_jwt = body["access_token"].as_str().unwrap().to_string();
    let list = app.url("/api/access-tokens/personal");
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut req = app
            .http
            .get(list.clone())
            .header("authorization", format!("{scheme} {bound_jwt}"));
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        req.send()
    };
    assert_eq!(
        call("Bearer", None).await.unwrap().status(),
        401,
        "a bound JWT is not a Bearer token"
    );
    assert_eq!(call("DPoP", None).await.unwrap().status(), 401, "no proof");
    let no_ath = key.proof(&app, "GET", list.as_str(), 0, &random_jti());
    assert_eq!(
        call("DPoP", Some(no_ath)).await.unwrap().status(),
        401,
        "a proof without ath"
    );
    let other_key = Key::new().resource_proof(&app, "GET", list.as_str(), &bound_jwt);
    assert_eq!(
        call("DPoP", Some(other_key)).await.unwrap().status(),
        401,
        "another key"
    );
    let good = key.resource_proof(&app, "GET", list.as_str(), &bound_jwt);
    assert_eq!(
        call("DPoP", Some(good.clone())).await.unwrap().status(),
        200
    );
    assert_eq!(
        call("DPoP", Some(good)).await.unwrap().status(),
        401,
        "replayed"
    );
    assert_eq!(
        app.http
            .get(list.clone())
            .header("authorization", format!("DPoP {jwt}"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "an unbound JWT is a Bearer token"
    );
}

/// npm's `dpop` makes the proof, npm's `jose` verifies the JWT (skipped
/// with a notice where Node or the packages are missing, except in CI).
async fn independent_client(app: &TestApp, pat: &str) {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) || !scripts.join("node_modules/dpop").exists() {
        crate::support::skipped("node or npm's dpop/jose are missing (npm ci --prefix tests/browser); the independent DPoP check");
        return;
    }
    let mut cmd = std::process::Command::new("node");
    cmd.current_dir(&scripts)
        .arg("dpop.mjs")
        .arg(app.svc.config.issuer_id())
        .arg(token_url(app))
        .arg(pat);
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["status"], 200, "{seen}");
    assert_eq!(seen["tokenType"], "DPoP", "{seen}");
    assert_eq!(seen["verified"], true, "{seen}");
    assert_eq!(seen["cnfJkt"], seen["thumbprint"], "{seen}");
    assert_eq!(
        seen["replay"],
        json!({"status": 400, "error": "invalid_dpop_proof"}),
        "{seen}"
    );
}
